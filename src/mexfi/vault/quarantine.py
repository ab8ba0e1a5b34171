"""Quarantine: records that would not open, moved aside so that nothing else stops.

A record whose authentication fails (a flipped byte, a row pasted from elsewhere) can be
neither tiered nor resealed, and trying again never helps. The operation that finds one
hands it here: in that operation's transaction the row moves from its tier's table to
`quarantined_records` with its evidence (where it was, its key id, a SHA-256 of the
ciphertext and the ciphertext itself, still sealed; there is no plaintext to keep), and
one audit entry names each subject with its count. The key that sealed it still names
it, so shredding that key (a subject's destruction, a rekey) deletes it too.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select

from mexfi.audit import AuditAction
from mexfi.db import UnitOfWork
from mexfi.policy import FieldType
from mexfi.vault.bulk import bulk_insert, id_chunks, one_of
from mexfi.vault.context import ACTIVE, VaultContext
from mexfi.vault.crypto import AESGCM, DecryptionFailed
from mexfi.vault.models import PassiveRecord, QuarantinedRecord, Record
from mexfi.vault.schemas import Actor, QuarantineRead
from mexfi.vault.sealing import FORMAT, FORMAT_V1, RecordPlace, open_record

__all__ = ["AUTHENTICATION_FAILED", "Quarantine", "Suspect", "open_or_suspect"]

AUTHENTICATION_FAILED = "authentication_failed"


class Suspect(NamedTuple):
    """A stored record that failed to open, as its row holds it."""

    record_id: str
    subject_id: str
    category: str
    collected_at: datetime
    key_id: str
    format: int
    payload: bytes


def open_or_suspect(
    aead: AESGCM,
    payload: bytes,
    record_format: int,
    place: RecordPlace,
    types: Mapping[str, FieldType],
) -> bytes | None:
    """The record's plaintext, or None when its authentication fails (a record to quarantine).

    A format this version does not know still raises: upgrading fixes that, quarantine would
    only hide it.
    """
    if record_format not in (FORMAT, FORMAT_V1):
        return open_record(aead, payload, record_format, place, types)
    try:
        return open_record(aead, payload, record_format, place, types)
    except DecryptionFailed:
        return None


class Quarantine:
    """Records moved aside because they would not open, and the register of them."""

    def __init__(self, ctx: VaultContext) -> None:
        self.ctx = ctx

    def move(
        self,
        uow: UnitOfWork,
        policy_id: str,
        tier: str,
        suspects: Sequence[Suspect],
        *,
        detected_by: str,
        actor: Actor,
        clauses: Iterable[str] = (),
        at: datetime | None = None,
    ) -> int:
        """Move these records of `tier` into quarantine in this unit of work; how many moved."""
        if not suspects:
            return 0
        ctx = self.ctx
        now = ctx.now(at)
        session = uow.records
        bulk_insert(
            session,
            QuarantinedRecord,
            [
                {
                    "id": s.record_id,
                    "policy_id": policy_id,
                    "subject_id": s.subject_id,
                    "category": s.category,
                    "tier": tier,
                    "collected_at": s.collected_at,
                    "key_id": s.key_id,
                    "format": s.format,
                    "payload": s.payload,
                    "payload_sha256": hashlib.sha256(s.payload).hexdigest(),
                    "reason": AUTHENTICATION_FAILED,
                    "detected_by": detected_by,
                    "quarantined_at": now,
                }
                for s in suspects
            ],
        )
        table = Record if tier == ACTIVE else PassiveRecord
        for chunk in id_chunks(session, [s.record_id for s in suspects]):
            session.execute(
                delete(table)
                .where(one_of(session, table.id, chunk))
                .execution_options(synchronize_session=False)
            )
        per_subject = Counter(ctx.pseudonym(s.subject_id) for s in suspects)
        ctx.audit.append(
            session,
            ctx.event(
                AuditAction.QUARANTINE,
                actor,
                policy_id=policy_id,
                categories={s.category for s in suspects},
                clauses=clauses,
                count=len(suspects),
                reason=AUTHENTICATION_FAILED,
                reference=detected_by,
                subjects=dict(per_subject),
                at=now,
            ),
        )
        session.flush()
        return len(suspects)

    def quarantined(
        self, uow: UnitOfWork, *, policy_id: str | None = None, limit: int | None = None
    ) -> list[QuarantineRead]:
        """Quarantined records, newest first (never their payloads)."""
        q = QuarantinedRecord
        query = select(
            q.id,
            q.policy_id,
            q.subject_id,
            q.category,
            q.tier,
            q.key_id,
            q.payload_sha256,
            q.reason,
            q.detected_by,
            q.collected_at,
            q.quarantined_at,
        ).order_by(q.quarantined_at.desc(), q.id)
        if policy_id is not None:
            query = query.where(q.policy_id == policy_id)
        if limit is not None:
            query = query.limit(limit)
        return [QuarantineRead(*row) for row in uow.records.execute(query)]

    def quarantine_counts(self, uow: UnitOfWork) -> dict[tuple[str, str, str], int]:
        """{(policy, category, reason): records} in quarantine."""
        q = QuarantinedRecord
        rows = uow.records.execute(
            select(q.policy_id, q.category, q.reason, func.count()).group_by(
                q.policy_id, q.category, q.reason
            )
        )
        return {(p, c, r): int(n) for p, c, r, n in rows}
