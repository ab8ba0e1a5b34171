"""Destruction: crypto-shredding with evidence, in the order that survives a crash.

A destruction is written in three commits (TX-1.11, TX-8):

1. with the unit of work that decides it, the intent: `pending` evidence naming the
   subject, the categories and the ids of the keys to destroy (one statement a batch);
2. after that commit, the keys are deleted from the key store (one statement), and
   that commits: from here nothing they sealed can be read, backups included;
3. then the rows sealed under them are deleted from both tiers and the quarantine with
   their findings, the phone's blind index with the phone, and the evidence is completed
   with the counts, with one audit entry for the batch: that commits.

A crash after 1 or 2 leaves pending evidence; `complete_destructions` (run by every
retention sweep) picks it up and finishes 2 and 3, which are idempotent. No key is
ever destroyed without evidence, and a pending destruction never loses its record.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, func, select, update

from mexfi.audit import AuditAction
from mexfi.db import UnitOfWork, crash_point, new_id
from mexfi.policy import RightKind, RoleAction
from mexfi.vault.access import check_categories, right_clauses
from mexfi.vault.actions import authorize_action
from mexfi.vault.bulk import bulk_insert, id_chunks, one_of
from mexfi.vault.context import ACTIVE, PASSIVE, SubjectLike, VaultContext
from mexfi.vault.errors import PurposeDenied, SubjectNotFound
from mexfi.vault.models import (
    DataKey,
    DestructionEvidence,
    FreeTextFinding,
    PassiveRecord,
    QuarantinedRecord,
    Record,
    Subject,
)
from mexfi.vault.schemas import Actor, DestructionReport

__all__ = ["Shredder", "evidence_read"]

#: The tables a destruction deletes rows of, purged physically after it (`UnitOfWork`).
_SHREDDED_KEYS = [cast(Table, DataKey.__table__)]
_SHREDDED_RECORDS = [
    cast(Table, model.__table__)
    for model in (Record, PassiveRecord, QuarantinedRecord, FreeTextFinding, Subject)
]

#: Evidence of these reasons re-keys data (the old value is what is destroyed); its
#: completion is not a destruction of records and writes no audit entry of its own.
REKEY_REASONS = frozenset({"rectification"})
#: The auditor's role (an API key role of mexfi's, not a policy's): reads certificates.
AUDITOR = "auditor"


def _split(text: str) -> tuple[str, ...]:
    return tuple(filter(None, text.split(",")))


def evidence_read(row: DestructionEvidence) -> DestructionReport:
    return DestructionReport(
        evidence_id=row.id,
        subject_pseudonym=row.subject_pseudonym,
        categories=_split(row.categories),
        key_ids=_split(row.key_ids),
        records_destroyed=row.records_destroyed,
        reason=row.reason,
        rule_id=row.rule_id,
        request_id=row.request_id,
        clauses=_split(row.clauses),
        at=row.completed_at or row.started_at,
        status=row.status,
        hold_id=row.hold_id,
    )


class Shredder:
    """Destroying data so that no copy of it can be read again, with evidence."""

    def __init__(self, ctx: VaultContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ intent

    def authorize(
        self,
        uow: UnitOfWork,
        subjects: Sequence[SubjectLike],
        actor: Actor,
        clauses: Iterable[str] = (),
    ) -> None:
        """The actor's role must be granted destruction in each subject's policy (audited)."""
        ctx = self.ctx
        by_policy: dict[str, list[SubjectLike]] = defaultdict(list)
        for subject in subjects:
            by_policy[subject.policy_id].append(subject)
        for policy_id, of_policy in sorted(by_policy.items()):
            policy = ctx.policy(policy_id)
            authorize_action(
                ctx,
                uow,
                policy,
                of_policy,
                actor,
                RoleAction.DESTROY,
                audit_action=AuditAction.DESTROY,
                clauses=(*clauses, *right_clauses(policy, RightKind.DESTRUCTION)),
            )

    def _intend(
        self,
        uow: UnitOfWork,
        rows: list[dict[str, object]],
        actor: Actor,
        on_complete: Callable[[int], None] | None = None,
    ) -> None:
        """Insert pending evidence and queue its completion after the commit."""
        if not rows:
            return
        bulk_insert(uow.records, DestructionEvidence, rows)
        ids = [str(row["id"]) for row in rows]
        uow.then(lambda done: self._complete(done, ids, actor, on_complete))

    def retire(
        self,
        uow: UnitOfWork,
        subject: SubjectLike,
        categories: Collection[str],
        key_ids: Collection[str],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        planned: int = 0,
        at: datetime | None = None,
    ) -> DestructionReport:
        """Destroy these keys of one subject after this unit of work commits (a rekey)."""
        row = self._evidence(
            subject,
            categories,
            key_ids,
            reason=reason,
            actor=actor,
            rule_id=rule_id,
            request_id=request_id,
            clauses=",".join(sorted(set(clauses))),
            planned=planned,
            at=self.ctx.now(at),
        )
        self._intend(uow, [row], actor)
        return self._pending_read(row)

    @staticmethod
    def _evidence(
        subject: SubjectLike,
        categories: Collection[str],
        key_ids: Collection[str],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None,
        request_id: str | None,
        clauses: str,
        planned: int,
        at: datetime,
    ) -> dict[str, object]:
        return {
            "id": new_id(),
            "policy_id": subject.policy_id,
            "subject_id": subject.id,
            "subject_pseudonym": subject.pseudonym,
            "categories": ",".join(sorted(set(categories))),
            "key_ids": ",".join(sorted(set(key_ids))),
            "records_destroyed": planned,
            "reason": reason,
            "rule_id": rule_id,
            "request_id": request_id,
            "hold_id": None,
            "clauses": clauses,
            "actor_id": actor.id,
            "status": "pending",
            "started_at": at,
            "completed_at": None,
        }

    @staticmethod
    def _pending_read(row: dict[str, object]) -> DestructionReport:
        return DestructionReport(
            evidence_id=str(row["id"]),
            subject_pseudonym=str(row["subject_pseudonym"]),
            categories=_split(str(row["categories"])),
            key_ids=_split(str(row["key_ids"])),
            records_destroyed=int(str(row["records_destroyed"])),
            reason=str(row["reason"]),
            rule_id=row["rule_id"] if isinstance(row["rule_id"], str) else None,
            request_id=row["request_id"] if isinstance(row["request_id"], str) else None,
            clauses=_split(str(row["clauses"])),
            at=row["started_at"],  # type: ignore[arg-type]
            status="pending",
        )

    def destroy_many(
        self,
        uow: UnitOfWork,
        targets: Sequence[tuple[str, Collection[str]]],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        count_records: bool = False,
        on_complete: Callable[[int], None] | None = None,
        at: datetime | None = None,
    ) -> list[DestructionReport]:
        """Crypto-shred subjects' categories in both tiers, once this unit of work commits.

        One evidence row per subject, all written with one statement. `count_records`
        counts now what will be destroyed (a request's answer says so: one more query);
        `on_complete` hears how many were, once they are (a sweep's report).
        """
        ctx = self.ctx
        now = ctx.now(at)
        wanted = [(subject_id, sorted(set(categories))) for subject_id, categories in targets]
        if not wanted:
            return []
        ids = [subject_id for subject_id, _ in wanted]
        subjects = {
            row.id: row
            for row in uow.records.execute(
                select(Subject.id, Subject.policy_id, Subject.kind, Subject.pseudonym).where(
                    one_of(uow.records, Subject.id, ids)
                )
            )
        }
        for subject_id, categories in wanted:
            subject = subjects.get(subject_id)
            if subject is None:
                raise SubjectNotFound(f"no subject {subject_id!r}")
            check_categories(ctx.policy(subject.policy_id), subject.kind, categories)
        clauses = tuple(clauses)
        self.authorize(uow, list(subjects.values()), actor, clauses)
        scopes = {(s, c) for s, categories in wanted for c in categories}
        key_ids: dict[str, list[str]] = defaultdict(list)
        tier_of: dict[str, str] = {}
        for key in ctx.keys.rows(uow, ids, {c for _, c in scopes}):
            if (key.subject_id, key.category) in scopes:
                key_ids[key.subject_id].append(key.id)
                tier_of[key.id] = key.tier
        planned: Counter[str] = Counter()
        if count_records:
            owner = {k: s for s, keys in key_ids.items() for k in keys}
            # Each tier's records are sealed under that tier's keys.
            for table, tier in ((Record, ACTIVE), (PassiveRecord, PASSIVE)):
                keys = [k for k in owner if tier_of[k] == tier]
                for chunk in id_chunks(uow.records, keys):
                    for key_id, count in uow.records.execute(
                        select(table.key_id, func.count())
                        .where(one_of(uow.records, table.key_id, chunk))
                        .group_by(table.key_id)
                    ):
                        planned[owner[key_id]] += int(count)
        clause_text = ",".join(sorted(set(clauses)))
        rows = [
            self._evidence(
                subjects[subject_id],
                categories,
                key_ids[subject_id],
                reason=reason,
                actor=actor,
                rule_id=rule_id,
                request_id=request_id,
                clauses=clause_text,
                planned=planned[subject_id],
                at=now,
            )
            for subject_id, categories in wanted
        ]
        self._intend(uow, rows, actor, on_complete)
        return [self._pending_read(row) for row in rows]

    # ------------------------------------------------------------------ completion

    def _complete(
        self,
        uow: UnitOfWork,
        evidence_ids: Sequence[str],
        actor: Actor,
        on_complete: Callable[[int], None] | None = None,
    ) -> None:
        """Steps 2 and 3: delete the keys (commit), then the rows and evidence (commit);
        `on_complete` hears how many records were destroyed."""
        ctx = self.ctx
        session = uow.records
        pending = list(
            session.execute(
                select(
                    DestructionEvidence.id,
                    DestructionEvidence.subject_id,
                    DestructionEvidence.subject_pseudonym,
                    DestructionEvidence.policy_id,
                    DestructionEvidence.categories,
                    DestructionEvidence.key_ids,
                    DestructionEvidence.reason,
                    DestructionEvidence.rule_id,
                    DestructionEvidence.request_id,
                    DestructionEvidence.clauses,
                ).where(
                    one_of(session, DestructionEvidence.id, evidence_ids),
                    DestructionEvidence.status == "pending",
                )
            )
        )
        if not pending:
            session.commit()
            return
        owner = {key: row.id for row in pending for key in _split(row.key_ids)}
        tiers = ctx.keys.shred_tiers(uow.keys, list(owner))
        ctx.keys.forget(uow, owner)
        uow.keys.commit()
        crash_point("shred.keys-deleted")

        destroyed: Counter[str] = Counter()
        gone_records: list[str] = []
        # A record lies in the table of its key's tier, so each table is searched for its
        # tier's keys only; a key a crashed run already deleted has no tier left to tell,
        # and its rows are looked for in both.
        searched = (
            (Record, [k for k in owner if tiers.get(k) != PASSIVE]),
            (PassiveRecord, [k for k in owner if tiers.get(k) != ACTIVE]),
        )
        for table, keys in searched:
            for chunk in id_chunks(session, keys):
                result = session.execute(
                    delete(table)
                    .where(one_of(session, table.key_id, chunk))
                    .returning(table.id, table.key_id)
                )
                for record_id, key_id in result:
                    destroyed[owner[key_id]] += 1
                    gone_records.append(record_id)
        # Quarantined records are still sealed under the key that names them: they go too.
        for chunk in id_chunks(session, list(owner)):
            result = session.execute(
                delete(QuarantinedRecord)
                .where(one_of(session, QuarantinedRecord.key_id, chunk))
                .returning(QuarantinedRecord.id, QuarantinedRecord.key_id)
            )
            for record_id, key_id in result:
                destroyed[owner[key_id]] += 1
                gone_records.append(record_id)
        for chunk in id_chunks(session, gone_records):
            session.execute(
                delete(FreeTextFinding).where(one_of(session, FreeTextFinding.record_id, chunk))
            )
        kinds: dict[str, str] = {}
        buckets: dict[str, int] = {}
        for subject_id, kind, bucket in session.execute(
            select(Subject.id, Subject.kind, Subject.phone_bucket).where(
                one_of(session, Subject.id, {row.subject_id for row in pending})
            )
        ):
            kinds[subject_id] = kind
            if bucket is not None and bucket >= 0:  # not REINDEX: a value of the current scheme
                buckets[subject_id] = bucket
        # The blind index points at the phone: it goes with the category holding it.
        taking_phone = [
            row
            for row in pending
            if row.reason not in REKEY_REASONS
            and row.subject_id in kinds
            and ctx.phone_category(ctx.policy(row.policy_id), kinds[row.subject_id])
            in _split(row.categories)
        ]
        cleared = [row.subject_id for row in taking_phone]
        # The evidence keeps the value (never the phone), committed with the clearing: a phone
        # that matches no live subject then names the destroyed ones sharing its value.
        recorded = [
            {"id": row.id, "phone_bucket": buckets[row.subject_id]}
            for row in taking_phone
            if row.subject_id in buckets
        ]
        if recorded:
            session.execute(update(DestructionEvidence), recorded)
        for chunk in id_chunks(session, cleared):
            # Rows without an index are left alone: rewriting them touches every index.
            session.execute(
                update(Subject)
                .where(one_of(session, Subject.id, chunk), Subject.phone_bucket.is_not(None))
                .values(phone_bucket=None)
            )
        completed = ctx.clock.now()
        by_count: dict[int, list[str]] = defaultdict(list)
        for row in pending:
            by_count[destroyed[row.id]].append(row.id)
        for count, ids in by_count.items():
            for chunk in id_chunks(session, ids):
                session.execute(
                    update(DestructionEvidence)
                    .where(one_of(session, DestructionEvidence.id, chunk))
                    .values(
                        status="complete",
                        completed_at=completed,
                        records_destroyed=count,
                    )
                )
        # One audit entry per kind of destruction in the batch, naming every subject.
        batches: dict[tuple[str, str, str, str | None, str], Counter[str]] = defaultdict(Counter)
        for row in pending:
            if row.reason in REKEY_REASONS:
                continue
            key = (
                row.policy_id,
                row.categories,
                row.reason,
                row.rule_id or row.request_id,
                row.clauses,
            )
            batches[key][row.subject_pseudonym] += destroyed[row.id]
        ctx.audit.append_many(
            session,
            [
                ctx.event(
                    AuditAction.DESTROY,
                    actor,
                    policy_id=policy_id,
                    categories=_split(categories),
                    clauses=_split(clauses),
                    count=sum(counts.values()),
                    reason=reason,
                    reference=reference,
                    subjects=counts,
                    at=completed,
                )
                for (policy_id, categories, reason, reference, clauses), counts in batches.items()
            ],
        )
        session.commit()
        crash_point("shred.rows-deleted")
        # Deleted rows linger in free pages and the WAL: one purge for the whole batch.
        uow.purge_after_commit(keys=_SHREDDED_KEYS, records=_SHREDDED_RECORDS)
        if on_complete is not None:
            on_complete(sum(destroyed.values()))

    def complete_destructions(self, uow: UnitOfWork, *, actor: Actor, limit: int = 1000) -> int:
        """Queue the completion of up to `limit` destructions a crash left pending."""
        ids = list(
            uow.records.scalars(
                select(DestructionEvidence.id)
                .where(DestructionEvidence.status == "pending")
                .order_by(DestructionEvidence.subject_id)
                .limit(limit)
            )
        )
        if ids:
            uow.then(lambda done: self._complete(done, ids, actor))
        return len(ids)

    # ------------------------------------------------------------------ holds and certificates

    def certify_holds(
        self,
        uow: UnitOfWork,
        held: Sequence[tuple[str, Collection[str], str]],
        *,
        rule_id: str,
        clauses: Iterable[str],
        actor: Actor,
        at: datetime | None = None,
    ) -> int:
        """A `held` certificate per (subject, categories, hold id): the rule was due but a legal
        hold kept the data. Written once per subject, rule and hold; returns how many are new."""
        if not held:
            return 0
        session = uow.records
        now = self.ctx.now(at)
        subject_ids = {s for s, _, _ in held}
        already: set[tuple[str, str | None]] = {
            (subject_id, hold_id)
            for subject_id, hold_id in session.execute(
                select(DestructionEvidence.subject_id, DestructionEvidence.hold_id).where(
                    one_of(session, DestructionEvidence.subject_id, subject_ids),
                    DestructionEvidence.rule_id == rule_id,
                    DestructionEvidence.status == "held",
                )
            )
        }
        subjects = {
            row.id: row
            for row in session.execute(
                select(Subject.id, Subject.policy_id, Subject.pseudonym).where(
                    one_of(session, Subject.id, subject_ids)
                )
            )
        }
        clause_text = ",".join(sorted(set(clauses)))
        rows = []
        for subject_id, categories, hold_id in held:
            if (subject_id, hold_id) in already or subject_id not in subjects:
                continue
            already.add((subject_id, hold_id))
            subject = subjects[subject_id]
            rows.append(
                {
                    "id": new_id(),
                    "policy_id": subject.policy_id,
                    "subject_id": subject_id,
                    "subject_pseudonym": subject.pseudonym,
                    "categories": ",".join(sorted(set(categories))),
                    "key_ids": "",
                    "records_destroyed": 0,
                    "reason": "legal_hold",
                    "rule_id": rule_id,
                    "request_id": None,
                    "hold_id": hold_id,
                    "clauses": clause_text,
                    "actor_id": actor.id,
                    "status": "held",
                    "started_at": now,
                    "completed_at": now,
                }
            )
        bulk_insert(session, DestructionEvidence, rows)
        return len(rows)

    def destruction_evidence(
        self, uow: UnitOfWork, subject_id: str, *, actor: Actor
    ) -> list[DestructionReport]:
        """A subject's destruction certificates, for the DPO, the subject itself (TX-8) or the
        auditor: they hold ids, rules, key ids and counts, never a value."""
        ctx = self.ctx
        subject = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(subject.policy_id)
        if actor.role != AUDITOR:
            require_dpo_or_self(
                ctx,
                uow,
                subject,
                actor,
                "destruction certificates",
                right_clauses(policy, RightKind.DESTRUCTION),
            )
        rows = uow.records.scalars(
            select(DestructionEvidence)
            .where(DestructionEvidence.subject_id == subject_id)
            .order_by(DestructionEvidence.started_at, DestructionEvidence.id)
        )
        return [evidence_read(row) for row in rows]

    def destruction_of(
        self, uow: UnitOfWork, subject_id: str, category: str
    ) -> DestructionReport | None:
        """The latest destruction that took a subject's `category` (ids, rule, time; never a
        value), or None: why a change to that data finds nothing to change. Re-keyings
        (rectification) and holds destroyed nothing and are passed over."""
        rows = uow.records.scalars(
            select(DestructionEvidence)
            .where(
                DestructionEvidence.subject_id == subject_id,
                DestructionEvidence.status != "held",
                DestructionEvidence.reason.not_in(REKEY_REASONS),
            )
            .order_by(DestructionEvidence.started_at.desc(), DestructionEvidence.id.desc())
        )
        return next((evidence_read(r) for r in rows if category in _split(r.categories)), None)


def require_dpo_or_self(
    ctx: VaultContext,
    uow: UnitOfWork,
    subject: Subject,
    actor: Actor,
    what: str,
    clauses: tuple[str, ...],
) -> None:
    """Registers about a subject are for the DPO and for the subject itself."""
    policy = ctx.policy(subject.policy_id)
    role = next((r for r in policy.roles if r.id == actor.role), None)
    own = role is not None and role.kind.value == "subject" and actor.subject_id == subject.id
    if not (own or actor.role == "dpo"):
        with ctx.denials_audited(uow, actor, subject, "registers", ()):
            raise PurposeDenied(
                f"only the DPO and the subject may read {what}",
                reason="register_not_allowed",
                clauses=clauses,
            )
