"""Shredded data keys physically gone from the key store's files (PostgreSQL).

Deleting a data key makes what it sealed unreadable at once (crypto-shredding); what is left
is the wrapped key's bytes. SQLite zeroes a deleted row in place (`secure_delete`) and the
WAL is truncated after each shredding batch. PostgreSQL never overwrites a row: VACUUM
frees a deleted row's space but leaves its bytes in the page, where a carver reading the
heap files found 39 of 40 shredded wrapped keys. Rewriting the table (`VACUUM FULL`)
copies the live rows into a new file and empties the old one.

A rewrite costs time in proportion to the whole table (0.3 s at 100,000 keys, 3 to 5 s at a
million on a 2-core machine) and holds an exclusive lock on the table while it runs, so it
does not follow every shredding commit:

- each commit that deletes data keys counts itself in `key_table_compactions`, in its own
  transaction: the rewrite it owes survives any crash;
- `compact` rewrites the table when the count runs ahead of what the last rewrite covered,
  at most once every `MEXFI_KEY_COMPACTION_MINUTES` (default 15). Each retention run calls
  it once at its end (the worker: after every run); `mexfi keys compact` runs it at once.

Until the rewrite, a shredded key lies in free space, still wrapped under a master key: the
master-key epochs (`epochs.py`) make it unreadable from epoch + backup window on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from mexfi.errors import Invalid
from mexfi.vault.bulk import is_postgres
from mexfi.vault.models import DataKey, KeyTableCompaction

if TYPE_CHECKING:  # context.py imports keys.py, which imports this module
    from mexfi.vault.context import VaultContext

__all__ = [
    "DEFAULT_COMPACTION_INTERVAL",
    "CompactionReport",
    "KeyStoreCompaction",
    "compaction_interval",
    "count_shredding",
]

#: At most one rewrite of the key table this often: at a million keys (3 to 5 s locked) that
#: is under 0.6 % of the time, and a shredded key is out of the files within the quarter hour
#: and one worker interval, well inside TX-7.7's 24 hours.
DEFAULT_COMPACTION_INTERVAL = timedelta(minutes=15)
_DATA_KEYS = cast(Table, DataKey.__table__)


def compaction_interval() -> timedelta:
    """`MEXFI_KEY_COMPACTION_MINUTES` (0 to 1440, fractions allowed), else the default."""
    value = os.environ.get("MEXFI_KEY_COMPACTION_MINUTES")
    if value is None or not value.strip():
        return DEFAULT_COMPACTION_INTERVAL
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1.0
    if not 0 <= minutes <= 1440:
        raise Invalid(
            f"MEXFI_KEY_COMPACTION_MINUTES must be a number of minutes between 0 and 1440, "
            f"got {value!r}",
            hint="unset it for the default (15 minutes)",
        )
    return timedelta(minutes=minutes)


def count_shredding(session: Session) -> None:
    """Count one shredding commit of the data-key table, in the deleting transaction
    (PostgreSQL only: SQLite zeroes deleted rows in place)."""
    if not is_postgres(session):
        return
    statement = pg_insert(KeyTableCompaction).values(
        table_name=_DATA_KEYS.name, shredded=1, compacted=0
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["table_name"],
            set_={"shredded": KeyTableCompaction.shredded + 1},
        )
    )


@dataclass(frozen=True)
class CompactionReport:
    """What one `compact` call found and did."""

    #: Shredding commits the last rewrite did not cover (before this call).
    pending: int
    #: Whether the table was rewritten now.
    rewritten: bool
    #: How long the rewrite took (the table was locked that long).
    seconds: float | None = None
    #: Throttled: the earliest time the next rewrite may run.
    not_before: datetime | None = None
    #: Why nothing needs rewriting, if nothing does ("SQLite zeroes …").
    note: str | None = None


class KeyStoreCompaction:
    """Rewrites of the data-key table that take shredded keys out of its files."""

    def __init__(self, ctx: VaultContext) -> None:
        self.ctx = ctx

    def compact(
        self, *, interval: timedelta | None = None, force: bool = False
    ) -> CompactionReport:
        """Rewrite the data-key table if a shredding since the last rewrite left keys in its
        free space and the last rewrite is `interval` old (default: from the environment);
        `force` rewrites it whatever the count and the interval say.

        Each step commits on its own; `Unavailable` if the table's lock is not granted in
        time (the count stays, and the next call tries again).
        """
        store = self.ctx.store
        if store.keys_engine.dialect.name != "postgresql":
            return CompactionReport(
                0, False, note="SQLite zeroes deleted keys in place (secure_delete)"
            )
        interval = compaction_interval() if interval is None else interval
        now = self.ctx.clock.now()
        with store.keys() as session:
            row = session.get(KeyTableCompaction, _DATA_KEYS.name)
            shredded = row.shredded if row is not None else 0
            pending = shredded - row.compacted if row is not None else 0
            last = row.compacted_at if row is not None else None
        if not force:
            if pending <= 0:
                return CompactionReport(0, False, note="no key shredded since the last rewrite")
            if last is not None and last + interval > now:
                return CompactionReport(pending, False, not_before=last + interval)
        seconds = store.rewrite(keys=[_DATA_KEYS])
        if seconds is None:  # a store bound to a test's connections: nothing committed
            return CompactionReport(pending, False, note="nothing committed to rewrite")
        with store.keys() as session:
            session.execute(
                pg_insert(KeyTableCompaction)
                .values(
                    table_name=_DATA_KEYS.name,
                    shredded=shredded,
                    compacted=shredded,
                    compacted_at=now,
                    seconds=seconds,
                )
                .on_conflict_do_update(
                    index_elements=["table_name"],
                    set_={
                        # Another rewrite may have finished meanwhile, covering more.
                        "compacted": case(
                            (KeyTableCompaction.compacted < shredded, shredded),
                            else_=KeyTableCompaction.compacted,
                        ),
                        "compacted_at": now,
                        "seconds": seconds,
                    },
                )
            )
        return CompactionReport(pending, True, seconds=seconds)

    def pending(self) -> int:
        """Shredding commits of the data-key table no rewrite has covered yet (0 on SQLite)."""
        store = self.ctx.store
        if store.keys_engine.dialect.name != "postgresql":
            return 0
        with store.keys() as session:
            row = session.execute(
                select(KeyTableCompaction.shredded, KeyTableCompaction.compacted).where(
                    KeyTableCompaction.table_name == _DATA_KEYS.name
                )
            ).first()
        return 0 if row is None else max(0, row.shredded - row.compacted)
