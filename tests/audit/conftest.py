"""Audit fixtures: a store with real commits, a log that checkpoints every 10 entries and anchors
each commit, a log filled in three units of work, raw tampering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mexfi.audit import AuditAnchor, AuditLog, protect_audit_tables
from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.migrations import upgrade_store
from mexfi.secrets import Secrets
from tests.conftest import _drop_schemas, make_store_config

from .helpers import SIGNED_AT, Tamper, make_event, superuser


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated store of its own on each backend, with real commits.

    The audit tests read, tamper with and verify the log through other connections and
    processes, as an attacker and an auditor would, so the savepoint harness (whose commits
    no other connection sees) does not fit them; `test_audit_log` tests the log inside one.
    """
    config, schemas = make_store_config(backend, tmp_path)
    made = Store(config)
    try:
        upgrade_store(made)
        yield made
    finally:
        made.dispose()
        if schemas:
            _drop_schemas(*schemas)


@pytest.fixture
def protected(store: Store) -> Store:
    """The store with the append-only triggers installed, as the migrations will."""
    with store.records_engine.begin() as connection:
        protect_audit_tables(connection)
    return store


@pytest.fixture
def audit_clock() -> FixedClock:
    """The audit log's clock: when checkpoints are signed (events carry their own times)."""
    return FixedClock(SIGNED_AT)


@pytest.fixture
def anchor(tmp_path: Path) -> AuditAnchor:
    return AuditAnchor(tmp_path / "audit-anchor.jsonl")


@pytest.fixture
def log(secrets: Secrets, audit_clock: FixedClock, anchor: AuditAnchor) -> AuditLog:
    return AuditLog(
        signing_key=secrets.audit_signing_key,
        checkpoint_every=10,
        clock=audit_clock,
        anchor=anchor,
    )


@pytest.fixture
def filled(protected: Store, log: AuditLog, audit_clock: FixedClock) -> Store:
    """50 entries appended in three units of work (1–20, 21–35, 36–50), a minute apart.

    Checkpoints: 1@10, 2@20 (commit), 3@30, 4@35 (commit), 5@45, 6@50 (commit); the anchor
    file holds the commits' ones: 2, 4 and 6.
    """
    for start, end in ((0, 20), (20, 35), (35, 50)):
        with protected.records() as session:
            log.append_many(session, [make_event(i) for i in range(start, end)])
        audit_clock.advance(minutes=1)
    return protected


@pytest.fixture
def tamper(store: Store) -> Iterator[Tamper]:
    """Run raw SQL as a superuser would: past the triggers, bypassing the service."""

    def run(*statements: str, **params: Any) -> None:
        with superuser(store) as connection:
            for statement in statements:
                connection.execute(text(statement), params)

    yield run
