"""The first answers of idempotent writes: found by caller and key, kept `ANSWER_TTL`.

A retried write (the same caller, the same `Idempotency-Key`) gets the first answer back and
writes nothing; the same key with another request is `IdempotencyKeyReused` (409). The
answer is added in the write's own unit of work, so a write that fails keeps no answer and a
write that commits always keeps one. The HTTP plumbing is `mexfi.api.idempotency`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from mexfi.apikeys.errors import IdempotencyKeyReused
from mexfi.apikeys.models import IdempotentAnswer
from mexfi.db import UnitOfWork

__all__ = ["ANSWER_TTL", "KeptAnswer", "find_answer", "keep_answer"]

ANSWER_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class KeptAnswer:
    """A write's first answer, as sent."""

    status: int
    media_type: str | None
    body: bytes


def find_answer(
    uow: UnitOfWork, *, caller: str, key: str, fingerprint: str, now: datetime
) -> KeptAnswer | None:
    """The live answer kept for `caller` under `key`, if any; `IdempotencyKeyReused` if the
    key was first used with another request."""
    row = uow.records.get(IdempotentAnswer, (caller, key))
    if row is None or row.expires_at <= now:
        return None
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was first used with another request (method, path or body)",
            hint="use a new key for a new write; repeat a write with its own key and body",
        )
    return KeptAnswer(row.status, row.media_type, bytes(row.body))


def keep_answer(
    uow: UnitOfWork,
    *,
    caller: str,
    key: str,
    fingerprint: str,
    answer: KeptAnswer,
    now: datetime,
) -> None:
    """Add the answer to the write's unit of work (and drop the caller's expired ones)."""
    uow.records.execute(
        delete(IdempotentAnswer).where(
            IdempotentAnswer.caller == caller, IdempotentAnswer.expires_at <= now
        )
    )
    uow.records.add(
        IdempotentAnswer(
            caller=caller,
            key=key,
            fingerprint=fingerprint,
            status=answer.status,
            media_type=answer.media_type,
            body=answer.body,
            created_at=now,
            expires_at=now + ANSWER_TTL,
        )
    )
    uow.records.flush()
