"""The audit log over the HTTP API: verify, entries by filter and cursor, checkpoints."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mexfi.vault import Vault
from tests.api.conftest import bearer, make_key
from tests.requests.conftest import register_driver, register_rider


def test_entries_filter_page_and_verify(vault: Vault, client: TestClient) -> None:
    riders = [
        register_rider(vault, "+994 50 222 33 44"),
        register_rider(vault, "+994 50 222 33 45", first_name="Aysel"),
    ]
    subjects = [vault.pseudonym(r) for r in riders]
    auditor = bearer(make_key(vault, "bakikart", "auditor", "bk-auditor"))
    verified = client.get("/api/v1/audit/verify", headers=auditor)
    assert verified.status_code == 200 and verified.json()["ok"], verified.text
    mine = client.get(
        "/api/v1/audit/entries", params={"subject": subjects[0]}, headers=auditor
    ).json()
    assert mine["items"] and all(
        e["subject"] == subjects[0] or subjects[0] in e["subjects"] for e in mine["items"]
    )
    registers = client.get(
        "/api/v1/audit/entries", params={"action": "register"}, headers=auditor
    ).json()["items"]
    assert {e["action"] for e in registers} == {"register"} and len(registers) == 2
    assert "Aysel" not in str(registers) and "222 33" not in str(registers)
    first = client.get("/api/v1/audit/entries", params={"limit": 2}, headers=auditor).json()
    older = client.get(
        "/api/v1/audit/entries",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=auditor,
    ).json()
    assert older["items"] and older["items"][-1]["seq"] < first["items"][0]["seq"]
    latest = client.get("/api/v1/audit/checkpoints/latest", headers=auditor).json()
    assert latest["seq"] >= first["items"][-1]["seq"] - 2 and latest["signature"]
    bad = client.get("/api/v1/audit/entries", params={"subject": "+994502223344"}, headers=auditor)
    assert bad.status_code == 422 and "222" not in bad.text
    for role in ("support", "service"):
        other = bearer(make_key(vault, "bakikart", role, f"bk-{role}"))
        denied = client.get("/api/v1/audit/entries", headers=other)
        assert denied.status_code == 403 and denied.json()["code"] == "role_not_allowed"


def test_a_key_reads_its_own_policys_entries_and_the_stores_own(
    vault: Vault, client: TestClient
) -> None:
    rider = register_rider(vault, "+994 50 222 33 44")
    driver = register_driver(vault, "+994 51 333 44 55")
    auditors = {
        policy: bearer(make_key(vault, policy, "auditor", f"{policy}-auditor"))
        for policy in ("bakikart", "taxsee_driver")
    }
    seen = {
        policy: client.get("/api/v1/audit/entries", params={"limit": 500}, headers=h).json()
        for policy, h in auditors.items()
    }
    for policy, page in seen.items():
        assert page["items"], policy
        assert {e["policy_id"] for e in page["items"]} <= {policy, None}, policy
    subjects = {p: {e["subject"] for e in page["items"]} for p, page in seen.items()}
    assert vault.pseudonym(rider) in subjects["bakikart"]
    assert vault.pseudonym(rider) not in subjects["taxsee_driver"]
    assert vault.pseudonym(driver) in subjects["taxsee_driver"]
    assert vault.pseudonym(driver) not in subjects["bakikart"]
    # Asking for the other policy's subject by pseudonym finds nothing either.
    other = client.get(
        "/api/v1/audit/entries",
        params={"subject": vault.pseudonym(driver)},
        headers=auditors["bakikart"],
    ).json()
    assert other["items"] == []
