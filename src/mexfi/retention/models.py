"""Tables of the retention engine: legal holds and the log of runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import Base

__all__ = ["LegalHold", "RetentionRun"]


class LegalHold(Base):
    """A DPO's hold on a subject or a category: neither destroyed nor tiered until lifted."""

    __tablename__ = "legal_holds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80), index=True)
    #: None: every subject of the policy (a category-wide hold).
    subject_id: Mapped[str | None] = mapped_column(String(32), index=True)
    #: None: every category of the subject.
    category: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(400))
    placed_by: Mapped[str] = mapped_column(String(120))
    placed_at: Mapped[datetime]
    lifted_by: Mapped[str | None] = mapped_column(String(120))
    lifted_at: Mapped[datetime | None]


class RetentionRun(Base):
    """One run of the executor: when, as of which time, and what it did, by rule."""

    __tablename__ = "retention_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    as_of: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    dry_run: Mapped[bool]
    #: running, complete, stopped (a SIGTERM between batches), partial (a rule or policy
    #: failed, the others done), failed (the run itself), abandoned (killed: closed by a
    #: later run once its heartbeat was older than the lease)
    status: Mapped[str] = mapped_column(String(16))
    #: Last sign of life of a running run: set at its start and after every batch.
    heartbeat_at: Mapped[datetime | None]
    #: JSON: one object per rule with its counts.
    summary: Mapped[str] = mapped_column(Text, default="[]")
