"""A service key registers, finds and reads its policy's subjects for declared purposes only;
one unit of work per request."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mexfi.audit import AuditEntry
from mexfi.deps import ActorDep, UnitOfWorkDep, VaultDep
from mexfi.errors import Conflict
from mexfi.vault import Actor, Vault
from mexfi.vault.models import Subject
from tests.api.conftest import bearer

PHONE = "+994 50 444 55 66"
OTHER_PHONE = "+994 70 111 22 33"


def _register(client: TestClient, key: str, phone: str = PHONE) -> dict[str, str]:
    response = client.post(
        "/api/v1/subjects",
        json={
            "policy_id": "bakikart",
            "kind": "rider",
            "lookup_phone": phone,
            "records": {"phone": {"phone": phone}},
        },
        headers=bearer(key, "service_provision"),
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def _counts(vault: Vault) -> tuple[int, int]:
    with vault.unit_of_work() as uow:
        subjects = uow.records.scalar(select(func.count()).select_from(Subject)) or 0
        entries = uow.records.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return subjects, entries


def test_a_bakikart_key_registers_a_rider_and_reads_it_for_a_declared_purpose(
    client: TestClient, bakikart_key: str
) -> None:
    rider = _register(client, bakikart_key)
    assert rider["policy_id"] == "bakikart" and rider["status"] == "active"
    assert PHONE not in str(rider)
    response = client.post(
        f"/api/v1/subjects/{rider['id']}/read",
        json={"categories": ["phone"]},
        headers=bearer(bakikart_key, "service_provision"),
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["purpose"] == "service_provision"
    assert [r["values"]["phone"] for r in data["records"]] == ["+994504445566"]


def test_an_undeclared_purpose_is_refused(client: TestClient, bakikart_key: str) -> None:
    rider = _register(client, bakikart_key)
    response = client.post(
        f"/api/v1/subjects/{rider['id']}/read",
        json={"categories": ["phone"]},
        headers=bearer(bakikart_key, "subject_request"),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "purpose_denied"
    assert "4445566" not in response.text


def test_a_read_names_its_purpose(client: TestClient, bakikart_key: str) -> None:
    rider = _register(client, bakikart_key)
    response = client.post(
        f"/api/v1/subjects/{rider['id']}/read",
        json={"categories": ["phone"]},
        headers=bearer(bakikart_key),
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["header.X-Mexfi-Purpose"]


def test_a_bakikart_key_cannot_reach_a_taxsee_subject(
    client: TestClient, vault: Vault, bakikart_key: str
) -> None:
    with vault.unit_of_work() as uow:
        customer = vault.register(
            uow,
            policy_id="taxsee_driver",
            kind="customer",
            actor=Actor("svc-taxsee", "system"),
            purpose="service_operation",
            lookup_phone=OTHER_PHONE,
            records={"customer_contact": {"phone": OTHER_PHONE}},
        )
    for method, path, body in (
        ("POST", f"/api/v1/subjects/{customer.id}/read", {"categories": ["customer_contact"]}),
        ("GET", f"/api/v1/subjects/{customer.id}", None),
        ("POST", "/api/v1/subjects/find", {"policy_id": "taxsee_driver", "phone": OTHER_PHONE}),
    ):
        response = client.request(
            method, path, json=body, headers=bearer(bakikart_key, "service_provision")
        )
        assert response.status_code == 403, (path, response.text)
        assert response.json()["code"] == "out_of_scope"
        assert "1112233" not in response.text


def test_the_phone_lookup_is_a_post_with_the_phone_in_the_body(
    client: TestClient, bakikart_key: str
) -> None:
    rider = _register(client, bakikart_key)
    found = client.post(
        "/api/v1/subjects/find",
        json={"policy_id": "bakikart", "phone": "+994504445566"},
        headers=bearer(bakikart_key),
    )
    assert found.status_code == 200 and found.json()["id"] == rider["id"]
    missing = client.post(
        "/api/v1/subjects/find",
        json={"policy_id": "bakikart", "phone": "+994 50 999 88 77"},
        headers=bearer(bakikart_key),
    )
    assert missing.status_code == 404 and missing.json()["code"] == "subject_not_found"
    assert "999" not in missing.text
    # No route takes a phone in its path or query.
    paths = client.get("/openapi.json").json()["paths"]
    assert all("phone" not in path for path in paths)


def test_a_second_registration_of_a_phone_conflicts(client: TestClient, bakikart_key: str) -> None:
    _register(client, bakikart_key)
    response = client.post(
        "/api/v1/subjects",
        json={
            "policy_id": "bakikart",
            "kind": "rider",
            "lookup_phone": PHONE,
            "records": {"phone": {"phone": PHONE}},
        },
        headers=bearer(bakikart_key, "service_provision"),
    )
    assert response.status_code == 409 and "4445566" not in response.text


def test_write_status_and_an_unknown_subject(client: TestClient, bakikart_key: str) -> None:
    rider = _register(client, bakikart_key)
    written = client.post(
        f"/api/v1/subjects/{rider['id']}/records",
        json={"category": "device", "values": {"device_id": "dev-1"}},
        headers=bearer(bakikart_key, "service_provision"),
    )
    assert written.status_code in (201, 422), written.text
    got = client.get(f"/api/v1/subjects/{rider['id']}", headers=bearer(bakikart_key))
    assert got.status_code == 200 and got.json()["id"] == rider["id"]
    unknown = client.get("/api/v1/subjects/" + "0" * 32, headers=bearer(bakikart_key))
    assert unknown.status_code == 404 and unknown.json()["code"] == "subject_not_found"


def test_a_request_that_succeeds_commits_once(
    client: TestClient, vault: Vault, bakikart_key: str
) -> None:
    subjects, entries = _counts(vault)
    _register(client, bakikart_key)
    after = _counts(vault)
    assert after[0] == subjects + 1 and after[1] > entries


def test_a_failing_request_writes_nothing_not_even_its_audit_entry(
    app: FastAPI, client: TestClient, vault: Vault, bakikart_key: str
) -> None:
    @app.post("/register-then-fail")
    def _register_then_fail(vault: VaultDep, uow: UnitOfWorkDep, actor: ActorDep) -> None:
        vault.register(
            uow,
            policy_id="bakikart",
            kind="rider",
            actor=actor,
            purpose="service_provision",
            lookup_phone=PHONE,
            records={"phone": {"phone": PHONE}},
        )
        uow.flush()
        raise Conflict("refused after the write")

    before = _counts(vault)
    response = client.post("/register-then-fail", headers=bearer(bakikart_key))
    assert response.status_code == 409
    assert _counts(vault) == before
    # The phone is free: nothing of the failed request stayed.
    assert _register(client, bakikart_key)["policy_id"] == "bakikart"
