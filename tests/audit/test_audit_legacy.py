"""A log written before checkpoints were chained: the upgrade keeps every hash and legacy
checkpoint valid, verification raises no alarm, tampering still shows, the first commit after
the upgrade starts the chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mexfi.audit import AuditLog, VerifyReport, verify_log
from mexfi.db import Store
from mexfi.migrations import alembic_config, import_models, upgrade_store
from tests.conftest import _drop_schemas, make_store_config

from .helpers import CHECKPOINTS, append_unsigned, head, make_event, rows, superuser

BEFORE = "5e1a7c0d2b64"  # the records revision before chained checkpoints


@pytest.fixture
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def legacy(backend: str, tmp_path: Path, signer: Ed25519PrivateKey) -> Iterator[Store]:
    """25 entries and legacy checkpoints at 10 and 20, written at the revision before, then
    upgraded."""
    config, schemas = make_store_config(backend, tmp_path / "legacy")
    store = Store(config)
    try:
        import_models()
        store.create_schemas()
        with store.records_engine.begin() as connection:
            command.upgrade(alembic_config("records", connection), BEFORE)
        append_unsigned(store, 25, signer=signer, every=10)
        upgrade_store(store)
        yield store
    finally:
        store.dispose()
        if schemas:
            _drop_schemas(*schemas)


def verify(store: Store, signer: Ed25519PrivateKey) -> VerifyReport:
    with store.records() as session:
        return verify_log(session, public_key=signer.public_key())


def test_the_upgrade_keeps_the_legacy_log_valid(legacy: Store, signer: Ed25519PrivateKey) -> None:
    assert head(legacy)["checkpoint_seq"] == 20  # chained checkpoints continue from there
    report = verify(legacy, signer)
    assert report.ok and report.problems == []
    assert (report.checked, report.checkpoints, report.signed_seq) == (25, 2, 20)
    assert report.notes[1] == (
        "entries 21 to 25 were written before checkpoints were signed at every commit and no "
        "checkpoint covers them yet: the next commit, or `mexfi audit checkpoint`, signs them"
    )


def test_tampering_with_a_legacy_log_still_shows(legacy: Store, signer: Ed25519PrivateKey) -> None:
    with superuser(legacy) as connection:
        connection.exec_driver_sql("UPDATE audit_entries SET purpose = 'marketing' WHERE seq = 4")
    assert [(p.seq, p.kind.value) for p in verify(legacy, signer).problems] == [(4, "edited")]


def test_a_rewritten_legacy_log_fails_its_legacy_checkpoints(
    legacy: Store, signer: Ed25519PrivateKey
) -> None:
    from mexfi.audit import entry_hash

    from .helpers import ENTRIES, HEAD

    prev: str | None = None
    entries = rows(legacy)
    with superuser(legacy) as connection:
        for row in entries:
            if row["seq"] >= 3:
                row.update(prev_hash=prev, reason="rewritten" if row["seq"] == 3 else row["reason"])
                row["hash"] = entry_hash(row)
                connection.execute(ENTRIES.update().where(ENTRIES.c.seq == row["seq"]).values(row))
            prev = row["hash"]
        connection.execute(HEAD.update().values(hash=prev))
    problems = [(p.seq, p.kind.value) for p in verify(legacy, signer).problems]
    assert problems == [(10, "checkpoint_mismatch"), (20, "checkpoint_mismatch")]


def test_the_first_commit_after_the_upgrade_starts_the_chain(
    legacy: Store, signer: Ed25519PrivateKey
) -> None:
    log = AuditLog(signing_key=signer, checkpoint_every=10)
    with legacy.records() as session:
        log.append_many(session, [make_event(i) for i in range(25, 32)])
    signed = [(c["ordinal"], c["seq"]) for c in rows(legacy, CHECKPOINTS)]
    assert signed == [(None, 10), (None, 20), (1, 30), (2, 32)]
    report = verify(legacy, signer)
    assert report.ok and report.signed_seq == 32
    assert report.notes == [
        "no anchor file was given: a store cut back or restored together with its head and "
        "checkpoints cannot be told from an untouched one"
    ]
