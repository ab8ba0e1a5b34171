"""Data-subject requests over the HTTP API: intake, verification, answers, letters, roles."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.requests.views import get_code_sender
from mexfi.vault import Vault
from tests.api.conftest import bearer, make_key
from tests.requests.conftest import CapturingSender, register_rider

PHONE = "+994 50 222 33 44"
BASE = "/api/v1/requests"


@pytest.fixture
def sender(app: FastAPI) -> CapturingSender:
    """The SMS gateway the app sends codes through: kept in memory."""
    captured = CapturingSender()
    app.dependency_overrides[get_code_sender] = lambda: captured
    return captured


@pytest.fixture
def dpo(vault: Vault) -> dict[str, str]:
    return bearer(make_key(vault, "bakikart", "dpo", "bakikart-dpo"))


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def _access(client: TestClient, dpo: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {"policy_id": "bakikart", "kind": "access", "channel": "written", "phone": PHONE}
    response = client.post(BASE, json={**body, **extra}, headers=dpo)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_bk_3_2_access_answered_only_with_the_code(
    vault: Vault, client: TestClient, dpo: dict[str, str], sender: CapturingSender
) -> None:
    rider = register_rider(vault, PHONE)
    request = _access(client, dpo)
    assert request["state"] == "verifying"
    assert PHONE not in str(request) and "phone" not in request
    # Not verified: nothing of the subject leaves.
    refused = client.post(f"{BASE}/{request['id']}/answer", json={}, headers=dpo)
    _problem(refused, 409, "request_state_conflict")

    sent = client.post(f"{BASE}/{request['id']}/code", headers=dpo)
    assert sent.status_code == 200, sent.text
    assert sent.json()["codes_sent"] == 1 and sent.json()["attempts_left"] == 3
    [message] = sender.sent
    assert message.code not in sent.text
    verified = client.post(
        f"{BASE}/{request['id']}/verify", json={"code": message.code}, headers=dpo
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["state"] == "in_progress"

    answered = client.post(f"{BASE}/{request['id']}/answer", json={}, headers=dpo)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["request"]["state"] == "answered"
    assert body["answer"]["records"], body["answer"].keys()
    assert answered.headers["cache-control"] == "no-store"

    status = client.get(f"{BASE}/{request['id']}", headers=dpo).json()
    assert status["request"]["state"] == "answered"
    assert status["verification"]["verified"] and status["verification"]["method"] == "code"
    assert "Leyla" not in str(status) and rider not in str(status)

    letter = client.post(
        f"{BASE}/{request['id']}/letter?lang=az&format=html",
        json={"answer": body["answer"]},
        headers=dpo,
    )
    assert letter.status_code == 200, letter.text
    assert letter.headers["content-type"].startswith("text/html") and request["id"] in letter.text
    pdf = client.post(
        f"{BASE}/{request['id']}/letter?lang=en&format=pdf",
        json={"answer": body["answer"]},
        headers=dpo,
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_three_wrong_codes_lock_the_request(
    vault: Vault, client: TestClient, dpo: dict[str, str], sender: CapturingSender
) -> None:
    register_rider(vault, PHONE)
    request = _access(client, dpo)
    client.post(f"{BASE}/{request['id']}/code", headers=dpo)
    wrong = "000000" if sender.sent[-1].code != "000000" else "111111"
    for left in (2, 1, 0):
        failed = client.post(f"{BASE}/{request['id']}/verify", json={"code": wrong}, headers=dpo)
        body = _problem(failed, 403, "verification_failed")
        assert str(left) in body["detail"] or left == 0
    status = client.get(f"{BASE}/{request['id']}", headers=dpo).json()
    assert status["request"]["state"] == "locked"
    assert status["verification"]["attempts_left"] == 0
    # Locked: even the right code is not checked any more.
    right = client.post(
        f"{BASE}/{request['id']}/verify", json={"code": sender.sent[-1].code}, headers=dpo
    )
    _problem(right, 409, "request_state_conflict")


def test_a_check_stores_nothing(vault: Vault, client: TestClient, dpo: dict[str, str]) -> None:
    register_rider(vault, PHONE)
    body = {"policy_id": "bakikart", "kind": "access", "channel": "written", "phone": PHONE}
    checked = client.post(f"{BASE}/check", json=body, headers=dpo)
    assert checked.status_code == 200, checked.text
    assert checked.json()["passes"] and checked.json()["due_date"]
    assert client.get(BASE, headers=dpo).json()["items"] == []


def test_amend_withdraw_and_list_by_cursor(
    vault: Vault, client: TestClient, dpo: dict[str, str]
) -> None:
    register_rider(vault, PHONE)
    first = _access(client, dpo)
    second = _access(client, dpo, language="en")
    amended = client.post(f"{BASE}/{first['id']}/amend", json={"language": "ru"}, headers=dpo)
    assert amended.status_code == 200 and amended.json()["language"] == "ru", amended.text
    withdrawn = client.post(
        f"{BASE}/{second['id']}/withdraw", json={"reason": "duplicate"}, headers=dpo
    )
    assert withdrawn.json()["state"] == "withdrawn"
    page = client.get(f"{BASE}?limit=1", headers=dpo).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"{BASE}?limit=1&cursor={page['next_cursor']}", headers=dpo).json()
    # Same due instant: by id.
    assert [r["id"] for r in page["items"] + rest["items"]] == sorted([first["id"], second["id"]])
    assert rest["next_cursor"] is None
    only = client.get(f"{BASE}?state=withdrawn", headers=dpo).json()["items"]
    assert [r["id"] for r in only] == [second["id"]]
    assert client.get(f"{BASE}?overdue=true", headers=dpo).json()["items"] == []
    bad = client.get(f"{BASE}?cursor=nonsense", headers=dpo)
    _problem(bad, 422, "invalid")


def test_roles_and_scope_are_enforced(
    vault: Vault, client: TestClient, dpo: dict[str, str]
) -> None:
    register_rider(vault, PHONE)
    request = _access(client, dpo)
    for role in ("support", "service", "auditor"):
        other = bearer(make_key(vault, "bakikart", role, f"bk-{role}"))
        _problem(client.get(f"{BASE}/{request['id']}", headers=other), 403, "role_not_allowed")
        body = {"policy_id": "bakikart", "kind": "access", "channel": "written", "phone": PHONE}
        _problem(client.post(BASE, json=body, headers=other), 403, "role_not_allowed")
    taxsee_dpo = bearer(make_key(vault, "taxsee_driver", "dpo", "tx-dpo"))
    _problem(client.get(f"{BASE}/{request['id']}", headers=taxsee_dpo), 403, "out_of_scope")
    _problem(client.get(f"{BASE}/{request['id']}"), 401, "unauthenticated")
    _problem(client.get(f"{BASE}/nope", headers=dpo), 404, "request_not_found")
