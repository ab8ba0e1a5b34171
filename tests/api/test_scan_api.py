"""PII discovery and redaction over the HTTP API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mexfi.scan.views import MAX_TEXT
from mexfi.vault import Vault
from tests.api.conftest import bearer, make_key

TEXT = "Sürücü ilə əlaqə: +994 50 222 33 44, sabah saat 9-da."


def test_scan_finds_a_phone_and_redacts_it(vault: Vault, client: TestClient) -> None:
    key = bearer(make_key(vault, "bakikart", "support", "bk-support"))
    found = client.post("/api/v1/scan", json={"text": TEXT, "lang": "az"}, headers=key)
    assert found.status_code == 200, found.text
    phones = [e for e in found.json()["entities"] if e["type"] == "PHONE"]
    assert phones and TEXT[phones[0]["start"] : phones[0]["end"]].endswith("44")
    assert "222 33" not in found.text
    redacted = client.post("/api/v1/scan/redact", json={"text": TEXT}, headers=key).json()
    assert "[PHONE]" in redacted["text"] and "222 33" not in redacted["text"]


def test_scan_bounds_the_body_and_needs_a_key(vault: Vault, client: TestClient) -> None:
    key = bearer(make_key(vault, "bakikart", "support", "bk-support"))
    big = client.post("/api/v1/scan", json={"text": "a" * (MAX_TEXT + 1)}, headers=key)
    assert big.status_code == 422 and big.json()["code"] in ("request_invalid", "body_too_large")
    huge = client.post("/api/v1/scan", json={"text": "ə" * (3 * MAX_TEXT)}, headers=key)
    assert huge.status_code == 422 and huge.json()["code"] == "body_too_large"
    assert client.post("/api/v1/scan", json={"text": TEXT}).status_code == 401
