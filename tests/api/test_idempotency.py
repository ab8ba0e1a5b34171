"""Writes are safe to retry: the same `Idempotency-Key` from the same caller gets the first
answer back and writes nothing twice; the key with another body is a 409; a failed write
keeps no answer; answers expire after 24 hours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mexfi.apikeys import IdempotentAnswer
from mexfi.audit import AuditEntry
from mexfi.clock import FixedClock
from mexfi.vault import Vault
from mexfi.vault.models import Subject
from tests.api.conftest import bearer, make_key

PHONE = "+994 50 444 55 66"
OTHER_PHONE = "+994 70 111 22 33"


def _body(phone: str = PHONE) -> dict[str, Any]:
    return {
        "policy_id": "bakikart",
        "kind": "rider",
        "lookup_phone": phone,
        "records": {"phone": {"phone": phone}},
    }


BODY = _body()


def _count(vault: Vault, model: Any) -> int:
    with vault.unit_of_work() as uow:
        return int(uow.records.scalar(select(func.count()).select_from(model)) or 0)


def _headers(key: str, idempotency_key: str, purpose: str = "service_provision") -> dict[str, str]:
    return {**bearer(key, purpose), "Idempotency-Key": idempotency_key}


def test_a_retried_register_creates_one_subject_and_one_audit_entry(
    vault: Vault, client: TestClient, bakikart_key: str
) -> None:
    entries = _count(vault, AuditEntry)
    first = client.post("/api/v1/subjects", json=BODY, headers=_headers(bakikart_key, "reg-1"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = _count(vault, AuditEntry)
    assert after_first > entries
    for _ in range(2):
        again = client.post("/api/v1/subjects", json=BODY, headers=_headers(bakikart_key, "reg-1"))
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["cache-control"] == "no-store"
    assert _count(vault, Subject) == 1
    assert _count(vault, AuditEntry) == after_first
    # Without a key (or with a new one) a write is a new write.
    other = client.post(
        "/api/v1/subjects", json=_body(OTHER_PHONE), headers=_headers(bakikart_key, "reg-2")
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert _count(vault, Subject) == 2


def test_the_same_key_with_another_body_is_a_conflict(
    vault: Vault, client: TestClient, bakikart_key: str
) -> None:
    headers = _headers(bakikart_key, "reg-1")
    assert client.post("/api/v1/subjects", json=BODY, headers=headers).status_code == 201
    changed = _body(OTHER_PHONE)
    reused = client.post("/api/v1/subjects", json=changed, headers=headers)
    assert reused.status_code == 409, reused.text
    assert reused.json()["code"] == "idempotency_key_reused"
    assert "111 22 33" not in reused.text and "1112233" not in reused.text
    assert _count(vault, Subject) == 1


def test_keys_are_per_caller(vault: Vault, client: TestClient, bakikart_key: str) -> None:
    other_key = make_key(vault, "bakikart", "service", "bakikart-backend-2")
    one = client.post("/api/v1/subjects", json=BODY, headers=_headers(bakikart_key, "k"))
    two = client.post("/api/v1/subjects", json=_body(OTHER_PHONE), headers=_headers(other_key, "k"))
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"] and _count(vault, Subject) == 2


def test_a_failed_write_keeps_no_answer_and_its_retry_runs_again(
    vault: Vault, client: TestClient, bakikart_key: str
) -> None:
    refused = client.post(
        "/api/v1/subjects", json=BODY, headers=_headers(bakikart_key, "k", "no_such_purpose")
    )
    assert refused.status_code == 403
    assert _count(vault, IdempotentAnswer) == 0 and _count(vault, Subject) == 0
    again = client.post(
        "/api/v1/subjects", json=BODY, headers=_headers(bakikart_key, "k", "no_such_purpose")
    )
    assert again.status_code == 403 and "idempotent-replayed" not in again.headers


def test_an_answer_is_kept_24_hours(
    vault: Vault, client: TestClient, bakikart_key: str, clock: FixedClock
) -> None:
    headers = _headers(bakikart_key, "k")
    first = client.post("/api/v1/subjects", json=BODY, headers=headers).json()
    clock.advance(hours=23, minutes=59)
    assert client.post("/api/v1/subjects", json=BODY, headers=headers).json() == first
    clock.advance(timedelta(minutes=2))
    # Expired: the key is free again, so the same request is a new write (here refused: the
    # phone is registered now), not the old answer.
    later = client.post("/api/v1/subjects", json=BODY, headers=headers)
    assert later.status_code == 409 and "idempotent-replayed" not in later.headers
    renewed = client.post("/api/v1/subjects", json=_body(OTHER_PHONE), headers=headers)
    assert renewed.status_code == 201 and renewed.json()["id"] != first["id"]
    assert _count(vault, IdempotentAnswer) == 1  # the expired one was dropped


def test_a_revoked_key_gets_no_old_answer(
    vault: Vault, client: TestClient, bakikart_key: str
) -> None:
    from mexfi.apikeys import list_api_keys, revoke_api_key
    from tests.api.conftest import DPO

    headers = _headers(bakikart_key, "k")
    assert client.post("/api/v1/subjects", json=BODY, headers=headers).status_code == 201
    with vault.unit_of_work() as uow:
        [key] = list_api_keys(uow, policy_id="bakikart")
        revoke_api_key(vault, uow, key.id, actor=DPO)
    assert client.post("/api/v1/subjects", json=BODY, headers=headers).status_code == 401


def test_a_bad_key_is_refused_and_reads_keep_no_answer(
    vault: Vault, client: TestClient, bakikart_key: str
) -> None:
    bad = client.post("/api/v1/subjects", json=BODY, headers=_headers(bakikart_key, "a b"))
    assert bad.status_code == 422 and bad.json()["code"] == "idempotency_key_invalid"
    rider = client.post(
        "/api/v1/subjects", json=BODY, headers=bearer(bakikart_key, "service_provision")
    )
    read = client.post(
        f"/api/v1/subjects/{rider.json()['id']}/read",
        json={"categories": ["phone"]},
        headers=_headers(bakikart_key, "read-1"),
    )
    assert read.status_code == 200
    # A read's answer holds personal data: none is kept, whatever the header says.
    assert _count(vault, IdempotentAnswer) == 0
    spec = client.get("/openapi.json").json()["paths"]
    assert spec["/api/v1/subjects"]["post"]["x-mexfi-idempotent"] is True
    assert spec["/api/v1/subjects/{subject_id}/read"]["post"]["x-mexfi-idempotent"] is False
