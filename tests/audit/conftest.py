"""Audit fixtures: a protected store, a log that checkpoints every 10 entries, raw tampering."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from mexfi.audit import AuditLog, protect_audit_tables
from mexfi.db import Store
from mexfi.secrets import Secrets

from .helpers import Tamper, make_event, superuser


@pytest.fixture
def protected(store: Store) -> Store:
    """The store with the append-only triggers installed, as the migrations will."""
    with store.records_engine.begin() as connection:
        protect_audit_tables(connection)
    return store


@pytest.fixture
def log(secrets: Secrets) -> AuditLog:
    return AuditLog(signing_key=secrets.audit_signing_key, checkpoint_every=10)


@pytest.fixture
def filled(protected: Store, log: AuditLog) -> Store:
    """50 entries (checkpoints at 10, 20, … 50), appended in three transactions."""
    for start, end in ((0, 20), (20, 35), (35, 50)):
        with protected.records() as session:
            log.append_many(session, [make_event(i) for i in range(start, end)])
    return protected


@pytest.fixture
def tamper(store: Store) -> Iterator[Tamper]:
    """Run raw SQL as a superuser would: past the triggers, bypassing the service."""

    def run(*statements: str, **params: Any) -> None:
        with superuser(store) as connection:
            for statement in statements:
                connection.execute(text(statement), params)

    yield run
