"""Master-key epochs: destroyed data stays destroyed in an old key-store backup.

The attack: a thief (or a careless restore) holds a key-store backup taken before some
drivers were destroyed, a records backup of the same age, and the current key file. Until
the master key of that backup is retired, every destroyed driver's registration opens
again; once the data keys are rewrapped under a new master key and the old one is retired
after the backup window, none does, and every live driver still reads.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from mexfi.audit import AuditAction, read_entries
from mexfi.cli.app import app
from mexfi.clock import FixedClock
from mexfi.db import Store, StoreConfig, open_store
from mexfi.errors import Conflict, Unavailable
from mexfi.policy import Policy
from mexfi.retention import RetentionEngine
from mexfi.secrets import (
    Secrets,
    add_master_key,
    init_audit_key,
    init_key_file,
    load_secrets,
    remove_master_keys,
)
from mexfi.vault import Actor, EpochSettings, Vault
from mexfi.vault.crypto import AESGCM, DecryptionFailed, unwrap_key, wrap_aad
from mexfi.vault.models import DataKey, MasterKeyEpoch, Record
from mexfi.vault.sealing import open_record, python_values
from tests.cli.test_exit_codes import run
from tests.conftest import _drop_schemas, _migrated, make_store_config
from tests.vault.conftest import DPO, DRIVER, SYSTEM

DESTROYED = 20
KEPT = 5
WINDOW = timedelta(days=1)
SETTINGS = EpochSettings(epoch=timedelta(days=1), backup_window=WINDOW)
WORKER = Actor("mexfi-worker", "system")


def _rng() -> random.Random:
    seed = int(os.environ.get("MEXFI_TEST_SEED") or int.from_bytes(os.urandom(4), "big"))
    print(f"master-key epochs test seed: {seed} (MEXFI_TEST_SEED={seed} repeats the values)")
    return random.Random(seed)


def _registration(rng: random.Random) -> dict[str, Any]:
    digits = "".join(rng.choice("0123456789") for _ in range(7))
    return {
        **DRIVER,
        "full_name": f"Sürücü {rng.randrange(10**9)} oğlu",
        "phone": f"+994 55 {digits[:3]} {digits[3:5]} {digits[5:]}",
        "photo": rng.randbytes(48),
    }


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A key file of this test's own (the one `mexfi keys init` writes), no keys from env."""
    for name in (
        "MEXFI_MASTER_KEY",
        "MEXFI_INDEX_KEY",
        "MEXFI_PSEUDONYM_KEY",
        "MEXFI_AUDIT_SIGNING_KEY",
        "MEXFI_KEY_EPOCH_DAYS",
        "MEXFI_BACKUP_WINDOW_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "secrets" / "keys.json"
    monkeypatch.setenv("MEXFI_KEY_FILE", str(path))
    monkeypatch.setenv("MEXFI_AUDIT_KEY_FILE", str(tmp_path / "secrets" / "audit-signing.key"))
    init_key_file(path)
    init_audit_key()
    return path


@pytest.fixture
def epoch_vault(
    fresh_store: Store, policies: dict[str, Policy], clock: FixedClock, key_file: Path
) -> Vault:
    return Vault(fresh_store, policies, load_secrets(), clock=clock)


def _master_ids(key_file: Path) -> list[str]:
    return [item["id"] for item in json.loads(key_file.read_text())["master_keys"]]


def _key_entries(store: Store) -> list[tuple[str, str, str | None, str | None, int]]:
    """The audit log's master-key entries: (action, actor, reason, key id, count)."""
    with store.records() as session:
        entries = read_entries(session, actions=[AuditAction.KEY_ROTATE, AuditAction.KEY_RETIRE])
    for entry in entries:
        # Codes and ids only: no subject, no category, no purpose.
        assert entry.subject is None and entry.subjects == {} and entry.categories == ()
        assert entry.purpose is None and entry.policy_id is None
    return [(e.action.value, e.actor_id, e.reason, e.reference, e.count) for e in entries]


# --------------------------------------------------------------------------- backups


@contextmanager
def _backup(store: Store, where: Path) -> Iterator[Store]:
    """A copy of both stores as a backup holds them: SQLite's online backup of each file;
    on PostgreSQL, every row of every table copied into schemas of their own."""
    where.mkdir()
    if store.is_sqlite:
        urls = []
        for engine, name in ((store.records_engine, "records"), (store.keys_engine, "keys")):
            target = where / f"{name}.sqlite"
            with (
                sqlite3.connect(str(engine.url.database)) as source,
                sqlite3.connect(target) as copy,
            ):
                source.backup(copy)
            urls.append(f"sqlite:///{target}")
        copy_store = Store(StoreConfig(records_url=urls[0], keys_url=urls[1]))
        try:
            yield copy_store
        finally:
            copy_store.dispose()
        return
    config, schemas = make_store_config("postgres", where)
    copy_store = _migrated(config)
    parts = [
        (
            store.records_engine,
            [
                (store.config.records_schema, config.records_schema),
                (store.config.passive_schema, config.passive_schema),
            ],
        ),
        (store.keys_engine, [(store.config.keys_schema, config.keys_schema)]),
    ]
    for live_engine, pairs in parts:
        with live_engine.begin() as connection:
            # Foreign keys are the source's business: the copy takes its rows as they are.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for from_schema, to_schema in pairs:
                tables = connection.scalars(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :s AND table_type = 'BASE TABLE' "
                        "AND table_name <> 'alembic_version'"
                    ),
                    {"s": from_schema},
                ).all()
                for table in tables:
                    connection.execute(text(f'DELETE FROM "{to_schema}"."{table}"'))
                    connection.execute(
                        text(
                            f'INSERT INTO "{to_schema}"."{table}" '
                            f'SELECT * FROM "{from_schema}"."{table}"'
                        )
                    )
    try:
        yield copy_store
    finally:
        copy_store.dispose()
        _drop_schemas(*schemas)


