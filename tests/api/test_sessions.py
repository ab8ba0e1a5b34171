"""Data subjects sign in with a one-time code and reach their own data only: a 15-minute
session token, stored hashed, revocable; codes rate-limited, three wrong ones lock; audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from mexfi.apikeys import SessionChallenge, SubjectSession
from mexfi.apikeys.views import get_code_sender
from mexfi.audit import AuditEntry
from mexfi.clock import FixedClock
from mexfi.requests import add_request
from mexfi.vault import Vault
from tests.api.conftest import DPO, bearer, make_key
from tests.requests.conftest import CapturingSender, register_driver, register_rider

PHONE = "+994 50 222 33 44"
OTHER_PHONE = "+994 55 666 77 88"


@pytest.fixture
def sender(app: FastAPI) -> CapturingSender:
    captured = CapturingSender()
    app.dependency_overrides[get_code_sender] = lambda: captured
    return captured


def _start(client: TestClient, phone: str = PHONE, policy_id: str = "bakikart") -> Any:
    return client.post("/api/v1/sessions/start", json={"policy_id": policy_id, "phone": phone})


def _sign_in(client: TestClient, sender: CapturingSender, phone: str = PHONE) -> dict[str, Any]:
    started = _start(client, phone)
    assert started.status_code == 202, started.text
    challenge = started.json()["challenge_id"]
    code = sender.code_for(challenge)
    verified = client.post(
        "/api/v1/sessions/verify", json={"challenge_id": challenge, "code": code}
    )
    assert verified.status_code == 201, verified.text
    session: dict[str, Any] = verified.json()
    return session


def test_a_rider_signs_in_and_reads_own_data_for_the_riders_purposes(
    vault: Vault, client: TestClient, sender: CapturingSender
) -> None:
    rider = register_rider(vault, PHONE)
    session = _sign_in(client, sender)
    assert session["role"] == "rider" and session["token"].startswith("mexfisession_")
    [message] = sender.sent
    assert message.phone == PHONE and message.code not in message.request_id
    me = client.get("/api/v1/me", headers=bearer(session["token"]))
    assert me.status_code == 200 and me.json()["id"] == rider
    own = client.post(
        "/api/v1/me/read",
        json={"categories": ["phone"]},
        headers=bearer(session["token"], "online_services"),
    )
    assert own.status_code == 200, own.text
    assert [r["values"]["phone"] for r in own.json()["records"]] == ["+994502223344"]
    # The rider role has no say in service provision: the vault refuses it.
    refused = client.post(
        "/api/v1/me/read",
        json={"categories": ["phone"]},
        headers=bearer(session["token"], "service_provision"),
    )
    assert refused.status_code == 403 and refused.json()["code"] == "purpose_denied"
    # The token is stored as a keyed hash only.
    with vault.unit_of_work() as uow:
        digests = list(uow.records.scalars(select(SubjectSession.digest)))
        steps = [
            e.reason
            for e in uow.records.scalars(
                select(AuditEntry).where(AuditEntry.action == "session").order_by(AuditEntry.seq)
            )
        ]
        logged = " ".join(str(e.__dict__) for e in uow.records.scalars(select(AuditEntry)))
    assert digests == [vault.api_key_digest(session["token"])]
    assert steps == ["code_sent_capture", "started"]
    assert "2223344" not in logged and message.code not in logged


def test_a_session_reaches_no_operator_route_and_no_other_subject(
    vault: Vault, client: TestClient, sender: CapturingSender
) -> None:
    register_rider(vault, PHONE)
    other = register_rider(vault, OTHER_PHONE, first_name="Aysel")
    token = _sign_in(client, sender)["token"]
    for response in (
        client.post(
            f"/api/v1/subjects/{other}/read",
            json={"categories": ["phone"]},
            headers=bearer(token, "online_services"),
        ),
        client.get(f"/api/v1/subjects/{other}", headers=bearer(token)),
        client.get("/api/v1/requests", headers=bearer(token)),
    ):
        assert response.status_code == 403 and response.json()["code"] == "role_not_allowed"
    # And an API key is no session.
    key = make_key(vault, "bakikart", "service")
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 403
    assert client.get("/api/v1/me").status_code == 401


def test_a_session_lasts_15_minutes_and_ends_when_asked(
    vault: Vault, client: TestClient, sender: CapturingSender, clock: FixedClock
) -> None:
    register_rider(vault, PHONE)
    token = _sign_in(client, sender)["token"]
    clock.advance(minutes=14, seconds=59)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    clock.advance(seconds=1)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    clock.advance(hours=2)
    again = _sign_in(client, sender)["token"]
    assert client.post("/api/v1/sessions/end", headers=bearer(again)).status_code == 204
    ended = client.get("/api/v1/me", headers=bearer(again))
    assert ended.status_code == 401 and ended.json()["code"] == "unauthenticated"


def test_three_wrong_codes_lock_the_challenge(
    vault: Vault, client: TestClient, sender: CapturingSender
) -> None:
    register_rider(vault, PHONE)
    challenge = _start(client).json()["challenge_id"]
    right = sender.code_for(challenge)
    wrong = "000000" if right != "000000" else "111111"
    lefts = []
    for _ in range(3):
        response = client.post(
            "/api/v1/sessions/verify", json={"challenge_id": challenge, "code": wrong}
        )
        assert response.status_code == 403 and response.json()["code"] == "verification_failed"
        lefts.append(response.json()["detail"])
    assert "2 attempts left" in lefts[0] and "locked" in lefts[2]
    late = client.post("/api/v1/sessions/verify", json={"challenge_id": challenge, "code": right})
    assert late.status_code == 403 and late.json()["code"] == "session_locked"
    with vault.unit_of_work() as uow:
        steps = list(
            uow.records.scalars(
                select(AuditEntry.reason)
                .where(AuditEntry.action == "session")
                .order_by(AuditEntry.seq)
            )
        )
    assert steps == ["code_sent_capture", "code_wrong_1_of_3", "code_wrong_2_of_3", "locked"]


def test_codes_are_rate_limited_and_an_unknown_phone_learns_nothing(
    vault: Vault, client: TestClient, sender: CapturingSender, clock: FixedClock
) -> None:
    register_rider(vault, PHONE)
    for _ in range(3):
        assert _start(client).status_code == 202
    limited = _start(client)
    assert limited.status_code == 403 and limited.json()["code"] == "too_many_codes"
    assert "2223344" not in limited.text
    clock.advance(hours=1)
    assert _start(client).status_code == 202
    assert len(sender.sent) == 4
    nobody = _start(client, "+994 77 000 11 22")
    assert nobody.status_code == 202 and set(nobody.json()) == {"challenge_id", "expires_at"}
    assert len(sender.sent) == 4  # no code went anywhere
    guess = client.post(
        "/api/v1/sessions/verify",
        json={"challenge_id": nobody.json()["challenge_id"], "code": "123456"},
    )
    assert guess.status_code == 403 and guess.json()["code"] == "verification_failed"


def test_a_phone_nobody_holds_is_limited_like_a_held_one_and_fills_nothing(
    vault: Vault, client: TestClient, sender: CapturingSender, clock: FixedClock
) -> None:
    register_rider(vault, PHONE)
    nobody = "+994 77 000 11 22"
    answers = {phone: [_start(client, phone) for _ in range(4)] for phone in (PHONE, nobody)}
    # The same answers, code for code, whether the phone is held or not.
    for phone, got in answers.items():
        assert [a.status_code for a in got] == [202, 202, 202, 403], phone
        assert got[-1].json()["code"] == "too_many_codes"
        assert "0001122" not in got[-1].text and "2223344" not in got[-1].text
    assert answers[PHONE][-1].json()["detail"] == answers[nobody][-1].json()["detail"]
    with vault.unit_of_work() as uow:
        kept = uow.records.scalars(select(SessionChallenge.phone_key)).all()
    # Three challenges each, none for the refused starts; the phone is kept only keyed.
    assert len(kept) == 6 and len(set(kept)) == 2
    assert all(k is not None and k.startswith("PHONE_") and len(k) == 30 for k in kept)
    clock.advance(hours=1)
    assert _start(client, nobody).status_code == 202


def test_a_subject_sees_its_own_requests_and_a_driver_reads_nothing_unoffered(
    vault: Vault, client: TestClient, sender: CapturingSender
) -> None:
    rider = register_rider(vault, PHONE)
    register_rider(vault, OTHER_PHONE, first_name="Aysel")
    with vault.unit_of_work() as uow:
        mine = add_request(
            vault, uow, policy_id="bakikart", kind="access", channel="written",
            actor=DPO, subject_id=rider,
        )  # fmt: skip
        add_request(
            vault, uow, policy_id="bakikart", kind="access", channel="written",
            actor=DPO, phone=OTHER_PHONE,
        )  # fmt: skip
    token = _sign_in(client, sender)["token"]
    page = client.get("/api/v1/me/requests", headers=bearer(token)).json()
    assert [r["id"] for r in page["items"]] == [mine.id] and page["next_cursor"] is None
    # A driver's role is given no purpose by the Taxsee policy: its session reads nothing.
    driver_phone = "+994 51 333 44 55"
    register_driver(vault, driver_phone)
    started = _start(client, driver_phone, "taxsee_driver").json()["challenge_id"]
    verified = client.post(
        "/api/v1/sessions/verify",
        json={"challenge_id": started, "code": sender.code_for(started)},
    ).json()
    assert verified["role"] == "driver"
    read = client.post(
        "/api/v1/me/read",
        json={"categories": ["registration"]},
        headers=bearer(verified["token"], "licence_agreement"),
    )
    assert read.status_code == 403 and read.json()["code"] == "purpose_denied"
    assert client.get("/api/v1/me", headers=bearer(verified["token"])).status_code == 200


def test_the_phone_is_never_in_a_url(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()["paths"]
    start = spec["/api/v1/sessions/start"]["post"]
    assert "parameters" not in start and start["x-mexfi-auth"] == "none"
    assert spec["/api/v1/me"]["get"]["x-mexfi-auth"] == "session"
