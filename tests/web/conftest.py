"""Fixtures of the web tests (the console's and the portal's): the app over the migrated store
with a capturing code sender, a signed-in console client, the served app and a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.api import create_app
from mexfi.requests.views import get_code_sender
from mexfi.vault import Vault
from tests.api.conftest import make_key
from tests.browser import chromium, serve
from tests.requests.conftest import CapturingSender

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["csrf_of", "sign_in"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, key: str) -> None:
    """Sign in to the console with `key` as a browser would (the form, its token)."""
    token = csrf_of(client.get("/console/sign-in").text)
    answer = client.post(
        "/console/sign-in", data={"csrf_token": token, "key": key}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
def sender() -> CapturingSender:
    return CapturingSender()


@pytest.fixture
def web_app(vault: Vault, sender: CapturingSender) -> FastAPI:
    app = create_app(vault)
    app.dependency_overrides[get_code_sender] = lambda: sender
    return app


@pytest.fixture
def web(web_app: FastAPI) -> Iterator[TestClient]:
    """A browser-like client of the app (cookies kept, redirects not followed)."""
    with TestClient(web_app, base_url="http://mexfi.test", follow_redirects=False) as client:
        yield client


@pytest.fixture
def dpo_key(vault: Vault) -> str:
    return make_key(vault, "bakikart", "dpo", "dpo-console")


@pytest.fixture
def console(web: TestClient, dpo_key: str) -> TestClient:
    """The client signed in to the console as the DPO of bakikart."""
    sign_in(web, dpo_key)
    return web


@pytest.fixture
def live(web_app: FastAPI) -> Iterator[str]:
    """The app served on a loopback port (its base URL)."""
    with serve(web_app) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched
