"""`mexfi audit verify` and `mexfi audit show`, on a store and key file from the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mexfi.audit import AuditLog
from mexfi.cli.audit import audit_app
from mexfi.db import Store, open_store
from mexfi.errors import Unavailable
from mexfi.migrations import upgrade_store
from mexfi.secrets import init_key_file, load_secrets

from .helpers import make_event, subject, superuser

app = typer.Typer()
app.add_typer(audit_app, name="audit")
runner = CliRunner()


@pytest.fixture
def env_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("MEXFI_DATABASE_URL", f"sqlite:///{tmp_path / 'records.sqlite'}")
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", f"sqlite:///{tmp_path / 'keys.sqlite'}")
    monkeypatch.setenv("MEXFI_KEY_FILE", str(tmp_path / "keys.json"))
    for name in ("MEXFI_MASTER_KEY", "MEXFI_AUDIT_SIGNING_KEY", "MEXFI_RECORDS_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    init_key_file()
    store = open_store()
    upgrade_store(store)
    log = AuditLog(signing_key=load_secrets().audit_signing_key, checkpoint_every=10)
    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(30)])
    return store


def test_verify_intact_log(env_store: Store) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "entries checked:     30" in result.output
    assert "checkpoints checked: 3" in result.output
    assert "audit log intact" in result.output


def test_verify_tampered_log_exits_1_and_names_the_entry(env_store: Store) -> None:
    with superuser(env_store) as connection:
        connection.exec_driver_sql("UPDATE audit_entries SET purpose = 'marketing' WHERE seq = 7")
        connection.exec_driver_sql("DELETE FROM audit_entries WHERE seq = 12")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "edited" in result.output and "deleted" in result.output
    assert "entry 7 was edited after it was written" in " ".join(result.output.split())
    assert "tampered with" in result.output

    as_json = runner.invoke(app, ["audit", "verify", "--format", "json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert [(p["seq"], p["kind"]) for p in report["problems"]] == [(7, "edited"), (12, "deleted")]


def test_verify_with_another_key_fails(
    env_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEXFI_KEY_FILE", str(tmp_path / "other-keys.json"))
    init_key_file()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "bad_signature" in result.output


def test_show_filters_by_subject(env_store: Store) -> None:
    result = runner.invoke(
        app, ["audit", "show", "--subject", subject(3), "--limit", "2", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [e["seq"] for e in entries] == [18, 25]
    assert {e["subject"] for e in entries} == {subject(3)}
    assert set(entries[0]) >= {"seq", "at", "actor_id", "action", "outcome", "hash"}


def test_show_as_text(env_store: Store) -> None:
    result = runner.invoke(app, ["audit", "show", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "30" in result.output and "staff-" in result.output
    empty = runner.invoke(app, ["audit", "show", "--subject", "ps_nobody"])
    assert empty.exit_code == 0
    assert "no audit entries match" in empty.output


def test_no_schema_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEXFI_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", f"sqlite:///{tmp_path / 'empty-keys.sqlite'}")
    result = runner.invoke(app, ["audit", "show"])
    assert isinstance(result.exception, Unavailable)
    assert "mexfi db upgrade" in (result.exception.hint or "")
