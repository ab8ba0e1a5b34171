"""The consent router over the real store of each backend: an operator's key records and reads
a subject's choices, the sender's check refuses and counts (BK-6.1), the rider sets their own
push preferences with a session, and the ledger verifies."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.apikeys.views import get_code_sender
from mexfi.vault import Vault
from tests.api.conftest import app, bearer, client, make_key, traffic_log
from tests.requests.conftest import CapturingSender, register_driver, register_rider

__all__ = ["app", "client", "traffic_log"]  # the API tests' fixtures, used here too

PHONE = "+994 50 222 33 55"
API = "/api/v1"


@pytest.fixture
def rider(vault: Vault) -> str:
    return register_rider(vault, PHONE)


@pytest.fixture
def service(vault: Vault) -> dict[str, str]:
    return bearer(make_key(vault, "bakikart", "service", "bakikart-backend"))


def check(client: TestClient, headers: dict[str, str], subject: str, kind: str) -> Any:
    answer = client.post(
        f"{API}/consent/notifications/check",
        json={"subject_id": subject, "notification": kind},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["allowed"]


def test_a_service_key_records_and_reads_a_subjects_choices(
    client: TestClient, rider: str, service: dict[str, str]
) -> None:
    recorded = client.post(
        f"{API}/consent/subjects/{rider}/choices",
        json={
            "choices": [
                {"kind": "cookie", "notice": "quality", "choice": "opt_in"},
                {"kind": "purpose", "notice": "personalized_notifications", "choice": "opt_in"},
            ],
            "language": "en",
            "served_notice_id": "notice-7",
        },
        headers=service,
    )
    assert recorded.status_code == 201, recorded.text
    entries = recorded.json()["entries"]
    assert [(e["method"], e["source"], e["served_notice_id"]) for e in entries] == [
        ("api", "api", "notice-7")
    ] * 2
    assert entries[0]["actor_id"].startswith("apikey:")
    state = client.get(f"{API}/consent/subjects/{rider}/choices", headers=service).json()
    assert {(c["kind"], c["notice"], c["choice"]) for c in state["choices"]} == {
        ("policy", "1.0", "acknowledge"),
        ("cookie", "quality", "opt_in"),
        ("purpose", "personalized_notifications", "opt_in"),
    }
    # The history pages by cursor, oldest first: the acceptance at registration, then these.
    first = client.get(f"{API}/consent/subjects/{rider}/history?limit=2", headers=service).json()
    assert [e["notice"] for e in first["items"]] == ["1.0", "quality"]
    rest = client.get(
        f"{API}/consent/subjects/{rider}/history",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=service,
    ).json()
    assert [e["notice"] for e in rest["items"]] == ["personalized_notifications"]
    assert rest["next_cursor"] is None


def test_bk_6_1_the_senders_check_refuses_until_opt_in_and_counts(
    vault: Vault, client: TestClient, rider: str, service: dict[str, str]
) -> None:
    defaults = client.get(f"{API}/consent/subjects/{rider}/notifications", headers=service)
    assert defaults.json()["preferences"] == {
        "qr_tickets": True,
        "balance_and_payments": True,
        "personalized": False,
    }
    assert check(client, service, rider, "qr_tickets") is True
    assert check(client, service, rider, "personalized") is False
    opted = client.post(
        f"{API}/consent/subjects/{rider}/notifications",
        json={"preferences": {"personalized": True}, "language": "az"},
        headers=service,
    )
    assert opted.status_code == 200 and opted.json()["preferences"]["personalized"] is True
    assert check(client, service, rider, "personalized") is True
    client.post(
        f"{API}/consent/subjects/{rider}/notifications",
        json={"preferences": {"personalized": False}, "language": "az"},
        headers=service,
    )
    assert check(client, service, rider, "personalized") is False
    dpo = bearer(make_key(vault, "bakikart", "dpo", "dpo"))
    counts = client.get(f"{API}/consent/refusals", headers=dpo).json()
    assert [(c["notice"], c["reason"], c["count"]) for c in counts] == [
        ("personalized", "notification_not_allowed", 2)
    ]
    assert client.get(f"{API}/consent/refusals", headers=service).status_code == 403


def test_an_unknown_notification_type_is_a_problem_naming_it(
    client: TestClient, rider: str, service: dict[str, str]
) -> None:
    answer = client.post(
        f"{API}/consent/notifications/check",
        json={"subject_id": rider, "notification": "newsletter"},
        headers=service,
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "'newsletter'" in answer.json()["detail"]


def test_a_key_reaches_only_its_own_policys_subjects(
    vault: Vault, client: TestClient, service: dict[str, str]
) -> None:
    driver = register_driver(vault, "+994 55 765 43 99")
    answer = client.get(f"{API}/consent/subjects/{driver}/choices", headers=service)
    assert answer.status_code == 403
    taxsee = bearer(make_key(vault, "taxsee_driver", "system", "taxsee-backend"))
    assert client.get(f"{API}/consent/subjects/{driver}/choices", headers=taxsee).status_code == 200


@pytest.fixture
def sender(app: FastAPI) -> CapturingSender:
    captured = CapturingSender()
    app.dependency_overrides[get_code_sender] = lambda: captured
    return captured


def test_a_rider_sets_their_own_push_preferences(
    client: TestClient, rider: str, sender: CapturingSender, service: dict[str, str]
) -> None:
    started = client.post(f"{API}/sessions/start", json={"policy_id": "bakikart", "phone": PHONE})
    challenge = started.json()["challenge_id"]
    verified = client.post(
        f"{API}/sessions/verify",
        json={"challenge_id": challenge, "code": sender.code_for(challenge)},
    )
    me = bearer(verified.json()["token"])
    assert (
        client.get(f"{API}/me/consent/notifications", headers=me).json()["preferences"][
            "personalized"
        ]
        is False
    )
    answer = client.post(
        f"{API}/me/consent/notifications",
        json={"preferences": {"personalized": True, "qr_tickets": False}, "language": "ru"},
        headers=me,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "subject_id": rider,
        "preferences": {"qr_tickets": False, "balance_and_payments": True, "personalized": True},
    }
    history = client.get(f"{API}/me/consent/history", headers=me).json()["items"]
    assert [(e["notice"], e["method"], e["source"], e["actor_id"][:8]) for e in history[1:]] == [
        ("personalized", "switch", "app", "session:"),
        ("qr_tickets", "switch", "app", "session:"),
    ]
    assert check(client, service, rider, "qr_tickets") is False
    # A session reaches no operator route.
    assert client.get(f"{API}/consent/subjects/{rider}/choices", headers=me).status_code == 403


def test_the_ledger_verifies_for_an_auditor(
    vault: Vault, client: TestClient, rider: str, service: dict[str, str]
) -> None:
    auditor = bearer(make_key(vault, "bakikart", "auditor", "auditor"))
    report = client.get(f"{API}/consent/ledger/verify", headers=auditor).json()
    assert report["ok"] is True and report["checked"] == 1 and report["anchors"] == 1
    assert client.get(f"{API}/consent/ledger/verify", headers=service).status_code == 403
