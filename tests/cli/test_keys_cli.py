"""`mexfi keys` and `mexfi db` from the command line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mexfi.cli.app import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    for name in (
        "MEXFI_DATABASE_URL",
        "MEXFI_KEYSTORE_URL",
        "MEXFI_KEY_FILE",
        "MEXFI_MASTER_KEY",
        "MEXFI_AUDIT_SIGNING_KEY",
        "MEXFI_AUDIT_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


def test_keys_init_then_rotate(env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["keys", "init"])
    assert result.exit_code == 0, result.output
    key_file = env / "keys.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["keys", "init"])
    assert again.exit_code != 0
    before = json.loads(key_file.read_text())["master_keys"]
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    after = json.loads(key_file.read_text())["master_keys"]
    assert len(after) == 2 and after[1] == before[0]


def test_init_creates_both_stores_and_db_upgrade_only_upgrades_them(env: Path) -> None:
    refused = CliRunner().invoke(app, ["db", "upgrade"])
    assert type(refused.exception).__name__ == "StoreNotFound"
    assert not env.exists()  # only `mexfi init` creates a store
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (env / "mexfi.sqlite").exists() and (env / "mexfi-keys.sqlite").exists()
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "up to date" in result.output


def test_help_for_every_command() -> None:
    runner = CliRunner()
    for args in (
        ["--help"],
        ["keys", "--help"],
        ["keys", "rotate", "--help"],
        ["db", "--help"],
        ["policy", "lint", "--help"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_keys_init_keeps_the_audit_signing_key_apart(env: Path) -> None:
    from mexfi.secrets import Secrets, load_secrets, save_key_file

    runner = CliRunner()
    result = runner.invoke(app, ["keys", "init"])
    assert result.exit_code == 0, result.output
    assert "audit_signing_key" not in json.loads((env / "keys.json").read_text())
    key, public = env / "audit-signing.key", env / "audit-signing.pub"
    assert key.stat().st_mode & 0o777 == 0o600 and public.exists()
    assert load_secrets().audit_signing_key.public_key().public_bytes_raw() == (
        base64.b64decode(public.read_text())
    )
    again = runner.invoke(app, ["keys", "init"])  # both exist
    assert again.exit_code != 0 and type(again.exception).__name__ == "Conflict"

    # A key file from before the split: `keys init` moves its audit key out.
    legacy = Secrets.generate()
    key.unlink()
    public.unlink()
    save_key_file(legacy, env / "keys.json")
    result = runner.invoke(app, ["keys", "init"])
    assert result.exit_code == 0, result.output
    assert "moved the audit signing key out of" in result.output
    assert "audit_signing_key" not in json.loads((env / "keys.json").read_text())
    assert load_secrets() == legacy


def test_keys_reseal_converts_records_of_vault_v1(env: Path) -> None:
    from mexfi.db import open_store
    from mexfi.policy import load_bundled_policies
    from mexfi.secrets import load_secrets
    from tests.vault.test_keys import _downgrade_to_v1

    runner = CliRunner()
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    generated = runner.invoke(app, ["generate", "--riders", "3", "--drivers", "0", "--days", "1"])
    assert generated.exit_code == 0, generated.output
    store = open_store()
    try:
        bakikart = load_bundled_policies()["bakikart"]
        converted = _downgrade_to_v1(store, load_secrets(), bakikart, "active")
        assert converted > 3
        result = runner.invoke(app, ["keys", "reseal", "--batch-size", "7"])
        assert result.exit_code == 0, result.output
        assert f"{converted} records resealed in format 2; 0 left in format 1" in result.output
        with store.records() as session:
            from sqlalchemy import text

            formats = set(session.scalars(text("SELECT DISTINCT format FROM records")))
        assert formats == {2}
    finally:
        store.dispose()
    # A second run finds nothing to do, and the audit log is intact.
    again = runner.invoke(app, ["keys", "reseal", "--format", "json"])
    assert again.exit_code == 0
    assert json.loads(again.stdout) == {"resealed": 0, "left_in_format_1": 0}
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
