"""The banner's script and stylesheet (issue 13, point 3): within their budget of 12 KB
gzipped together (printed), shipped as package data, served by the API as they are, and
free of dependencies (no module system, nothing fetched but from the API)."""

from __future__ import annotations

import gzip
import re
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mexfi.api import create_app
from mexfi.vault import Vault

REPO = Path(__file__).resolve().parents[2]
ASSETS = ("banner.js", "banner.css")
BUDGET = 12 * 1024


def _asset(name: str) -> bytes:
    return (resources.files("mexfi.consent") / "static" / name).read_bytes()


def test_script_and_stylesheet_fit_the_budget_gzipped(capsys: pytest.CaptureFixture[str]) -> None:
    sizes = {name: len(gzip.compress(_asset(name), compresslevel=9)) for name in ASSETS}
    total = sum(sizes.values())
    with capsys.disabled():
        print(
            "\nbanner gzipped: "
            + ", ".join(f"{name} {size} B" for name, size in sizes.items())
            + f"; together {total} B of {BUDGET} B ({total / BUDGET:.0%})"
        )
    assert total <= BUDGET


def test_the_assets_are_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["mexfi"]
    package = REPO / "src" / "mexfi"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    for name in ASSETS:
        assert package / "consent" / "static" / name in shipped, name


def test_the_script_has_no_dependencies() -> None:
    script = _asset("banner.js").decode("utf-8")
    assert not re.search(r"^\s*import\b|\brequire\(|\bimport\(", script, re.MULTILINE)
    # It reaches nothing but the API it was loaded from.
    assert not re.search(r"https?://", script)


@pytest.fixture
def client(vault: Vault) -> Iterator[TestClient]:
    with TestClient(create_app(vault), base_url="http://mexfi.test") as client:
        yield client


@pytest.mark.parametrize(
    ("name", "media_type"), [("banner.js", "text/javascript"), ("banner.css", "text/css")]
)
def test_the_api_serves_them_as_they_are(client: TestClient, name: str, media_type: str) -> None:
    response = client.get(f"/api/v1/consent/banner/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.content == _asset(name)
