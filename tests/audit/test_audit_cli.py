"""`mexfi audit verify | checkpoint | show`, on a store and keys from the environment; an
auditor's `verify --public-key` in a process that holds no other secret."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from typer.testing import CliRunner

from mexfi.audit import AuditAnchor, AuditLog
from mexfi.cli.app import main
from mexfi.cli.audit import audit_app
from mexfi.db import Store, open_store
from mexfi.errors import NotFound, Unavailable
from mexfi.migrations import upgrade_store
from mexfi.secrets import audit_public_key_path, init_audit_key, init_key_file, load_secrets

from .helpers import append_unsigned, make_event, subject, superuser

app = typer.Typer()
app.add_typer(audit_app, name="audit")
runner = CliRunner()


@pytest.fixture
def env_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """30 entries in three commits, made as the CLI makes them: keys and anchor from the env."""
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEXFI_DATABASE_URL", f"sqlite:///{tmp_path / 'records.sqlite'}")
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", f"sqlite:///{tmp_path / 'keys.sqlite'}")
    for name in (
        "MEXFI_KEY_FILE",
        "MEXFI_MASTER_KEY",
        "MEXFI_AUDIT_SIGNING_KEY",
        "MEXFI_AUDIT_KEY_FILE",
        "MEXFI_AUDIT_PUBLIC_KEY",
        "MEXFI_AUDIT_ANCHOR",
        "MEXFI_RECORDS_SCHEMA",
    ):
        monkeypatch.delenv(name, raising=False)
    init_key_file()
    init_audit_key()
    store = open_store()
    upgrade_store(store)
    log = AuditLog(
        signing_key=load_secrets().audit_signing_key,
        checkpoint_every=10,
        anchor=AuditAnchor.from_env(),
    )
    for start in (0, 10, 20):
        with store.records() as session:
            log.append_many(session, [make_event(i) for i in range(start, start + 10)])
    return store


def test_verify_intact_log(env_store: Store) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "entries checked:     30" in result.output
    assert "checkpoints checked: 3" in result.output
    assert "anchored:            checkpoint 3 at entry 30 (3 lines)" in result.output
    assert "audit log intact" in result.output


@pytest.mark.parametrize(
    "options",
    [
        ["--checkpoint-every", "7"],
        ["--checkpoint-every", "1000"],
        ["--format", "json"],
        ["--public-key", "PUB"],
        ["--anchor", "ANCHOR"],
    ],
)
def test_no_false_alarm_whatever_the_options(
    env_store: Store, tmp_path: Path, options: list[str]
) -> None:
    replaced = {
        "PUB": str(audit_public_key_path()),
        "ANCHOR": str(tmp_path / "data" / "audit-anchor.jsonl"),
    }
    result = runner.invoke(app, ["audit", "verify", *[replaced.get(o, o) for o in options]])
    assert result.exit_code == 0, result.output


def test_verify_tampered_log_exits_1_and_names_the_entry(env_store: Store) -> None:
    with superuser(env_store) as connection:
        connection.exec_driver_sql("UPDATE audit_entries SET purpose = 'marketing' WHERE seq = 7")
        connection.exec_driver_sql("DELETE FROM audit_entries WHERE seq = 12")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "edited" in result.output and "deleted" in result.output
    assert "entry 7 was edited after it was written" in " ".join(result.output.split())
    assert "tampered with" in result.output
    # Readable at 80 columns: every line fits.
    assert max(len(line) for line in result.stdout.splitlines()) <= 80

    as_json = runner.invoke(app, ["audit", "verify", "--format", "json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert [(p["seq"], p["kind"]) for p in report["problems"]] == [(7, "edited"), (12, "deleted")]


def test_verify_with_another_public_key_fails(env_store: Store) -> None:
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    result = runner.invoke(
        app, ["audit", "verify", "--public-key", base64.b64encode(other).decode()]
    )
    assert result.exit_code == 1
    assert "bad_signature" in result.output and "bad_anchor" in result.output


def test_verify_needs_an_existing_anchor_file_when_one_is_named(
    env_store: Store, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(tmp_path / "nowhere.jsonl")])
    assert isinstance(result.exception, NotFound)


def test_a_store_restored_from_an_older_copy_fails_against_its_anchor(
    env_store: Store, tmp_path: Path
) -> None:
    records = tmp_path / "records.sqlite"
    copy = tmp_path / "backup.sqlite"

    def backup(source: Path, target: Path) -> None:
        # A consistent copy, as a backup tool makes (SQLite's online backup).
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)

    backup(records, copy)
    log = AuditLog(signing_key=load_secrets().audit_signing_key, anchor=AuditAnchor.from_env())
    with env_store.records() as session:
        log.append_many(session, [make_event(i) for i in range(30, 35)])
    env_store.dispose()
    backup(copy, records)  # restored
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "31  rolled_back" in result.output
    assert "the store is older than its anchor file" in " ".join(result.output.split())


def _auditor_env(tmp_path: Path, store: Store) -> dict[str, str]:
    """An auditor's process: the records database, and no key file, key or data dir of ours."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MEXFI_") and name != "PYTHONPATH"
    }
    empty = tmp_path / "auditor"
    empty.mkdir()
    env["MEXFI_DATA_DIR"] = str(empty)
    env["MEXFI_DATABASE_URL"] = store.config.records_url
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def test_an_auditor_verifies_with_the_public_key_alone(env_store: Store, tmp_path: Path) -> None:
    public = tmp_path / "given-to-the-auditor.pub"
    public.write_bytes(audit_public_key_path().read_bytes())
    anchor = tmp_path / "data" / "audit-anchor.jsonl"
    env = _auditor_env(tmp_path, env_store)

    def verify(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mexfi", "audit", "verify", *options],
            env=env,
            cwd=tmp_path / "auditor",
            capture_output=True,
            text=True,
            timeout=120,
        )

    intact = verify("--public-key", str(public), "--anchor", str(anchor))
    assert intact.returncode == 0, intact.stderr
    assert "audit log intact" in intact.stdout
    by_value = verify("--public-key", public.read_text().strip(), "--anchor", str(anchor))
    assert by_value.returncode == 0, by_value.stderr
    # Without a public key the auditor's process has none to find.
    missing = verify()
    assert missing.returncode == 5 and "no audit public key" in missing.stderr
    assert not (tmp_path / "auditor" / "keys.json").exists()

    with superuser(env_store) as connection:
        connection.exec_driver_sql("UPDATE audit_entries SET reason = 'none' WHERE seq = 4")
    tampered = verify("--public-key", str(public), "--anchor", str(anchor), "--format", "json")
    assert tampered.returncode == 1
    assert [(p["seq"], p["kind"]) for p in json.loads(tampered.stdout)["problems"]] == [
        (4, "edited")
    ]