def _readable_registrations(
    store: Store, secrets: Secrets, drivers: list[str], policy: Policy
) -> int:
    """How many of `drivers` have a registration that opens with `secrets` alone: the
    attacker's way, straight from the tables (no vault, no policy check, no audit)."""
    with store.keys() as session:
        keys = {
            row.id: row
            for row in session.scalars(select(DataKey).where(DataKey.subject_id.in_(drivers)))
        }
    with store.records() as session:
        records = list(
            session.scalars(
                select(Record).where(
                    Record.subject_id.in_(drivers), Record.category == "registration"
                )
            )
        )
    types = {f.name: f.type for f in policy.category("registration").fields}
    readable = set()
    for record in records:
        key = keys.get(record.key_id)
        if key is None:
            continue
        try:
            master = secrets.master(key.master_key_id)
        except Unavailable:
            continue  # the master key is retired: the wrapped key is noise
        dek = unwrap_key(
            master.key, key.wrapped, wrap_aad(key.id, key.subject_id, key.category, key.tier)
        )
        place = (policy.id, record.subject_id, record.id, record.category, "active")
        try:
            plaintext = open_record(AESGCM(dek), record.payload, record.format, place, types)
        except DecryptionFailed:
            continue
        if python_values(types, plaintext)["full_name"].startswith("Sürücü"):
            readable.add(record.subject_id)
    return len(readable)


def _register_drivers(vault: Vault, clock: FixedClock) -> tuple[list[str], list[str]]:
    """Drivers past TX-7.7's 24 hours (the retention run destroys them), and fresh ones."""
    rng = _rng()
    old = clock.now() - timedelta(days=2)

    def register(at: Any) -> str:
        return vault.register(
            uow,
            policy_id="taxsee_driver",
            kind="driver",
            actor=SYSTEM,
            purpose="licence_agreement",
            records={"registration": _registration(rng)},
            at=at,
        ).id

    with vault.unit_of_work() as uow:
        doomed = [register(old) for _ in range(DESTROYED)]
        kept = [register(None) for _ in range(KEPT)]
    return doomed, kept


# --------------------------------------------------------------------------- the attack


