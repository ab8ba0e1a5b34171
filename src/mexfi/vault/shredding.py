"""Destruction: crypto-shredding of whole categories and of single records, with evidence.

Keys go first, then rows: a crash in between leaves rows nobody can decrypt, and
`complete_destructions` finishes the job (TX-1.11, TX-8).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mexfi.audit import AuditAction, AuditEvent
from mexfi.policy.schema import (
    Category,
    RightKind,
)
from mexfi.vault.access import check_categories, right_clauses
from mexfi.vault.core import ACTIVE, VaultCore, new_id
from mexfi.vault.errors import (
    SubjectNotFound,
)
from mexfi.vault.models import (
    DataKey,
    DestructionEvidence,
    FreeTextFinding,
    PassiveRecord,
    Record,
    Subject,
)
from mexfi.vault.schemas import (
    Actor,
    DestructionReport,
    RecordRead,
)

__all__ = ["Shredding"]


class Shredding(VaultCore):
    """Destroying a subject's data so that no copy of it can be read again."""

    def destroy_records(
        self,
        subject_id: str,
        category_id: str,
        record_ids: Collection[str],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        at: datetime | None = None,
    ) -> DestructionReport:
        """Destroy some active records of a scope: the rest is re-encrypted under a fresh key
        and the old key shredded, so the destroyed ones are gone from backups too."""
        now = self._now(at)
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
            policy = self.policy(subject.policy_id)
            current = self._load(session, policy, subject, [category_id])
        category = self._category(policy, subject.kind, category_id)
        with self.store.keys() as key_session:
            old_ids = self.keys.key_ids(key_session, subject.id, [category_id], tiers=[ACTIVE])
        drop = {r.id for r in current} & set(record_ids)
        clause_list = sorted(set(clauses))
        destroyed = self._rekey_scope(
            subject,
            category,
            current,
            drop=drop,
            event=self._event(
                AuditAction.DESTROY,
                actor,
                subject=subject,
                categories=[category_id],
                clauses=clause_list,
                count=len(drop),
                reason=reason,
                reference=rule_id or request_id,
                at=now,
            ),
            at=now,
        )
        evidence = DestructionEvidence(
            id=new_id(),
            policy_id=policy.id,
            subject_id=subject.id,
            subject_pseudonym=subject.pseudonym,
            categories=category_id,
            key_ids=",".join(sorted(old_ids)),
            records_destroyed=destroyed,
            reason=reason,
            rule_id=rule_id,
            request_id=request_id,
            clauses=",".join(clause_list),
            actor_id=actor.id,
            status="complete",
            started_at=now,
            completed_at=self.clock.now(),
        )
        with self.store.records() as session:
            session.add(evidence)
        return self._evidence_read(evidence)

    def _rekey_scope(
        self,
        subject: Subject,
        category: Category,
        current: Sequence[RecordRead],
        *,
        replace: Mapping[str, dict[str, Any]] | None = None,
        drop: Collection[str] = (),
        event: AuditEvent,
        at: datetime,
    ) -> int:
        """Re-encrypt a scope's active records under a fresh key, then shred the old keys.

        Whatever the old keys encrypted (an old value, a dropped record) becomes
        undecryptable wherever a copy of it survives. Crash-safe in every order:
        the new key commits first, the rows next, the old keys are shredded last.
        """
        policy = self.policy(subject.policy_id)
        scope = (subject.id, category.id, ACTIVE)
        replace = replace or {}
        with self.store.keys() as key_session:
            old_ids = self.keys.key_ids(key_session, subject.id, [category.id], tiers=[ACTIVE])
            new_key_id, dek = self.keys.create(key_session, [scope], at=at)[scope]
        with self.store.records() as session:
            for record in current:
                if record.id in drop:
                    continue
                session.execute(
                    update(Record)
                    .where(Record.id == record.id)
                    .values(
                        key_id=new_key_id,
                        payload=self.encrypt_payload(
                            policy,
                            subject.id,
                            record.id,
                            category,
                            replace.get(record.id, record.values),
                            dek,
                        ),
                        updated_at=at if record.id in replace else record.updated_at,
                    )
                )
            dropped = 0
            if drop:
                result = session.execute(delete(Record).where(Record.id.in_(list(drop))))
                dropped = int(getattr(result, "rowcount", 0) or 0)
            self.audit.append(session, event)
        with self.store.keys() as key_session:
            self.keys.shred(key_session, old_ids)
        return dropped

    def destroy(
        self,
        subject_id: str,
        categories: Collection[str],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        at: datetime | None = None,
    ) -> DestructionReport:
        """Crypto-shred a subject's categories, in both tiers: keys first, then rows.

        A crash after the keys are gone leaves rows nobody can decrypt;
        `complete_destructions` (run by every sweep) finishes the job.
        """
        return self.destroy_many(
            [(subject_id, categories)],
            reason=reason,
            actor=actor,
            rule_id=rule_id,
            request_id=request_id,
            clauses=clauses,
            at=at,
        )[0]

    def destroy_many(
        self,
        targets: Sequence[tuple[str, Collection[str]]],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        at: datetime | None = None,
        session: Session | None = None,
    ) -> list[DestructionReport]:
        """Destroy many subjects' categories in one sweep, with one evidence row per subject.

        With `session`, the pending evidence is written in the caller's records transaction
        (the retention sweep uses it to claim subjects under its row locks) and committed
        by it; the keys and rows are shredded by `complete_destructions` after that.
        """
        now = self._now(at)
        clause_text = ",".join(sorted(set(clauses)))
        wanted = [(subject_id, sorted(set(categories))) for subject_id, categories in targets]
        if not wanted:
            return []
        with self.store.records() if session is None else nullcontext(session) as records:
            subjects = {
                row.id: row
                for row in records.scalars(
                    select(Subject).where(Subject.id.in_([s for s, _ in wanted]))
                )
            }
        for subject_id, categories in wanted:
            subject = subjects.get(subject_id)
            if subject is None:
                raise SubjectNotFound(f"no subject {subject_id!r}")
            check_categories(self.policy(subject.policy_id), subject.kind, categories)
        with self.store.keys() as key_session:
            rows = key_session.execute(
                select(DataKey.subject_id, DataKey.category, DataKey.id).where(
                    DataKey.subject_id.in_([s for s, _ in wanted])
                )
            ).all()
        key_ids: dict[str, list[str]] = defaultdict(list)
        wanted_scopes = {(s, c) for s, cats in wanted for c in cats}
        for subject_id, category, key_id in rows:
            if (subject_id, category) in wanted_scopes:
                key_ids[subject_id].append(key_id)
        evidence = [
            DestructionEvidence(
                id=new_id(),
                policy_id=subjects[subject_id].policy_id,
                subject_id=subject_id,
                subject_pseudonym=subjects[subject_id].pseudonym,
                categories=",".join(categories),
                key_ids=",".join(sorted(key_ids[subject_id])),
                records_destroyed=0,
                reason=reason,
                rule_id=rule_id,
                request_id=request_id,
                clauses=clause_text,
                actor_id=actor.id,
                status="pending",
                started_at=now,
            )
            for subject_id, categories in wanted
        ]
        ids = [e.id for e in evidence]
        if session is not None:
            session.add_all(evidence)
            session.flush()
            return [self._evidence_read(e) for e in evidence]
        with self.store.records() as records:
            records.add_all(evidence)
        return self._finish_destructions(ids, actor=actor)

    def _finish_destructions(
        self, evidence_ids: Sequence[str], *, actor: Actor
    ) -> list[DestructionReport]:
        """Shred the keys of pending evidence, then delete the rows, then mark it complete."""
        with self.store.records() as session:
            pending = list(
                session.scalars(
                    select(DestructionEvidence).where(DestructionEvidence.id.in_(evidence_ids))
                )
            )
        with self.store.keys() as key_session:
            self.keys.shred(
                key_session,
                [k for e in pending if e.status == "pending" for k in e.key_ids.split(",") if k],
            )
        completed = self.clock.now()
        todo = [e for e in pending if e.status != "complete"]
        # A key belongs to one subject and category: deleting by key id is exact, and lets a
        # whole batch of subjects go in a few statements.
        key_owner = {
            key: evidence.id for evidence in todo for key in evidence.key_ids.split(",") if key
        }
        destroyed: Counter[str] = Counter()
        with self.store.records() as session:
            keys = list(key_owner)
            for start in range(0, len(keys), 1000):
                chunk = keys[start : start + 1000]
                for table in (Record, PassiveRecord):
                    gone = session.execute(
                        delete(table).where(table.key_id.in_(chunk)).returning(table.key_id)
                    )
                    destroyed.update(key_owner[key] for key in gone.scalars())
            subjects = {
                row.id: row
                for row in session.scalars(
                    select(Subject).where(Subject.id.in_({e.subject_id for e in todo}))
                )
            }
            events = []
            cleared = []
            for evidence in todo:
                categories = [c for c in evidence.categories.split(",") if c]
                subject = subjects[evidence.subject_id]
                policy = self.policy(subject.policy_id)
                session.execute(
                    delete(FreeTextFinding).where(
                        FreeTextFinding.subject_id == subject.id,
                        FreeTextFinding.category.in_(categories),
                    )
                )
                # The blind index points at the phone: it goes with the category holding it.
                if self._phone_category_of(policy, subject.kind) in categories:
                    cleared.append(subject.id)
                events.append(
                    self._event(
                        AuditAction.DESTROY,
                        actor,
                        subject=subject,
                        categories=categories,
                        clauses=[c for c in evidence.clauses.split(",") if c],
                        count=destroyed[evidence.id],
                        reason=evidence.reason,
                        reference=evidence.rule_id or evidence.request_id or evidence.id,
                        at=completed,
                    )
                )
            if cleared:
                session.execute(
                    update(Subject).where(Subject.id.in_(cleared)).values(phone_index=None)
                )
            if todo:
                session.execute(
                    update(DestructionEvidence),
                    [
                        {
                            "id": evidence.id,
                            "status": "complete",
                            "completed_at": completed,
                            "records_destroyed": evidence.records_destroyed
                            + destroyed[evidence.id],
                        }
                        for evidence in todo
                    ],
                )
            self.audit.append_many(session, events)
            final = session.scalars(
                select(DestructionEvidence).where(DestructionEvidence.id.in_(evidence_ids))
            )
            by_id = {row.id: self._evidence_read(row) for row in final}
        return [by_id[i] for i in evidence_ids if i in by_id]

    def complete_destructions(self, *, actor: Actor, batch_size: int = 1000) -> int:
        """Finish destructions a crash interrupted; returns how many were finished."""
        finished = 0
        while True:
            with self.store.records() as session:
                pending = list(
                    session.scalars(
                        select(DestructionEvidence.id)
                        .where(DestructionEvidence.status == "pending")
                        .limit(batch_size)
                    )
                )
            if not pending:
                return finished
            self._finish_destructions(pending, actor=actor)
            finished += len(pending)

    def destruction_evidence(self, subject_id: str, *, actor: Actor) -> list[DestructionReport]:
        """A subject's destruction certificates, for the DPO or the subject itself (TX-8)."""
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
        self._require_dpo_or_self(
            subject,
            actor,
            "destruction certificates",
            right_clauses(self.policy(subject.policy_id), RightKind.DESTRUCTION),
        )
        with self.store.records() as session:
            rows = session.scalars(
                select(DestructionEvidence)
                .where(DestructionEvidence.subject_id == subject_id)
                .order_by(DestructionEvidence.started_at)
            )
            return [self._evidence_read(row) for row in rows]
