"""The audit tables: the hash-chained entries, their subject index, the one-row head, the
signed checkpoints.

`audit_entries`, `audit_entry_subjects` and `audit_checkpoints` are append-only: the
service offers no update or delete, and `protect_audit_tables` installs triggers that
refuse them in the database too. The head moves with every append; it also remembers the
last checkpoint (ordinal, entry, digest), so the next one is chained to it without a query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Connection,
    Integer,
    String,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import Base

__all__ = [
    "AuditCheckpoint",
    "AuditEntry",
    "AuditEntrySubject",
    "AuditHead",
    "protect_audit_tables",
]

#: The `prev_hash` of entry 1 and the hash of the empty log; also the `prev_digest` of
#: checkpoint 1.
GENESIS_HASH = "0" * 64
#: The longest pseudonym column: "ps_" and 24 hex digits fit with room to spare.
PSEUDONYM_LENGTH = 40

# BIGINT on PostgreSQL; plain INTEGER on SQLite, where it is the rowid and costs nothing.
_Seq = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    """One recorded operation. `hash` covers every column, `seq` and `prev_hash` included."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str] = mapped_column(String(255))
    actor_role: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str | None] = mapped_column(String(255))
    policy_id: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(255), index=True)
    categories: Mapped[str] = mapped_column(Text)  # compact JSON list
    clauses: Mapped[str] = mapped_column(Text)  # compact JSON list
    count: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(255))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: A batch entry's subjects: compact JSON {pseudonym: records}, keys sorted; NULL when
    #: none. Hashed only when present, so the entries written before it keep their hashes.
    subjects: Mapped[str | None] = mapped_column(Text)


class AuditEntrySubject(Base):
    """One subject of a batch entry: the index behind "every entry about subject p" (TX-3.4).

    Derived from `AuditEntry.subjects`, which the hash covers; `verify_log` reports rows
    that disagree with it (deleted to hide an entry from a subject's access log, or added).
    """

    __tablename__ = "audit_entry_subjects"

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    subject: Mapped[str] = mapped_column(String(PSEUDONYM_LENGTH), primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer)


class AuditHead(Base):
    """The single row naming the last entry; appenders lock it, so the chain never forks."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(_Seq)
    hash: Mapped[str] = mapped_column(String(64))
    #: The last checkpoint: its ordinal (0: none yet), the entry it signs, its digest.
    checkpoint_ordinal: Mapped[int] = mapped_column(_Seq, server_default=text("0"))
    checkpoint_seq: Mapped[int] = mapped_column(_Seq, server_default=text("0"))
    checkpoint_digest: Mapped[str] = mapped_column(
        String(64), server_default=text(f"'{GENESIS_HASH}'")
    )


class AuditCheckpoint(Base):
    """An Ed25519 signature over the head as it stood at entry `seq`.

    Chained checkpoints (`ordinal` set) sign "mexfi-audit-checkpoint/2|ordinal|prev_digest|
    seq|entry_hash|at|max_gap", `at` being when it was signed; legacy ones (`ordinal` NULL,
    written every 1,000th entry before checkpoints were chained) sign
    "mexfi-audit-checkpoint|seq|entry_hash|at" with the entry's own time.
    """

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    entry_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    signature: Mapped[str] = mapped_column(String(128))  # hex
    key_fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the raw public key
    ordinal: Mapped[int | None] = mapped_column(_Seq, index=True, unique=True)
    prev_digest: Mapped[str | None] = mapped_column(String(64))
    max_gap: Mapped[int | None] = mapped_column(Integer)


@event.listens_for(AuditHead.__table__, "after_create")
def _seed_head(target: Table, connection: Connection, **_kw: Any) -> None:
    # The head exists from the start, so the first appenders have a row to lock.
    connection.execute(target.insert().values(id=1, seq=0, hash=GENESIS_HASH))


_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION mexfi_audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is refused (TX-4.2)',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$body$
"""

# (table, trigger name, row events, also refuse TRUNCATE)
_PROTECTED = (
    ("audit_entries", "audit_entries_append_only", ("UPDATE", "DELETE")),
    ("audit_entry_subjects", "audit_entry_subjects_append_only", ("UPDATE", "DELETE")),
    ("audit_checkpoints", "audit_checkpoints_append_only", ("UPDATE", "DELETE")),
    # The head moves with every append; only deleting it is refused.
    ("audit_head", "audit_head_keep", ("DELETE",)),
)


def protect_audit_tables(connection: Connection) -> None:
    """Install triggers that refuse UPDATE, DELETE and TRUNCATE of the audit tables.

    PostgreSQL: a PL/pgSQL trigger function in the store's schema; a superuser can
    still bypass it (`session_replication_role = replica`), which is what the hash
    chain and the signed checkpoints are for. SQLite: `RAISE(ABORT)` triggers.
    Idempotent: the migrations call it after creating the tables.
    """
    dialect = connection.dialect.name

    def run(sql: str) -> None:
        # No parameters: the driver must not read the `%` of RAISE as a placeholder.
        connection.exec_driver_sql(sql, execution_options={"no_parameters": True})

    if dialect == "postgresql":
        run(_PG_FUNCTION)
        for table, trigger, events in _PROTECTED:
            run(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            run(
                f"CREATE TRIGGER {trigger} BEFORE {' OR '.join(events)} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION mexfi_audit_refuse_change()"
            )
            run(f"DROP TRIGGER IF EXISTS {trigger}_truncate ON {table}")
            run(
                f"CREATE TRIGGER {trigger}_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION mexfi_audit_refuse_change()"
            )
    elif dialect == "sqlite":
        for table, trigger, events in _PROTECTED:
            for op in events:
                run(
                    f"CREATE TRIGGER IF NOT EXISTS {trigger}_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {op} on {table} "
                    "is refused (TX-4.2)'); END"
                )
