"""The table of data-subject requests. It holds ids, codes, dates and booleans, never values.

What a requester wrote to prove who they are (document numbers, address, FIN) is
checked on intake and kept only as "present/absent" flags; the requester's phone
is used once, through the vault's blind index, to find the subject.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import Base

__all__ = ["SubjectRequest", "VerificationCode"]


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
    #: received, verifying, in_progress, on_hold, answered, rejected, withdrawn
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
    #: JSON {category: hold id} of the legal holds an `on_hold` request waits on.
    holds: Mapped[str] = mapped_column(Text, default="{}")
    #: When a hold suspended the due date, and the working days (calendar days under a
    #: calendar-day deadline) it had left then; cleared when the request resumes.
    suspended_at: Mapped[datetime | None]
    days_left: Mapped[int | None]
    #: The last amendment (what changed is in the audit log, as field names).
    amended_at: Mapped[datetime | None]

    #: When and how the requester was proven to be the subject: `code` (a one-time code sent
    #: to the registered phone) or `out_of_band_<method>` (the DPO's check); None: not yet.
    verified_at: Mapped[datetime | None]
    verification: Mapped[str | None] = mapped_column(String(40))
    #: Wrong codes entered; at `MAX_ATTEMPTS` the request is `locked`.
    failed_attempts: Mapped[int] = mapped_column(default=0)
    #: JSON {given detail: match | mismatch | not_held}: a written request's details against
    #: what the store held at intake (the vault compares; no value is kept).
    identity_checks: Mapped[str] = mapped_column(Text, default="{}")
    #: The answer's language was given with the request; else, once verified, the subject's
    #: own interface language is used where the policy derives one.
    language_given: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_subject_requests_state_due_at", "state", "due_at"),)


class VerificationCode(Base):
    """A one-time code sent for a request: kept as a keyed MAC (the vault's), never the code;
    where it went only as the subject and the phone's blind-index bucket (rate limits)."""

    __tablename__ = "request_verification_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("subject_requests.id"), index=True
    )
    subject_id: Mapped[str] = mapped_column(String(32))
    phone_bucket: Mapped[int | None]
    code_mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The sender's name (`console`, an SMS gateway's).
    sender: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    sent_by: Mapped[str] = mapped_column(String(120))
    #: Codes entered against this one (wrong ones and the right one).
    attempts: Mapped[int] = mapped_column(default=0)
    #: When the right code was entered: it is spent. Only a request's newest code counts.
    used_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_request_verification_codes_subject_id_sent_at", "subject_id", "sent_at"),
        Index("ix_request_verification_codes_phone_bucket_sent_at", "phone_bucket", "sent_at"),
    )
