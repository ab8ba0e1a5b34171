"""The rewrite that takes shredded keys out of the key store's files (PostgreSQL): owed by
every shredding commit, kept count of across crashes and runs, paid once a retention run
at most every MEXFI_KEY_COMPACTION_MINUTES, never queueing readers behind a long wait for
its lock; nothing to do on SQLite, which zeroes deleted rows in place.

`test_destruction_physical.py` carves the files; this checks when the rewrite runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

import mexfi.db
from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.errors import Invalid, Unavailable
from mexfi.retention import RetentionEngine
from mexfi.vault import Vault
from tests.cli.runner import Cli, point_cli_at_store
from tests.security.test_key_confusion import _clear_key_env
from tests.vault.conftest import SYSTEM
from tests.vault.test_vault import register_driver


def _destroy_one(vault: Vault) -> None:
    """Register a driver and destroy its registration: one shredding commit."""
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    with vault.unit_of_work() as uow:
        vault.destroy(
            uow, driver, ["registration"], reason="retention", actor=SYSTEM, clauses=["TX-7.7"]
        )


def test_each_shredding_commit_owes_one_rewrite_of_the_key_table(
    fresh_vault: Vault, backend: str
) -> None:
    _destroy_one(fresh_vault)
    _destroy_one(fresh_vault)
    if backend == "sqlite":
        assert fresh_vault.shreddings_pending_compaction() == 0
        report = fresh_vault.compact_key_store()
        assert not report.rewritten and "SQLite zeroes" in (report.note or "")
        return
    assert fresh_vault.shreddings_pending_compaction() == 2
    report = fresh_vault.compact_key_store()
    assert report.rewritten and report.pending == 2
    assert report.seconds is not None and report.seconds >= 0
    assert fresh_vault.shreddings_pending_compaction() == 0
    # Nothing owed: nothing rewritten (the table stays unlocked).
    again = fresh_vault.compact_key_store()
    assert not again.rewritten and again.pending == 0


def test_a_bound_store_owes_nothing_it_could_rewrite(vault: Vault) -> None:
    """A store inside a test's transaction counts, but has nothing committed to rewrite."""
    _destroy_one(vault)
    report = vault.compact_key_store(force=True)
    assert not report.rewritten


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_the_rewrite_waits_out_its_interval_unless_forced(
    fresh_vault: Vault, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _destroy_one(fresh_vault)
    assert fresh_vault.compact_key_store().rewritten
    rewritten_at = clock.now()
    _destroy_one(fresh_vault)
    clock.advance(minutes=14)
    waiting = fresh_vault.compact_key_store()
    assert not waiting.rewritten and waiting.pending == 1
    assert waiting.not_before == rewritten_at + timedelta(minutes=15)
    assert fresh_vault.shreddings_pending_compaction() == 1
    # An operator who wants it now (`mexfi keys compact`) does not wait.
    assert fresh_vault.compact_key_store(interval=timedelta(0)).rewritten
    _destroy_one(fresh_vault)
    monkeypatch.setenv("MEXFI_KEY_COMPACTION_MINUTES", "0")
    assert fresh_vault.compact_key_store().rewritten
    # Forced, it rewrites with nothing owed; the interval's setting is checked.
    assert fresh_vault.compact_key_store(force=True).rewritten
    for wrong in ("a quarter hour", "-1", "2000"):
        monkeypatch.setenv("MEXFI_KEY_COMPACTION_MINUTES", wrong)
        _destroy_one(fresh_vault)
        with pytest.raises(Invalid, match="MEXFI_KEY_COMPACTION_MINUTES must be"):
            fresh_vault.compact_key_store()


@pytest.fixture
def locked_data_keys(fresh_store: Store) -> Iterator[None]:
    """Another session reading data_keys in a long transaction (its lock held)."""
    with fresh_store.keys_engine.connect() as other:
        transaction = other.begin()
        other.execute(text("LOCK TABLE data_keys IN ACCESS SHARE MODE"))
        try:
            yield
        finally:
            transaction.rollback()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_rewrite_refused_its_lock_gives_up_quickly_and_the_next_run_pays_it(
    fresh_vault: Vault, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setattr(mexfi.db, "REWRITE_LOCK_TIMEOUT_MS", 300)
    _destroy_one(fresh_vault)
    request.getfixturevalue("locked_data_keys")
    with pytest.raises(Unavailable, match="data_keys could not be rewritten") as refused:
        fresh_vault.compact_key_store()
    assert "next retention run" in (refused.value.hint or "")
    # The retention run reports it (the run is partial) and the count stays owed: the next
    # run pays it (below).
    report = RetentionEngine(fresh_vault).run()
    assert report.status == "partial"
    assert [e.where for e in report.errors] == ["key-store compaction"]
    assert report.key_store_rewritten_in is None
    assert fresh_vault.shreddings_pending_compaction() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_the_next_run_pays_the_rewrite_a_locked_run_owed(
    fresh_vault: Vault, monkeypatch: pytest.MonkeyPatch, fresh_store: Store
) -> None:
    monkeypatch.setattr(mexfi.db, "REWRITE_LOCK_TIMEOUT_MS", 300)
    _destroy_one(fresh_vault)
    with fresh_store.keys_engine.connect() as other:
        transaction = other.begin()
        other.execute(text("LOCK TABLE data_keys IN ACCESS SHARE MODE"))
        assert RetentionEngine(fresh_vault).run().status == "partial"
        transaction.rollback()
    report = RetentionEngine(fresh_vault).run()
    assert report.status == "complete" and report.key_store_rewritten_in is not None
    assert fresh_vault.shreddings_pending_compaction() == 0


def test_keys_compact_rewrites_at_once(
    fresh_store: Store,
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # MEXFI_POLICY_DIR stays unset here, as this test always had it.
    point_cli_at_store(monkeypatch, fresh_store.config, tmp_path, policies=None)
    _clear_key_env(monkeypatch)
    mexfi = Cli(monkeypatch, capsys)
    assert mexfi("keys", "init")[0] == 0
    code, out, err = mexfi("keys", "compact", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rewritten"] is False and report["pending"] == 0
    code, out, err = mexfi("keys", "compact", "--force")
    assert code == 0, err
    if backend == "sqlite":
        assert "nothing rewritten: SQLite zeroes deleted keys in place" in out
    else:
        assert out.startswith("rewrote the data-key table in ")
