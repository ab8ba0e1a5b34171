"""The tables of API access: keys and subjects' sessions (keyed hashes, never a secret),
sign-in codes (a MAC), and the first answers of idempotent writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import Base

__all__ = ["ApiKey", "IdempotentAnswer", "SessionChallenge", "SubjectSession"]


class ApiKey(Base):
    """One API key: scoped to a policy and one role, revocable."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: HMAC-SHA256 of the key under a key derived from the store's secrets (hex).
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(80))
    label: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    revoked_by: Mapped[str | None] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None]


class IdempotentAnswer(Base):
    """The first answer of a write sent with an `Idempotency-Key`, replayed to a retry of the
    same caller with the same key; kept `ANSWER_TTL` (never for a route whose answer holds
    personal data: such routes take no key)."""

    __tablename__ = "api_idempotent_answers"

    #: The keyed hash of the caller's credential (as `ApiKey.digest`), never the credential.
    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: SHA-256 (hex) of the method, path, query and body the key was first used with.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    media_type: Mapped[str | None] = mapped_column(String(120))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SessionChallenge(Base):
    """A one-time code sent to a data subject signing in; only its keyed MAC is kept."""

    __tablename__ = "subject_session_challenges"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    #: None when no subject of the policy holds the phone given (no code went; the answer
    #: looks the same, so the start says nothing of who is registered).
    subject_id: Mapped[str | None] = mapped_column(String(32), index=True)
    #: The phone's keyed pseudonym (`PHONE_` and 24 hex digits, never the phone): codes are
    #: limited per phone, whether anyone holds it or not. None on challenges made before.
    phone_key: Mapped[str | None] = mapped_column(String(40), index=True)
    code_mac: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
    locked_at: Mapped[datetime | None]


class SubjectSession(Base):
    """A data subject's short-lived session: a keyed hash of its token, never the token."""

    __tablename__ = "subject_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(80))
    challenge_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