def test_checkpoint_command_seals_a_log_written_before_commits_signed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEXFI_DATABASE_URL", f"sqlite:///{tmp_path / 'old.sqlite'}")
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", f"sqlite:///{tmp_path / 'old-keys.sqlite'}")
    for name in ("MEXFI_AUDIT_SIGNING_KEY", "MEXFI_AUDIT_KEY_FILE", "MEXFI_AUDIT_ANCHOR"):
        monkeypatch.delenv(name, raising=False)
    init_audit_key()
    store = open_store()
    upgrade_store(store)
    append_unsigned(store, 12)
    before = runner.invoke(app, ["audit", "verify"])
    assert before.exit_code == 0, before.output
    assert "note: entries 1 to 12 were written before checkpoints were signed" in " ".join(
        before.output.split()
    )
    sealed = runner.invoke(app, ["audit", "checkpoint"])
    assert sealed.exit_code == 0, sealed.output
    assert "entry 12, the head, is signed by checkpoint 1" in sealed.output
    after = runner.invoke(app, ["audit", "verify"])
    assert after.exit_code == 0 and "note:" not in after.output
    assert "anchored:            checkpoint 1 at entry 12" in after.output
    again = runner.invoke(app, ["audit", "checkpoint"])
    assert "entry 12, the head, is signed by checkpoint 1" in again.output
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    # It never seals a log that fails verification: that would vouch for the tampering.
    append_unsigned(store, 2)
    refused = runner.invoke(app, ["audit", "checkpoint"])
    assert refused.exit_code == 1 and "appended" in refused.output
    store.dispose()


