"""The API over the real migrated store of each backend, called through httpx in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.api import create_app
from mexfi.apikeys import create_api_key
from mexfi.vault import Actor, Vault
from tests.api.leaks import TrafficLog

DPO = Actor("dpo-test", "dpo")


def make_key(vault: Vault, policy_id: str, role: str, label: str = "test-service") -> str:
    """A new key's secret, committed (as `mexfi apikeys create` makes one)."""
    with vault.unit_of_work() as uow:
        return create_api_key(
            vault, uow, policy_id=policy_id, role=role, label=label, actor=DPO
        ).secret


def bearer(key: str, purpose: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if purpose is not None:
        headers["X-Mexfi-Purpose"] = purpose
    return headers


@pytest.fixture
def app(vault: Vault) -> FastAPI:
    return create_app(vault)


@pytest.fixture(scope="session", autouse=True)
def traffic_log() -> Iterator[TrafficLog]:
    """The server's logs at debug level over the session's API tests, checked at its end
    against the personal values every `client` request sent (issue 12, item 2)."""
    log = TrafficLog()
    log.install()
    yield log
    log.remove()
    assert log.leaks() == [], "personal values in the server's logs"


@pytest.fixture
def client(app: FastAPI, traffic_log: TrafficLog) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://mexfi.test") as client:
        client.event_hooks["request"].append(traffic_log.record_request)
        yield client


@pytest.fixture
def bakikart_key(vault: Vault) -> str:
    return make_key(vault, "bakikart", "service", "bakikart-backend")


@pytest.fixture
def taxsee_key(vault: Vault) -> str:
    return make_key(vault, "taxsee_driver", "system", "taxsee-backend")
