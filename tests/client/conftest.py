"""The typed client over the app on each backend: FastAPI's TestClient (an httpx.Client)
for `MexfiClient`, an httpx.AsyncClient over the ASGI app for `AsyncMexfiClient`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.api import create_app
from mexfi.client import MexfiClient
from mexfi.requests.views import get_code_sender
from mexfi.vault import Vault
from tests.api.conftest import make_key
from tests.requests.conftest import CapturingSender

BASE_URL = "http://mexfi.test"


@pytest.fixture
def app(vault: Vault) -> FastAPI:
    return create_app(vault)


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def sender(app: FastAPI) -> CapturingSender:
    """The SMS gateway the app sends codes through: kept in memory."""
    captured = CapturingSender()
    app.dependency_overrides[get_code_sender] = lambda: captured
    return captured


@pytest.fixture
def bakikart(vault: Vault, http: TestClient) -> MexfiClient:
    """The BakıKart backend (role `service`)."""
    return MexfiClient(http=http, api_key=make_key(vault, "bakikart", "service", "bk-backend"))


@pytest.fixture
def taxsee(vault: Vault, http: TestClient) -> MexfiClient:
    """The Taxsee backend (role `system`: the order backend)."""
    key = make_key(vault, "taxsee_driver", "system", "taxsee-backend")
    return MexfiClient(http=http, api_key=key)


@pytest.fixture
def dpo(vault: Vault, http: TestClient) -> MexfiClient:
    return MexfiClient(http=http, api_key=make_key(vault, "bakikart", "dpo", "bk-dpo"))


@pytest.fixture
def auditor(vault: Vault, http: TestClient) -> MexfiClient:
    return MexfiClient(http=http, api_key=make_key(vault, "bakikart", "auditor", "bk-audit"))
