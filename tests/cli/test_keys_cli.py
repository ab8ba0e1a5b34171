"""`mexfi keys` and `mexfi db` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mexfi.cli.app import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    for name in ("MEXFI_DATABASE_URL", "MEXFI_KEYSTORE_URL", "MEXFI_KEY_FILE", "MEXFI_MASTER_KEY"):
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


def test_db_upgrade_creates_both_stores(env: Path) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (env / "mexfi.sqlite").exists() and (env / "mexfi-keys.sqlite").exists()


def test_help_for_every_command() -> None:
    runner = CliRunner()
    for args in (["--help"], ["keys", "--help"], ["keys", "rotate", "--help"], ["db", "--help"],
                 ["policy", "lint", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output