def test_tx_7_7_an_old_key_store_backup_opens_nothing_once_its_master_key_is_retired(
    epoch_vault: Vault, clock: FixedClock, key_file: Path, tmp_path: Path
) -> None:
    vault = epoch_vault
    policy = vault.policy("taxsee_driver")
    doomed, kept = _register_drivers(vault, clock)
    first_master = _master_ids(key_file)[0]
    with _backup(vault.store, tmp_path / "backup") as old_backup:
        assert _readable_registrations(old_backup, load_secrets(), doomed, policy) == DESTROYED

        report = RetentionEngine(vault).run()
        assert report.status == "complete"
        assert _readable_registrations(vault.store, load_secrets(), doomed, policy) == 0

        rotation = vault.rotate_master_key(actor=DPO, batch_size=4)
        assert rotation.added is not None and rotation.added != first_master
        assert rotation.rewrapped >= KEPT
        assert _master_ids(key_file) == [rotation.added, first_master]
        with vault.unit_of_work() as uow:
            assert vault.keys_pending_rotation(uow) == 0

        # Within the backup window the old key stays: the backup is still a backup, and
        # so the destroyed drivers still open from it. (The test can fail: this is why.)
        kept_early = vault.retire_master_keys(actor=DPO, backup_window=WINDOW)
        assert kept_early.retired == () and kept_early.retirable == ()
        assert _readable_registrations(old_backup, load_secrets(), doomed, policy) == DESTROYED

        clock.advance(WINDOW + timedelta(minutes=1))
        dry = vault.retire_master_keys(actor=DPO, backup_window=WINDOW, dry_run=True)
        assert dry.retirable == (first_master,) and dry.retired == ()
        assert first_master in _master_ids(key_file)
        retirement = vault.retire_master_keys(actor=DPO, backup_window=WINDOW)
        assert retirement.retired == (first_master,)
        assert _master_ids(key_file) == [rotation.added]
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert "superseded" not in key_file.read_text()  # times go to the key store

        # The old backup restored with the current key file: 0 of the destroyed drivers.
        current = load_secrets()
        assert _readable_registrations(old_backup, current, doomed, policy) == 0
        assert _readable_registrations(old_backup, current, kept, policy) == 0
        # Live data lost nothing: every kept driver opens, the vault reads it too.
        assert _readable_registrations(vault.store, current, kept, policy) == KEPT
        with vault.store.keys() as session:
            epoch = session.get(MasterKeyEpoch, first_master)
            assert epoch is not None and epoch.retired_at == clock.now()
            assert epoch.superseded_at is not None
            assert epoch.retired_at - epoch.superseded_at > WINDOW
        # Audited: codes, key ids and counts, by who did it.
        assert _key_entries(vault.store) == [
            ("key_rotate", "dpo-1", "master_key_added", rotation.added, 0),
            ("key_rotate", "dpo-1", "data_keys_rewrapped", rotation.added, rotation.rewrapped),
            ("key_retire", "dpo-1", "master_key_retired", first_master, 0),
        ]


def test_an_interrupted_rotation_resumes_and_blocks_retirement_until_done(
    epoch_vault: Vault, clock: FixedClock, key_file: Path
) -> None:
    vault = epoch_vault
    policy = vault.policy("taxsee_driver")
    _, drivers = _register_drivers(vault, clock)
    first_master = _master_ids(key_file)[0]
    with vault.store.keys() as session:
        total = session.scalar(select(func.count()).select_from(DataKey)) or 0

    batches = []

    def crash_after_first_batch(count: int) -> None:
        batches.append(count)
        raise RuntimeError("killed mid-rotation")

    with pytest.raises(RuntimeError, match="killed mid-rotation"):
        vault.rotate_master_key(actor=DPO, batch_size=2, on_batch=crash_after_first_batch)
    new_master = _master_ids(key_file)[0]
    assert new_master != first_master and batches == [2]
    with vault.unit_of_work() as uow:
        assert vault.keys_pending_rotation(uow) == total - 2
    # Half-rotated, everything still reads (each key under one of the two masters).
    assert _readable_registrations(vault.store, load_secrets(), drivers, policy) == KEPT

    # Past the window the old key still wraps live data keys: it must stay.
    clock.advance(WINDOW * 3)
    blocked = vault.retire_master_keys(actor=DPO, backup_window=WINDOW)
    assert blocked.retired == ()
    [old] = [k for k in blocked.keys if k.id == first_master]
    assert old.live_data_keys == total - 2 and not old.retirable
    assert first_master in _master_ids(key_file)

    resumed = vault.rotate_master_key(actor=DPO, new_key=False, batch_size=3)
    assert resumed.added is None and resumed.rewrapped == total - 2
    assert _master_ids(key_file) == [new_master, first_master]
    # The window counts from the supersession, seen when the rotation began.
    assert vault.retire_master_keys(actor=DPO, backup_window=WINDOW).retired == (first_master,)
    assert _readable_registrations(vault.store, load_secrets(), drivers, policy) == KEPT


