"""Helpers of the audit tests: varied valid events, raw reads of the stored rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, select

from mexfi.audit import (
    AuditAction,
    AuditCheckpoint,
    AuditEntry,
    AuditEvent,
    AuditHead,
    AuditOutcome,
)
from mexfi.db import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: When the audit log's clock says checkpoints are signed: later than every event.
SIGNED_AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ACTIONS = [AuditAction.CREATE, AuditAction.READ, AuditAction.DISCLOSE, AuditAction.DENY]

#: `tamper(*statements, **params)`: raw SQL past the triggers, as a superuser would.
Tamper = Callable[..., None]

ENTRIES: Table = AuditEntry.__table__  # type: ignore[assignment]
CHECKPOINTS: Table = AuditCheckpoint.__table__  # type: ignore[assignment]
HEAD: Table = AuditHead.__table__  # type: ignore[assignment]


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


def rows(store: Store, table: Table = ENTRIES) -> list[dict[str, Any]]:
    """Every stored row of `table` (the entries by default) as a dict, in key order."""
    with store.records() as session:
        key = table.c.seq if "seq" in table.c else table.c.id
        return [dict(row._mapping) for row in session.execute(select(table).order_by(key))]


def head(store: Store) -> dict[str, Any]:
    with store.records() as session:
        return dict(session.execute(select(HEAD)).one()._mapping)


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


def append_unsigned(store: Store, count: int, *, signer: Any = None, every: int = 0) -> None:
    """Append `count` entries as a release before chained checkpoints did: hashed and chained,
    the head moved, and (with `signer`, an Ed25519 private key) a legacy checkpoint every
    `every` entries, signed over the entry's own time."""
    from mexfi.audit import checkpoint_message, entry_hash, key_fingerprint

    with superuser(store) as connection:
        top = connection.execute(select(HEAD.c.seq, HEAD.c.hash)).one_or_none()
        seq, prev = (int(top.seq), str(top.hash)) if top is not None else (0, "0" * 64)
        for _ in range(count):
            seq += 1
            event = make_event(seq - 1)
            row: dict[str, Any] = {
                "seq": seq,
                "at": event.at,
                "actor_id": event.actor_id,
                "actor_role": event.actor_role,
                "action": event.action.value,
                "outcome": event.outcome.value,
                "purpose": event.purpose,
                "policy_id": event.policy_id,
                "subject": event.subject,
                "categories": '["driver.identity.name","driver.contact.phone"]',
                "clauses": '["TX-5","TX-10"]',
                "count": event.count,
                "reason": event.reason,
                "reference": event.reference,
                "prev_hash": prev,
            }
            prev = row["hash"] = entry_hash(row)
            connection.execute(ENTRIES.insert().values(row))
            if signer is not None and every and seq % every == 0:
                message = checkpoint_message(seq, prev, event.at)
                connection.execute(
                    CHECKPOINTS.insert().values(
                        seq=seq,
                        entry_hash=prev,
                        at=event.at,
                        signature=signer.sign(message).hex(),
                        key_fingerprint=key_fingerprint(signer.public_key()),
                    )
                )
        if top is None:
            connection.execute(HEAD.insert().values(id=1, seq=seq, hash=prev))
        else:
            connection.execute(HEAD.update().values(seq=seq, hash=prev))