def test_show_filters_by_subject(env_store: Store) -> None:
    result = runner.invoke(
        app, ["audit", "show", "--subject", subject(3), "--limit", "2", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [e["seq"] for e in entries] == [18, 25]
    assert {e["subject"] for e in entries} == {subject(3)}
    assert set(entries[0]) >= {"seq", "at", "actor_id", "action", "outcome", "hash", "subjects"}


def test_show_as_text(env_store: Store) -> None:
    result = runner.invoke(app, ["audit", "show", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "30" in result.output and "staff-" in result.output
    empty = runner.invoke(app, ["audit", "show", "--subject", subject(99)])
    assert empty.exit_code == 0
    assert "no audit entries match" in empty.output


def test_no_schema_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEXFI_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    monkeypatch.delenv("MEXFI_KEYSTORE_URL", raising=False)
    result = runner.invoke(app, ["audit", "show"])
    assert isinstance(result.exception, Unavailable)
    # No store there: nothing is created, and only `mexfi init` would create one.
    assert "mexfi init" in (result.exception.hint or "")
    assert not (tmp_path / "empty.sqlite").exists()


# --------------------------------------------------------------------------- filters, through
# the real root command: a store of the data dir with two subjects registered a day apart.

RIDER_PHONE = "+994 50 111 22 33"
DAY_1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY_2 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr (lines joined) of `mexfi ARGS` as the console script."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, " ".join(captured.err.split())


class Registered(NamedTuple):
    rider: str
    rider_pseudonym: str
    driver: str
    driver_pseudonym: str


@pytest.fixture
def registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Registered:
    from mexfi.cli.context import open_vault
    from mexfi.clock import FixedClock
    from tests.requests.conftest import register_driver, register_rider

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    assert mexfi(monkeypatch, capsys, "keys", "init")[0] == 0
    with open_vault(clock=FixedClock(DAY_1)) as vault:
        rider = register_rider(vault, RIDER_PHONE)
    with open_vault(clock=FixedClock(DAY_2)) as vault:
        driver = register_driver(vault)
        return Registered(rider, vault.pseudonym(rider), driver, vault.pseudonym(driver))


def shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *options: str
) -> list[dict[str, Any]]:
    code, out, err = mexfi(monkeypatch, capsys, "audit", "show", "--format", "json", *options)
    assert code == 0, err
    entries: list[dict[str, Any]] = json.loads(out)
    return entries


def about(entry: dict[str, Any]) -> set[str]:
    return {entry["subject"], *entry["subjects"]} - {None}


def test_show_filters_by_subject_in_any_form(
    registered: Registered, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    by_pseudonym = shown(monkeypatch, capsys, "--subject", registered.driver_pseudonym)
    assert len(by_pseudonym) == 2  # registered, and the vehicle written in a batch entry
    assert all(about(e) == {registered.driver_pseudonym} for e in by_pseudonym)
    assert shown(monkeypatch, capsys, "--subject", registered.driver) == by_pseudonym
    by_phone = shown(monkeypatch, capsys, "-s", RIDER_PHONE)
    assert [about(e) for e in by_phone] == [{registered.rider_pseudonym}]
    # Which subject a phone resolved to is said on stderr; the phone is never printed.
    code, out, err = mexfi(monkeypatch, capsys, "audit", "show", "-s", RIDER_PHONE)
    assert code == 0 and f"resolved to subject {registered.rider}" in err
    assert "111 22 33" not in out + err and registered.rider_pseudonym in out
    code, _, err = mexfi(monkeypatch, capsys, "audit", "show", "-s", "ps_nobody")
    assert code == 3 and "not one" in err
    code, _, err = mexfi(monkeypatch, capsys, "audit", "show", "-s", "f" * 32)
    assert code == 3 and "no subject" in err


def test_show_filters_by_actor_action_and_purpose(
    registered: Registered, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    everything = shown(monkeypatch, capsys)
    assert {e["actor_id"] for e in everything} == {"svc-bakikart", "svc-taxsee"}
    by_actor = shown(monkeypatch, capsys, "--actor", "svc-bakikart")
    assert by_actor and {e["actor_id"] for e in by_actor} == {"svc-bakikart"}
    # MEXFI_ACTOR (dpo-test here) is who acts, never a filter of what is shown.
    assert len(shown(monkeypatch, capsys)) == len(everything)
    created = shown(monkeypatch, capsys, "--action", "create")
    assert created and {e["action"] for e in created} == {"create"}
    both = shown(monkeypatch, capsys, "--action", "create", "--action", "register")
    assert len(both) == len(everything)
    purpose = shown(monkeypatch, capsys, "--purpose", "licence_agreement")
    assert [about(e) for e in purpose] == [{registered.driver_pseudonym}]
    combined = shown(monkeypatch, capsys, "--actor", "svc-taxsee", "--action", "register")
    assert [e["purpose"] for e in combined] == ["licence_agreement"]
    assert shown(monkeypatch, capsys, "--actor", "svc-bakikart", "--purpose", "x") == []
    code, _, err = mexfi(monkeypatch, capsys, "audit", "show", "--action", "steal")
    assert code == 3 and "'steal' is not an audit action" in err and "register" in err


def test_show_filters_by_time_range(
    registered: Registered, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    later = shown(monkeypatch, capsys, "--since", "2026-03-03T13:00:00+04:00")
    assert later and all(e["at"].startswith("2026-03-03") for e in later)
    assert all(about(e) == {registered.driver_pseudonym} for e in later)
    earlier = shown(monkeypatch, capsys, "--until", DAY_2.isoformat())
    assert [about(e) for e in earlier] == [{registered.rider_pseudonym}]
    window = shown(
        monkeypatch, capsys, "--since", "2026-03-01T00:00:00Z", "--until", "2026-03-02T10:00:00Z"
    )
    assert window == earlier
    code, _, err = mexfi(monkeypatch, capsys, "audit", "show", "--since", "yesterday")
    assert code == 3 and "ISO 8601" in err
    code, _, err = mexfi(
        monkeypatch,
        capsys,
        "audit",
        "show",
        "--since",
        DAY_2.isoformat(),
        "--until",
        DAY_1.isoformat(),
    )
    assert code == 3 and "--until is not after --since" in err


def test_show_as_text_at_80_columns_keeps_ids_whole(
    registered: Registered, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mexfi.cli.output import out

    monkeypatch.setattr(out, "_width", 80)
    code, text, _ = mexfi(monkeypatch, capsys, "audit", "show", "-s", registered.rider)
    assert code == 0
    assert registered.rider_pseudonym in text and "register/ok" in text