def test_the_worker_schedule_rotates_each_epoch_and_retires_after_the_window(
    epoch_vault: Vault, clock: FixedClock, key_file: Path
) -> None:
    vault = epoch_vault
    _register_drivers(vault, clock)
    [k1] = _master_ids(key_file)
    first = vault.maintain_master_keys(SETTINGS, actor=WORKER)
    assert first.rotation is None and first.retirement.retired == ()

    clock.advance(hours=23)
    assert vault.maintain_master_keys(SETTINGS, actor=WORKER).rotation is None

    clock.advance(hours=1)
    second = vault.maintain_master_keys(SETTINGS, actor=WORKER)
    assert second.rotation is not None and second.rotation.added is not None
    k2 = second.rotation.added
    assert second.retirement.retired == ()  # k1 superseded just now
    assert _master_ids(key_file) == [k2, k1]

    clock.advance(days=1)
    third = vault.maintain_master_keys(SETTINGS, actor=WORKER)
    assert third.rotation is not None and third.rotation.added is not None
    assert third.retirement.retired == (k1,)
    assert _master_ids(key_file) == [third.rotation.added, k2]
    k3 = third.rotation.added
    assert [entry[:4] for entry in _key_entries(vault.store)] == [
        ("key_rotate", "mexfi-worker", "master_key_added", k2),
        ("key_rotate", "mexfi-worker", "data_keys_rewrapped", k2),
        ("key_rotate", "mexfi-worker", "master_key_added", k3),
        ("key_rotate", "mexfi-worker", "data_keys_rewrapped", k3),
        ("key_retire", "mexfi-worker", "master_key_retired", k1),
    ]


# --------------------------------------------------------------------------- the key file


def test_concurrent_rotations_lose_no_master_key(key_file: Path) -> None:
    errors: list[BaseException] = []

    def add_some() -> None:
        try:
            for _ in range(8):
                add_master_key()
        except BaseException as exc:  # reported below: a thread's error is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=add_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = _master_ids(key_file)
    assert len(ids) == len(set(ids)) == 1 + 4 * 8
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not list(key_file.parent.glob("*.partial"))


