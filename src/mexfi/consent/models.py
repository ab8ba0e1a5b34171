"""The consent tables: the hash-chained ledger, its one-row head, the current state derived
from it, and the daily refusal counters.

`consent_entries` is append-only: the service offers no update or delete (a withdrawal is a
new entry). `consent_state` is derived: `rebuild_state` makes it again from the ledger.
`consent_refusals` counts refused sends per policy, notice, reason and day, and names nobody.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Connection,
    Index,
    Integer,
    String,
    Table,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import Base

__all__ = [
    "GENESIS_HASH",
    "ConsentHead",
    "ConsentLedgerEntry",
    "ConsentRefusal",
    "ConsentStateRow",
]

#: The `prev_hash` of entry 1 and the hash of the empty ledger.
GENESIS_HASH = "0" * 64

# BIGINT on PostgreSQL; INTEGER on SQLite, where it is the rowid.
_Seq = BigInteger().with_variant(Integer(), "sqlite")


class ConsentLedgerEntry(Base):
    """One recorded choice. `hash` covers every other column, `seq` and `prev_hash` included."""

    __tablename__ = "consent_entries"
    __table_args__ = (Index("ix_consent_entries_holder", "policy_id", "holder"),)

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    policy_version: Mapped[str] = mapped_column(String(40))
    #: A pseudonym (ps_… for a subject, DEVICE_… for a device), never a plain identity.
    holder: Mapped[str] = mapped_column(String(80))
    holder_kind: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    notice: Mapped[str] = mapped_column(String(80))
    choice: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    served_notice_id: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[str] = mapped_column(String(255))
    recorded_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ConsentHead(Base):
    """The single row naming the last entry; appenders lock it, so the chain never forks."""

    __tablename__ = "consent_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(_Seq)
    hash: Mapped[str] = mapped_column(String(64))


class ConsentStateRow(Base):
    """A holder's current choice on one notice: the last ledger entry about it."""

    __tablename__ = "consent_state"

    policy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    notice: Mapped[str] = mapped_column(String(80), primary_key=True)
    choice: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime]


class ConsentRefusal(Base):
    """How many sends (or collections) were refused, per policy, notice, reason and day."""

    __tablename__ = "consent_refusals"

    policy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    notice: Mapped[str] = mapped_column(String(80), primary_key=True)
    reason: Mapped[str] = mapped_column(String(80), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


@event.listens_for(ConsentHead.__table__, "after_create")
def _seed_head(target: Table, connection: Connection, **_kw: Any) -> None:
    # The head exists from the start, so the first appenders have a row to lock.
    connection.execute(target.insert().values(id=1, seq=0, hash=GENESIS_HASH))
