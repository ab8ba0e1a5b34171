"""The audit signing key is its own secret: its own file or variable, apart from keys.json; the
public key beside it; a legacy keys.json that still holds it keeps working until moved."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mexfi.errors import Conflict, Invalid, NotFound, Unavailable
from mexfi.secrets import (
    Secrets,
    audit_key_path,
    audit_public_key_path,
    init_audit_key,
    init_key_file,
    load_audit_public_key,
    load_audit_signing_key,
    load_secrets,
    move_legacy_audit_key,
    save_key_file,
)


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("MEXFI_DATA_DIR", str(data))
    for name in (
        "MEXFI_KEY_FILE",
        "MEXFI_MASTER_KEY",
        "MEXFI_INDEX_KEY",
        "MEXFI_PSEUDONYM_KEY",
        "MEXFI_AUDIT_SIGNING_KEY",
        "MEXFI_AUDIT_KEY_FILE",
        "MEXFI_AUDIT_PUBLIC_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    return data


def raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_the_key_file_no_longer_holds_the_audit_key(env: Path) -> None:
    init_key_file()
    assert "audit_signing_key" not in json.loads((env / "keys.json").read_text())
    with pytest.raises(Unavailable, match="no audit signing key"):
        load_secrets()
    path = init_audit_key()
    assert path == env / "audit-signing.key" == audit_key_path()
    assert path.stat().st_mode & 0o777 == 0o600
    assert audit_public_key_path() == env / "audit-signing.pub"
    secrets = load_secrets()
    seed = base64.b64decode(path.read_text())
    assert secrets.audit_signing_seed == seed
    public = base64.b64decode((env / "audit-signing.pub").read_text())
    assert public == raw(secrets.audit_signing_key.public_key())
    with pytest.raises(Conflict, match="already exists"):
        init_audit_key()


def test_load_secrets_never_creates_a_key_file(env: Path) -> None:
    # Only `mexfi keys init` creates one: data under a second key file is lost to the first.
    with pytest.raises(Unavailable, match="no key file at"):
        load_secrets()
    assert not env.exists()


def test_the_variable_and_a_configured_file_give_the_key(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_key_file()
    elsewhere = tmp_path / "vault" / "signing.key"
    monkeypatch.setenv("MEXFI_AUDIT_KEY_FILE", str(elsewhere))
    init_audit_key()
    assert (tmp_path / "vault" / "signing.pub").exists()
    from_file = load_secrets().audit_signing_seed
    assert from_file == base64.b64decode(elsewhere.read_text())
    seed = os.urandom(32)
    monkeypatch.setenv("MEXFI_AUDIT_SIGNING_KEY", base64.b64encode(seed).decode())
    assert load_secrets().audit_signing_seed == seed  # the variable wins
    assert load_audit_signing_key().private_bytes_raw() == seed
    monkeypatch.setenv("MEXFI_AUDIT_SIGNING_KEY", "not base64!")
    with pytest.raises(Invalid, match="MEXFI_AUDIT_SIGNING_KEY"):
        load_secrets()


def test_the_public_key_needs_no_other_secret(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Unavailable, match="no audit public key"):
        load_audit_public_key()
    key = Ed25519PrivateKey.generate()
    encoded = base64.b64encode(raw(key.public_key())).decode()
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "given.pub").write_text(encoded + "\n")
    (tmp_path / "given.pem").write_bytes(pem)
    for value in (encoded, str(tmp_path / "given.pub"), str(tmp_path / "given.pem")):
        assert raw(load_audit_public_key(value)) == raw(key.public_key())
    with pytest.raises(NotFound):
        load_audit_public_key(str(tmp_path / "missing.pub"))
    with pytest.raises(Invalid, match="not an Ed25519 public key"):
        load_audit_public_key("c2hvcnQ=")
    monkeypatch.setenv("MEXFI_AUDIT_PUBLIC_KEY", encoded)
    assert raw(load_audit_public_key()) == raw(key.public_key())
    monkeypatch.delenv("MEXFI_AUDIT_PUBLIC_KEY")
    init_audit_key()  # the .pub beside the key file, then the signing key itself
    signing = load_audit_signing_key().public_key()
    assert raw(load_audit_public_key()) == raw(signing)
    (env / "audit-signing.pub").unlink()
    assert raw(load_audit_public_key()) == raw(signing)
    assert not (env / "keys.json").exists()  # never needed


def test_a_legacy_key_file_keeps_working_until_moved(
    env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = Secrets.generate("mk-legacy")
    save_key_file(secrets, env / "keys.json")  # the layout before the split
    assert "audit_signing_key" in json.loads((env / "keys.json").read_text())
    with caplog.at_level(logging.WARNING, logger="mexfi.secrets"):
        assert load_secrets() == secrets
    assert "run `mexfi keys init` to move it" in caplog.text
    assert not (env / "audit-signing.key").exists()  # nothing moves behind one's back

    moved = move_legacy_audit_key()
    assert moved == env / "audit-signing.key"
    assert "audit_signing_key" not in json.loads((env / "keys.json").read_text())
    assert load_secrets() == secrets  # the same key, now from its own file
    assert base64.b64decode((env / "audit-signing.pub").read_text()) == raw(
        secrets.audit_signing_key.public_key()
    )
    assert move_legacy_audit_key() is None


def test_a_legacy_key_that_differs_from_the_key_file_is_refused(env: Path) -> None:
    save_key_file(Secrets.generate(), env / "keys.json")
    init_audit_key()
    with pytest.raises(Conflict, match="differs from"):
        load_secrets()
    with pytest.raises(Conflict, match="differs from"):
        move_legacy_audit_key()


def test_save_key_file_can_put_the_audit_key_apart(env: Path, tmp_path: Path) -> None:
    secrets = Secrets.generate()
    save_key_file(secrets, env / "keys.json", audit_key_file=env / "audit-signing.key")
    assert "audit_signing_key" not in json.loads((env / "keys.json").read_text())
    assert load_secrets() == secrets
