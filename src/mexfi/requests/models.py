"""The table of data-subject requests. It holds ids, codes, dates and booleans, never values.

What a requester wrote to prove who they are (document numbers, address, FIN) is
checked on intake and kept only as "present/absent" flags; the requester's phone
is used once, through the vault's blind index, to find the subject.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import Base

__all__ = ["SubjectRequest"]


class SubjectRequest(Base):
    """One request of a data subject (TX-3, TX-4.1, TX-11, BK-3.2) and where it stands."""

    __tablename__ = "subject_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    #: None when the requester matched no subject (the request is then rejected).
    subject_id: Mapped[str | None] = mapped_column(String(32), index=True)
    subject_pseudonym: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    #: received, verifying, in_progress, answered, rejected
    state: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    #: Comma-separated category ids the request is limited to ("" = every category).
    categories: Mapped[str] = mapped_column(Text, default="")
    include_passive: Mapped[bool] = mapped_column(default=False)
    #: JSON {requirement: true|false}: which written requirements the request carried.
    requirements: Mapped[str] = mapped_column(Text, default="{}")
    #: JSON list of reason codes of a rejection or of a partial refusal.
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    #: JSON summary of the answer: counts, categories, hold ids; never values.
    outcome: Mapped[str] = mapped_column(Text, default="{}")
    received_by: Mapped[str] = mapped_column(String(120))

    __table_args__ = (Index("ix_subject_requests_state_due_at", "state", "due_at"),)
