"""Tables of the vault. Record-side tables hold ciphertext and ids; data keys live apart."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import PASSIVE_SCHEMA, Base, KeyBase

__all__ = [
    "AppSession",
    "DataKey",
    "DestructionEvidence",
    "Disclosure",
    "FreeTextFinding",
    "KeyTableCompaction",
    "LawfulDemand",
    "MasterKeyEpoch",
    "OrderLink",
    "PassiveRecord",
    "QuarantinedRecord",
    "Record",
    "RecordColumns",
    "RequestBasis",
    "Subject",
    "WrittenConsent",
]

ID = String(32)


class Subject(Base):
    """A rider, driver or customer. No personal value here: the phone is a blind index,
    truncated so that many numbers share each value (`vault/phone_index.py`)."""

    __tablename__ = "subjects"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(80))
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    #: The old full HMAC of the phone: always NULL since the `blind_index_v2` migration,
    #: which cannot drop it on SQLite without copying the table (its unique constraint).
    phone_index: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    #: The phone's truncated blind index, in [0, 2**bits) and shared by many numbers; -1
    #: while waiting for `mexfi keys reindex` (`phone_index.REINDEX`).
    phone_bucket: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="active")
    registered_at: Mapped[datetime]
    status_changed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("policy_id", "phone_index", name="uq_subjects_policy_phone_index"),
        # Not unique: subjects share values by design; lookups confirm by decrypting.
        Index("ix_subjects_policy_phone_bucket", "policy_id", "phone_bucket"),
        # Counting a policy's subjects of a kind by age (dry runs of the retention sweeps).
        Index("ix_subjects_policy_kind_registered", "policy_id", "kind", "registered_at"),
        # The sweeps page through a policy's subjects of a kind by id (a keyset).
        Index("ix_subjects_policy_kind_id", "policy_id", "kind", "id"),
    )


class RecordColumns:
    """The columns a record has in either tier."""

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    category: Mapped[str] = mapped_column(String(80))
    collected_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    #: The data key (of this tier) the record is sealed under.
    key_id: Mapped[str] = mapped_column(ID)
    #: How `payload` is sealed: 1, one ciphertext per field; 2, one per record (`sealing.py`).
    format: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    subject_id: Mapped[str]


class Record(RecordColumns, Base):
    """One record of one category of one subject: every field encrypted on its own."""

    __tablename__ = "records"

    subject_id: Mapped[str] = mapped_column(ID, ForeignKey("subjects.id"))

    __table_args__ = (
        # A subject's records of a category in time order: reads, exports, due records.
        Index(
            "ix_records_subject_category_collected", "subject_id", "category", "collected_at", "id"
        ),
        Index("ix_records_category_collected_at", "category", "collected_at"),
        # Shredding deletes the rows of the keys it destroyed.
        Index("ix_records_key_id", "key_id"),
        # `mexfi keys reseal` finds what is left in the old format.
        Index(
            "ix_records_format_v1",
            "id",
            postgresql_where=text("format = 1"),
            sqlite_where=text("format = 1"),
        ),
    )


class PassiveRecord(RecordColumns, Base):
    """A record past its active period (BK-3.3): its own schema, its own data keys.

    Ordinary service reads never reach this table; only purposes that declare
    `reaches_passive_tier` (the subject's requests, lawful requests) do.
    """

    __tablename__ = "passive_records"

    # No foreign key: SQLite keeps none across its schema placeholder, and a passive record
    # goes with its subject's destruction like any other.
    subject_id: Mapped[str] = mapped_column(ID)

    moved_at: Mapped[datetime]
    rule_id: Mapped[str] = mapped_column(String(80))

    __table_args__ = (
        Index(
            "ix_passive_records_subject_category_collected",
            "subject_id",
            "category",
            "collected_at",
            "id",
        ),
        Index("ix_passive_records_key_id", "key_id"),
        Index(
            "ix_passive_records_format_v1",
            "id",
            postgresql_where=text("format = 1"),
            sqlite_where=text("format = 1"),
        ),
        {"schema": PASSIVE_SCHEMA},
    )


class QuarantinedRecord(Base):
    """A record that would not open (its authentication failed), moved aside so sweeps go on.

    Evidence, never plaintext: where it was, the key it names, a digest of its ciphertext
    and the ciphertext itself, still sealed under that key, so shredding the key (or the
    subject) destroys it like any other record.
    """

    __tablename__ = "quarantined_records"

    #: The record's own id.
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80), index=True)
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    category: Mapped[str] = mapped_column(String(80))
    #: The tier the record was in.
    tier: Mapped[str] = mapped_column(String(16))
    collected_at: Mapped[datetime]
    #: Shredding deletes the rows of the keys it destroyed, here too.
    key_id: Mapped[str] = mapped_column(ID, index=True)
    format: Mapped[int] = mapped_column(SmallInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    #: Why: `authentication_failed`.
    reason: Mapped[str] = mapped_column(String(80))
    #: The rule or operation that found it.
    detected_by: Mapped[str] = mapped_column(String(80))
    quarantined_at: Mapped[datetime]


class FreeTextFinding(Base):
    """Personal data found in a free-text field on write (TX-23): types and counts, no values."""

    __tablename__ = "free_text_findings"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    record_id: Mapped[str] = mapped_column(ID, index=True)
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(80))
    field: Mapped[str] = mapped_column(String(80))
    #: "PERSON:1,PHONE:2"
    types: Mapped[str] = mapped_column(String(400))
    found_at: Mapped[datetime]


class DestructionEvidence(Base):
    """What was destroyed, when, why, under which key ids; never the values (TX-8)."""

    __tablename__ = "destruction_evidence"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    subject_pseudonym: Mapped[str] = mapped_column(String(40), index=True)
    categories: Mapped[str] = mapped_column(Text)
    key_ids: Mapped[str] = mapped_column(Text)
    records_destroyed: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str | None] = mapped_column(String(80))
    request_id: Mapped[str | None] = mapped_column(String(80))
    #: The legal hold that kept the data, for a `held` certificate.
    hold_id: Mapped[str | None] = mapped_column(String(32))
    clauses: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str] = mapped_column(String(120))
    #: pending: keys not yet deleted; shredded: keys deleted, rows remain; complete;
    #: held: the rule was due but a legal hold kept the data (nothing destroyed).
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    #: The subject's phone blind-index value (`Subject.phone_bucket`, shared by a thousand-odd
    #: numbers) when this destruction took the phone with it: a phone that matches no live
    #: subject is checked against these, never the phone itself, which is gone.
    phone_bucket: Mapped[int | None]

    __table_args__ = (
        # Unfinished destructions: found by every sweep and by the due-subject queries.
        Index(
            "ix_destruction_evidence_pending",
            "subject_id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # A phone that matches no live subject: the destroyed subjects sharing its value.
        Index(
            "ix_destruction_evidence_phone_bucket",
            "phone_bucket",
            postgresql_where=text("phone_bucket IS NOT NULL"),
            sqlite_where=text("phone_bucket IS NOT NULL"),
        ),
    )


class WrittenConsent(Base):
    """A subject's prior written consent to a disclosure (TX-10)."""

    __tablename__ = "written_consents"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    subject_id: Mapped[str] = mapped_column(ID, ForeignKey("subjects.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(80))
    purposes: Mapped[str] = mapped_column(Text)
    categories: Mapped[str] = mapped_column(Text)
    document_reference: Mapped[str] = mapped_column(String(200))
    given_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    recorded_by: Mapped[str] = mapped_column(String(120))


class Disclosure(Base):
    """The register of disclosures, readable by the DPO and the subject (TX-3.4, BK-4.2)."""

    __tablename__ = "disclosures"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    subject_pseudonym: Mapped[str] = mapped_column(String(40), index=True)
    recipient: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(String(80))
    basis: Mapped[str] = mapped_column(String(40))
    law: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(200))
    consent_id: Mapped[str | None] = mapped_column(ID)
    categories: Mapped[str] = mapped_column(Text)
    records: Mapped[int]
    actor_id: Mapped[str] = mapped_column(String(120))
    actor_role: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]


class OrderLink(Base):
    """An order between a driver and a customer; while open, the customer may see the driver."""

    __tablename__ = "order_links"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    driver_id: Mapped[str] = mapped_column(ID, ForeignKey("subjects.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ID, ForeignKey("subjects.id"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class AppSession(Base):
    """A subject's session in the operator's app, opened and closed by the app's backend:
    location is collected only inside one (TX-12). Ids and times only."""

    __tablename__ = "app_sessions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[str] = mapped_column(ID, ForeignKey("subjects.id"))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        # A batch of pings finds the sessions of its subjects around its times in one query.
        Index("ix_app_sessions_subject_opened", "subject_id", "opened_at"),
    )


class RequestBasis(Base):
    """A verified, open request of a subject, as the request workflow records it: what a read
    for a request purpose cites (`request_id`). The vault checks it; the workflow owns it."""

    __tablename__ = "request_bases"

    request_id: Mapped[str] = mapped_column(ID, primary_key=True)
    #: The request purpose this basis opens (subject_request or rectification).
    purpose: Mapped[str] = mapped_column(String(80), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    #: Comma-separated categories the request reaches ("" = every one the purpose covers).
    categories: Mapped[str] = mapped_column(Text, default="")
    include_passive: Mapped[bool] = mapped_column(default=False)
    opened_at: Mapped[datetime]
    #: Set when the request is answered or rejected: the basis no longer opens anything.
    closed_at: Mapped[datetime | None]
    opened_by: Mapped[str] = mapped_column(String(120))


class LawfulDemand(Base):
    """A competent authority's demand for a subject's data (TX-10, BK-4.2), recorded by the
    DPO: lawful-request reads cite it and stay within its scope and term."""

    __tablename__ = "lawful_demands"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    authority: Mapped[str] = mapped_column(String(200))
    #: The authority's own reference of the demand (its letter or case number).
    reference: Mapped[str] = mapped_column(String(200))
    law: Mapped[str] = mapped_column(String(200))
    #: Comma-separated categories the demand covers.
    categories: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(120))


class DataKey(KeyBase):
    """A per-subject, per-category, per-tier data key, wrapped by a master key.

    The newest key of a scope encrypts new records; older ones live until shredded.
    """

    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    subject_id: Mapped[str] = mapped_column(ID)
    category: Mapped[str] = mapped_column(String(80))
    tier: Mapped[str] = mapped_column(String(16))
    master_key_id: Mapped[str] = mapped_column(String(80), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]

    # Not unique: a rekey creates the new key before the old one is shredded, and a record
    # names the key it was written under.
    __table_args__ = (Index("ix_data_keys_scope", "subject_id", "category", "tier"),)


class MasterKeyEpoch(KeyBase):
    """When a master key (its id, never the key) came, was superseded and was retired.

    A master key is retired (removed from the key file) once it wraps no live data key and
    was superseded longer ago than the backup window: no key-store backup still kept needs
    it, and the wrapped keys of destroyed subjects in older copies can no longer be opened.
    """

    __tablename__ = "master_key_epochs"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    #: When mexfi first met it: the rotation that added it, or the first check that saw it.
    created_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class KeyTableCompaction(KeyBase):
    """PostgreSQL: how many shredding commits a key table has had, and how many of them the
    last rewrite of its files covered (`vault/compaction.py`); never a key.

    A commit that deletes data keys counts itself here in its own transaction, so a crash
    never loses the need to rewrite; `shredded > compacted` means the table's free space may
    still hold shredded wrapped keys.
    """

    __tablename__ = "key_table_compactions"

    table_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    shredded: Mapped[int] = mapped_column(BigInteger)
    compacted: Mapped[int] = mapped_column(BigInteger)
    compacted_at: Mapped[datetime | None]
    #: How long the last rewrite took (the table was locked that long).
    seconds: Mapped[float | None] = mapped_column(Float)
