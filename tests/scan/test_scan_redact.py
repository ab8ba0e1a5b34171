"""Redaction modes and pseudonym keys."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mexfi.errors import Invalid, NotFound
from mexfi.scan.redact import load_key, normalise, pseudonym, redact_text

KEY = b"0123456789abcdef0123456789abcdef"


def test_tag_mask_pseudonym() -> None:
    text = "FİN 5ZK7R2M, kart 4169-7388-0012-4418"
    assert redact_text(text) == "FİN [FIN], kart [CARD]"
    assert redact_text(text, mode="mask") == "FİN *******, kart *******************"
    assert (
        redact_text(text, mode="mask", keep_separators=True)
        == "FİN *******, kart ****-****-****-****"
    )
    assert redact_text(text, mode="pseudonym", key=KEY).startswith("FİN FIN_")


def test_pseudonyms_join_across_spellings_and_differ_across_keys() -> None:
    a = pseudonym("PHONE", "+994 50 123 45 67", KEY)
    assert a == pseudonym("PHONE", "050-123-45-67", KEY)
    assert a != pseudonym("PHONE", "050-123-45-68", KEY)
    assert a != pseudonym("PHONE", "+994 50 123 45 67", b"another key of 32 bytes........")
    assert pseudonym("EMAIL", "A@B.AZ", KEY) == pseudonym("EMAIL", "a@b.az", KEY)
    assert normalise("IBAN", "AZ21 NABZ") == "AZ21NABZ"


def test_key_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEXFI_PSEUDONYM_KEY", base64.b64encode(KEY).decode())
    assert load_key() == KEY
    monkeypatch.setenv("MEXFI_PSEUDONYM_KEY", base64.b64encode(b"short").decode())
    with pytest.raises(Invalid, match="at least"):
        load_key()
    monkeypatch.setenv("MEXFI_PSEUDONYM_KEY", "not base64 !!")
    with pytest.raises(Invalid, match="base64"):
        load_key()
    with pytest.raises(NotFound):
        load_key(tmp_path / "missing")


def test_pseudonym_needs_a_key() -> None:
    with pytest.raises(Invalid):
        redact_text("FİN 5ZK7R2M", mode="pseudonym")
