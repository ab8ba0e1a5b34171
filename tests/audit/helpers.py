"""Helpers of the audit tests: varied valid events, raw reads of the stored entries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from mexfi.audit import AuditAction, AuditEntry, AuditEvent, AuditOutcome
from mexfi.db import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACTIONS = [AuditAction.CREATE, AuditAction.READ, AuditAction.DISCLOSE, AuditAction.DENY]

#: `tamper(*statements, **params)`: raw SQL past the triggers, as a superuser would.
Tamper = Callable[..., None]


def make_event(i: int, **overrides: Any) -> AuditEvent:
    """A varied, valid event: subject ps_<i % 7>, one action of four, a minute apart."""
    action = ACTIONS[i % len(ACTIONS)]
    fields: dict[str, Any] = {
        "action": action,
        "at": T0 + timedelta(minutes=i),
        "actor_id": f"staff-{i % 3}",
        "actor_role": "support",
        "outcome": AuditOutcome.DENIED if action is AuditAction.DENY else AuditOutcome.OK,
        "purpose": "licence_agreement",
        "policy_id": "taxsee-driver",
        "subject": subject(i % 7),
        "categories": ("driver.identity.name", "driver.contact.phone"),
        "clauses": ("TX-5", "TX-10"),
        "count": 1 + i % 3,
        "reason": "purpose_not_declared" if action is AuditAction.DENY else None,
        "reference": f"rec_{i:06d}",
    }
    fields.update(overrides)
    return AuditEvent(**fields)


def subject(n: int) -> str:
    """A pseudonym shaped like the vault's (ps_ + 24 hex digits)."""
    return f"ps_{n:024x}"


def rows(store: Store) -> list[dict[str, Any]]:
    """Every stored entry as a dict, in seq order."""
    with store.records() as session:
        result = session.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq))
        return [dict(row._mapping) for row in result]


@contextmanager
def superuser(store: Store) -> Iterator[Connection]:
    """A records connection past the append-only triggers, as a superuser or file owner has."""
    with store.records_engine.begin() as connection:
        if store.dialect == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            names = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).scalars()
            for name in list(names):
                connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield connection
