"""The passive tier (BK-3.3): whole subjects' due records moved per batch, set-based.

A batch reads the due records of its subjects with one indexed query, looks their
keys up with one query per tier (the passive keys are the tier's own, made where
missing), opens each record once and seals it once under the passive key with the
passive tier in its associated data, copies the rows into `passive_records` (COPY on
PostgreSQL), deletes them from `records` by id, and writes one audit entry naming
every subject with its count. Nothing is ever in both tiers: insert and delete
commit together. A record that would not open is quarantined in the same transaction
(`quarantine.py`) and the batch goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from sqlalchemy import delete, select

from mexfi.audit import AuditAction
from mexfi.db import UnitOfWork
from mexfi.vault.bulk import bulk_insert_values, id_chunks, one_of
from mexfi.vault.context import ACTIVE, PASSIVE, VaultContext
from mexfi.vault.models import PassiveRecord, Record
from mexfi.vault.quarantine import Quarantine, Suspect, open_or_suspect
from mexfi.vault.schemas import Actor
from mexfi.vault.sealing import FORMAT, seal_record

__all__ = ["Tiering"]

#: The columns of a passive row, in the order `tier` builds them.
_PASSIVE_COLUMNS = (
    "id",
    "subject_id",
    "category",
    "collected_at",
    "updated_at",
    "key_id",
    "format",
    "payload",
    "moved_at",
    "rule_id",
)


class Tiering:
    """Moving records past their active period into the passive tier."""

    def __init__(self, ctx: VaultContext, quarantine: Quarantine) -> None:
        self.ctx = ctx
        self.quarantine = quarantine

    def tier(
        self,
        uow: UnitOfWork,
        policy_id: str,
        subject_ids: Collection[str],
        categories: Collection[str],
        *,
        collected_before: datetime,
        rule_id: str,
        clauses: Iterable[str],
        actor: Actor,
        at: datetime | None = None,
        on_quarantine: Callable[[int], None] | None = None,
    ) -> dict[str, int]:
        """Move these subjects' active records of `categories` collected at or before
        `collected_before` to the passive tier; {subject id: records moved}. Records that
        would not open are quarantined instead; `on_quarantine` hears how many."""
        ctx = self.ctx
        policy = ctx.policy(policy_id)
        now = ctx.now(at)
        subject_ids = sorted(set(subject_ids))
        categories = sorted(set(categories))
        if not subject_ids or not categories:
            return {}
        session = uow.records
        # Core rows, not ORM ones: nothing here is loaded into the session; fetched all at
        # once (iterating a Core result fetches row by row).
        connection = session.connection()
        rows: list[tuple[str, str, str, datetime, datetime | None, str, int, bytes]] = []
        for chunk in id_chunks(session, subject_ids):
            rows.extend(
                connection.execute(
                    select(
                        Record.id,
                        Record.subject_id,
                        Record.category,
                        Record.collected_at,
                        Record.updated_at,
                        Record.key_id,
                        Record.format,
                        Record.payload,
                    ).where(
                        one_of(session, Record.subject_id, chunk),
                        Record.category.in_(categories),
                        Record.collected_at <= collected_before,
                    )
                ).all()
            )
        if not rows:
            return {}
        active = ctx.keys.live(uow, subject_ids, categories, [ACTIVE])
        passive = ctx.keys.current(
            uow, {(row[1], row[2], PASSIVE) for row in rows if row[5] in active}, at=now
        )
        moved: list[tuple[object, ...]] = []
        gone = []
        suspects: list[Suspect] = []
        per_subject: Counter[str] = Counter()
        types_of = {c: ctx.types(policy, c) for c in categories}
        for record_id, subject_id, category, collected_at, updated_at, key_id, fmt, payload in rows:
            aead = active.get(key_id)
            if aead is None:
                gone.append(record_id)
                continue  # its key was shredded: nothing left to keep
            plaintext = open_or_suspect(
                aead,
                payload,
                fmt,
                (policy.id, subject_id, record_id, category, ACTIVE),
                types_of[category],
            )
            if plaintext is None:
                suspects.append(
                    Suspect(record_id, subject_id, category, collected_at, key_id, fmt, payload)
                )
                continue
            gone.append(record_id)
            passive_key_id, passive_aead = passive[(subject_id, category, PASSIVE)]
            moved.append(
                (
                    record_id,
                    subject_id,
                    category,
                    collected_at,
                    updated_at,
                    passive_key_id,
                    FORMAT,
                    seal_record(
                        passive_aead,
                        plaintext,
                        (policy.id, subject_id, record_id, category, PASSIVE),
                    ),
                    now,
                    rule_id,
                )
            )
            per_subject[subject_id] += 1
        bulk_insert_values(session, PassiveRecord, _PASSIVE_COLUMNS, moved)
        for chunk in id_chunks(session, gone):
            # No ORM synchronisation: no record row is loaded in this session.
            session.execute(
                delete(Record)
                .where(one_of(session, Record.id, chunk))
                .execution_options(synchronize_session=False)
            )
        if per_subject:
            ctx.audit.append(
                session,
                ctx.event(
                    AuditAction.TIER,
                    actor,
                    policy_id=policy.id,
                    categories=categories,
                    clauses=clauses,
                    count=sum(per_subject.values()),
                    reason="moved_to_passive_tier",
                    reference=rule_id,
                    subjects={ctx.pseudonym(s): n for s, n in per_subject.items()},
                    at=now,
                ),
            )
        quarantined = self.quarantine.move(
            uow,
            policy.id,
            ACTIVE,
            suspects,
            detected_by=rule_id,
            actor=actor,
            clauses=clauses,
            at=now,
        )
        if quarantined and on_quarantine is not None:
            on_quarantine(quarantined)
        return dict(per_subject)
