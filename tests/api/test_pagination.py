"""Every list answers one shape, `Page[T]` (`items`, `next_cursor`), with an opaque cursor:
walking the pages gives every item once, and a cursor this API did not give is a 422."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from mexfi.requests import add_request
from mexfi.retention import place_hold
from mexfi.vault import Vault
from tests.api.conftest import DPO, bearer, make_key
from tests.requests.conftest import register_rider

PHONES = [f"+994 50 {n:03d} 33 44" for n in range(200, 205)]


def _walk(client: TestClient, url: str, headers: dict[str, str], limit: int = 2) -> list[Any]:
    """Every item of a list, a page of `limit` at a time; each page's shape checked."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert isinstance(cursor, str) and "{" not in cursor  # opaque
    raise AssertionError("the pages never end")


@pytest.fixture
def riders(vault: Vault) -> list[str]:
    return [register_rider(vault, phone) for phone in PHONES]


def _bad_cursor(client: TestClient, url: str, headers: dict[str, str]) -> None:
    for cursor in ("not-a-cursor", "W3t9XQ", "bnVsbA", "WyJ4IiwieSJd"):
        response = client.get(url, params={"cursor": cursor}, headers=headers)
        assert response.status_code == 422, (cursor, response.text)
        assert response.json()["code"] == "invalid"


def test_requests_page_by_due_date(vault: Vault, client: TestClient, riders: list[str]) -> None:
    with vault.unit_of_work() as uow:
        made = [
            add_request(
                vault, uow, policy_id="bakikart", kind="access", channel="written",
                actor=DPO, subject_id=rider,
            ).id
            for rider in riders
        ]  # fmt: skip
    dpo = bearer(make_key(vault, "bakikart", "dpo"))
    found = _walk(client, "/api/v1/requests", dpo)
    assert sorted(r["id"] for r in found) == sorted(made) and len(found) == len(made)
    assert [r["due_at"] for r in found] == sorted(r["due_at"] for r in found)
    _bad_cursor(client, "/api/v1/requests", dpo)


def test_holds_and_certificates_page(vault: Vault, client: TestClient, riders: list[str]) -> None:
    with vault.unit_of_work() as uow:
        made = [
            place_hold(
                vault, uow, policy_id="bakikart", reason=f"case-{n}", actor=DPO, subject_id=rider
            ).id
            for n, rider in enumerate(riders)
        ]
    dpo = bearer(make_key(vault, "bakikart", "dpo"))
    # Oldest first, then by id (the clock stands still here).
    assert [h["id"] for h in _walk(client, "/api/v1/retention/holds", dpo)] == sorted(made)
    _bad_cursor(client, "/api/v1/retention/holds", dpo)
    url = f"/api/v1/retention/certificates/{riders[0]}"
    assert _walk(client, url, dpo) == []
    _bad_cursor(client, url, dpo)


def test_audit_entries_page_back(vault: Vault, client: TestClient, riders: list[str]) -> None:
    auditor = bearer(make_key(vault, "bakikart", "auditor"))
    found = _walk(client, "/api/v1/audit/entries", auditor, limit=3)
    seqs = [e["seq"] for e in found]
    # Each page is oldest first; the pages go back in time.
    assert sorted(seqs) == sorted(set(seqs)) and len(seqs) >= len(riders)
    everything = client.get("/api/v1/audit/entries", params={"limit": 500}, headers=auditor)
    assert sorted(seqs) == [e["seq"] for e in everything.json()["items"]]
    _bad_cursor(client, "/api/v1/audit/entries", auditor)


def test_every_list_answers_the_same_page_shape(client: TestClient) -> None:
    """Every GET that takes a cursor answers a `Page_…_` schema: items and next_cursor."""
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    lists = 0
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if not get or "cursor" not in {p["name"] for p in get.get("parameters", [])}:
            continue
        lists += 1
        ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[-1]
        assert name.startswith("Page_"), (path, name)
        assert set(schemas[name]["properties"]) == {"items", "next_cursor"}, path
    assert lists >= 5
