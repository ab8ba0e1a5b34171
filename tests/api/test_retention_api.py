"""Legal holds, retention status and certificates over the HTTP API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.requests.views import get_code_sender
from mexfi.vault import Vault
from tests.api.conftest import bearer, make_key
from tests.requests.conftest import COMPLETE, CapturingSender, register_driver, register_rider

PHONE = "+994 50 222 33 44"


@pytest.fixture
def sender(app: FastAPI) -> CapturingSender:
    captured = CapturingSender()
    app.dependency_overrides[get_code_sender] = lambda: captured
    return captured


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_destruction_during_a_hold_waits_and_the_lift_carries_it_out(
    vault: Vault, client: TestClient, sender: CapturingSender
) -> None:
    dpo = bearer(make_key(vault, "taxsee_driver", "dpo", "tx-dpo"))
    rider = register_driver(vault)
    hold = _ok(
        client.post(
            "/api/v1/retention/holds",
            json={
                "policy_id": "taxsee_driver",
                "subject_id": rider,
                "reason": "court-case-2026-17",
            },
            headers=dpo,
        ),
        201,
    )
    listed = _ok(client.get("/api/v1/retention/holds", headers=dpo))
    assert [h["id"] for h in listed["items"]] == [hold["id"]] and listed["next_cursor"] is None
    body = {
        "policy_id": "taxsee_driver",
        "kind": "destruction",
        "channel": "written",
        "subject_id": rider,
        "written": asdict(COMPLETE),
    }
    request = _ok(client.post("/api/v1/requests", json=body, headers=dpo), 201)
    rid = request["id"]
    _ok(client.post(f"/api/v1/requests/{rid}/code", headers=dpo))
    code = sender.code_for(rid)
    _ok(client.post(f"/api/v1/requests/{rid}/verify", json={"code": code}, headers=dpo))
    preview = _ok(client.get(f"/api/v1/requests/{rid}/destruction-preview", headers=dpo))
    assert preview["records_held"] > 0 and preview["records_destroyed"] == 0
    unconfirmed = client.post(f"/api/v1/requests/{rid}/answer", json={}, headers=dpo)
    assert unconfirmed.status_code == 422 and unconfirmed.json()["code"] == "invalid_request"
    held = _ok(client.post(f"/api/v1/requests/{rid}/answer", json={"confirm": True}, headers=dpo))
    assert held["request"]["state"] == "on_hold"
    assert set(held["request"]["holds"].values()) == {hold["id"]}

    lifted = _ok(client.post(f"/api/v1/retention/holds/{hold['id']}/lift", headers=dpo))
    assert lifted["hold"]["lifted_at"] is not None
    [released] = lifted["released"]
    assert released["request_id"] == rid and released["state"] == "answered"
    assert released["records_destroyed"] > 0
    status = _ok(client.get(f"/api/v1/requests/{rid}", headers=dpo))
    assert status["request"]["state"] == "answered"
    certificates = _ok(client.get(f"/api/v1/retention/certificates/{rider}", headers=dpo))["items"]
    assert "complete" in {c["status"] for c in certificates} and certificates[-1]["key_ids"]
    assert _ok(client.get("/api/v1/retention/holds", headers=dpo))["items"] == []
    state = _ok(client.get("/api/v1/retention/status", headers=dpo))
    assert state["quarantine"]["total"] == 0


def test_only_the_dpo_of_the_policy_manages_holds(vault: Vault, client: TestClient) -> None:
    rider = register_rider(vault, PHONE)
    body = {"policy_id": "bakikart", "subject_id": rider, "reason": "court-case-2026-17"}
    for role in ("auditor", "support", "service"):
        other = bearer(make_key(vault, "bakikart", role, f"bk-{role}"))
        for response in (
            client.post("/api/v1/retention/holds", json=body, headers=other),
            client.get("/api/v1/retention/holds", headers=other),
            client.get("/api/v1/retention/status", headers=other),
        ):
            assert response.status_code == 403, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
        # Certificates are ids and counts: the auditor reads them, staff and services do not.
        certificates = client.get(f"/api/v1/retention/certificates/{rider}", headers=other)
        assert certificates.status_code == (200 if role == "auditor" else 403), certificates.text
    taxsee_dpo = bearer(make_key(vault, "taxsee_driver", "dpo", "tx-dpo"))
    out = client.post("/api/v1/retention/holds", json=body, headers=taxsee_dpo)
    assert out.status_code == 403 and out.json()["code"] == "out_of_scope"
    certs = client.get(f"/api/v1/retention/certificates/{rider}", headers=taxsee_dpo)
    assert certs.status_code == 403 and certs.json()["code"] == "out_of_scope"