def test_the_current_master_key_is_never_removed(key_file: Path) -> None:
    [current] = _master_ids(key_file)
    with pytest.raises(Conflict, match="current"):
        remove_master_keys([current])
    assert _master_ids(key_file) == [current]


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    for name in (
        "MEXFI_DATABASE_URL",
        "MEXFI_KEYSTORE_URL",
        "MEXFI_KEY_FILE",
        "MEXFI_MASTER_KEY",
        "MEXFI_INDEX_KEY",
        "MEXFI_PSEUDONYM_KEY",
        "MEXFI_AUDIT_SIGNING_KEY",
        "MEXFI_AUDIT_KEY_FILE",
        "MEXFI_KEY_EPOCH_DAYS",
        "MEXFI_BACKUP_WINDOW_DAYS",
        "MEXFI_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


def test_rotate_and_retire_with_keys_from_the_environment_say_what_to_do(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import base64

    def b64() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    monkeypatch.setenv("MEXFI_MASTER_KEY", f"mk-env-2:{b64()},mk-env-1:{b64()}")
    monkeypatch.setenv("MEXFI_INDEX_KEY", b64())
    monkeypatch.setenv("MEXFI_PSEUDONYM_KEY", b64())
    monkeypatch.setenv("MEXFI_AUDIT_SIGNING_KEY", b64())

    # One refusal each, before anything is opened or written, saying what to do instead.
    for command, to_do in (("rotate", "keys rotate --resume"), ("retire", "--dry-run")):
        code, err = run(monkeypatch, capsys, "keys", command)
        flat = " ".join(err.split())
        assert code == 3, err
        assert "MEXFI_MASTER_KEY is set: the master keys come from the environment" in flat
        assert to_do in flat
        assert not cli_env.exists()

    # What they can do: rewrap under the key they put first, and list what to remove.
    assert run(monkeypatch, capsys, "init")[0] == 0
    assert run(monkeypatch, capsys, "keys", "rotate", "--resume")[0] == 0
    monkeypatch.setenv("MEXFI_BACKUP_WINDOW_DAYS", "0")
    assert run(monkeypatch, capsys, "keys", "retire", "--dry-run")[0] == 0
    monkeypatch.setenv("MEXFI_BACKUP_WINDOW_DAYS", "a week")
    code, err = run(monkeypatch, capsys, "keys", "retire", "--dry-run")
    assert code == 3 and "MEXFI_BACKUP_WINDOW_DAYS must be a number of days" in err


def test_keys_rotate_and_retire_from_the_command_line(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    key_file = cli_env / "keys.json"
    [first] = _master_ids(key_file)
    generated = runner.invoke(app, ["generate", "--riders", "3", "--drivers", "2", "--days", "1"])
    assert generated.exit_code == 0, generated.output

    rotated = runner.invoke(app, ["keys", "rotate", "--batch-size", "2", "--format", "json"])
    assert rotated.exit_code == 0, rotated.output
    rotation = json.loads(rotated.stdout)
    assert rotation["added"] == rotation["master_key_id"] != first
    assert rotation["rewrapped"] > 5
    assert _master_ids(key_file) == [rotation["added"], first]

    # The default window (1 day) has not passed: nothing to retire.
    dry = runner.invoke(app, ["keys", "retire", "--dry-run", "--format", "json"])
    assert dry.exit_code == 0, dry.output
    listing = json.loads(dry.stdout)
    assert listing["backup_window_days"] == 1 and listing["retirable"] == []
    assert [k["live_data_keys"] for k in listing["keys"]][1] == 0

    window_over = {"MEXFI_BACKUP_WINDOW_DAYS": "0"}
    dry = runner.invoke(app, ["keys", "retire", "--dry-run", "--format", "json"], env=window_over)
    assert json.loads(dry.stdout)["retirable"] == [first]
    assert _master_ids(key_file) == [rotation["added"], first]  # a dry run changes nothing
    retired = runner.invoke(app, ["keys", "retire", "--format", "json"], env=window_over)
    assert retired.exit_code == 0, retired.output
    assert json.loads(retired.stdout)["retired"] == [first]
    assert _master_ids(key_file) == [rotation["added"]]
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    store = open_store()
    try:
        assert _key_entries(store) == [
            ("key_rotate", "dpo-test", "master_key_added", rotation["added"], 0),
            ("key_rotate", "dpo-test", "data_keys_rewrapped", rotation["added"],
             rotation["rewrapped"]),
            ("key_retire", "dpo-test", "master_key_retired", first, 0),
        ]  # fmt: skip
    finally:
        store.dispose()
    # Who acts is always said: without MEXFI_ACTOR or --actor, nothing rotates.
    without_actor = runner.invoke(app, ["keys", "rotate"], env={"MEXFI_ACTOR": None})
    assert without_actor.exit_code == 2 and _master_ids(key_file) == [rotation["added"]]

    for args in (["keys", "retire", "--help"], ["keys", "rotate", "--help"]):
        assert runner.invoke(app, args).exit_code == 0


def test_a_rotation_killed_mid_way_resumes_from_the_command_line(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    key_file = cli_env / "keys.json"
    [first] = _master_ids(key_file)
    generated = runner.invoke(app, ["generate", "--riders", "4", "--drivers", "2", "--days", "1"])
    assert generated.exit_code == 0, generated.output
    killed = subprocess.run(
        [sys.executable, "-m", "mexfi", "keys", "rotate", "--batch-size", "3"],
        env={**os.environ, "MEXFI_TEST_CRASH_AT": "keys.rotate-batch-committed#2"},
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    new, old = _master_ids(key_file)
    assert old == first

    store = open_store()
    try:
        with store.keys() as session:
            by_master = dict(
                session.execute(
                    select(DataKey.master_key_id, func.count()).group_by(DataKey.master_key_id)
                ).all()
            )
        assert by_master[new] == 6 and by_master[first] > 0  # two batches of 3 committed
        resumed = runner.invoke(app, ["keys", "rotate", "--resume", "--format", "json"])
        assert resumed.exit_code == 0, resumed.output
        assert json.loads(resumed.stdout) == {
            "added": None,
            "rewrapped": by_master[first],
            "master_key_id": new,
        }
        with store.keys() as session:
            masters = set(session.scalars(select(DataKey.master_key_id).distinct()))
        assert masters == {new}
    finally:
        store.dispose()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_the_worker_rotates_when_the_epoch_is_over(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    [first] = _master_ids(cli_env / "keys.json")
    result = runner.invoke(
        app,
        ["worker", "--max-runs", "1", "--interval", "0"],
        env={"MEXFI_KEY_EPOCH_DAYS": "0"},
    )
    assert result.exit_code == 0, result.output
    ids = _master_ids(cli_env / "keys.json")
    assert len(ids) == 2 and ids[1] == first
    assert f"data keys rewrapped under {ids[0]}" in " ".join(result.output.split())
    store = open_store()
    try:
        assert [entry[:4] for entry in _key_entries(store)] == [
            ("key_rotate", "mexfi-worker", "master_key_added", ids[0]),
            ("key_rotate", "mexfi-worker", "data_keys_rewrapped", ids[0]),
        ]
    finally:
        store.dispose()
