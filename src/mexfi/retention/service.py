"""The retention executor: every due rule of every loaded policy, in batches, crash-safe.

Schedules come only from the policies' `retention` rules. Each sweep works in
batches that commit on their own and resume where a stopped or killed run left
off: a tiering batch moves rows and their re-encrypted payloads in one
transaction; a destruction batch claims its subjects by writing pending
evidence under their row locks, and `Vault.complete_destructions` shreds keys,
then rows. Two workers never take the same rows: PostgreSQL skips rows another
transaction has locked (`FOR UPDATE SKIP LOCKED`); SQLite takes the write lock
at the start of every transaction (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Row, Select, and_, delete, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from mexfi.audit import AuditAction, AuditEvent
from mexfi.policy.schema import (
    Policy,
    RetentionAction,
    RetentionRule,
    RetentionTrigger,
    RoleKind,
)
from mexfi.retention.errors import HoldNotFound
from mexfi.retention.models import LegalHold, RetentionRun
from mexfi.retention.schemas import HoldRead, RuleOutcome, RunReport
from mexfi.vault import Actor, DestructionReport, Vault
from mexfi.vault.core import new_id
from mexfi.vault.errors import InvalidValue
from mexfi.vault.models import DestructionEvidence, PassiveRecord, Record, Subject
from mexfi.vault.service import ACTIVE, PASSIVE, bulk_insert

__all__ = [
    "RetentionEngine",
    "active_holds",
    "certificates",
    "holds_on",
    "lift_hold",
    "place_hold",
    "retention_actor",
]

RETENTION_ACTOR_ID = "mexfi-retention"


def retention_actor(policy: Policy) -> Actor:
    """The executor acts as the policy's own automated processing (a `system` role)."""
    for role in policy.roles:
        if role.kind is RoleKind.SYSTEM:
            return Actor(RETENTION_ACTOR_ID, role.id)
    return Actor(RETENTION_ACTOR_ID, policy.roles[0].id)


def _hold_read(row: LegalHold) -> HoldRead:
    return HoldRead(
        id=row.id,
        policy_id=row.policy_id,
        subject_id=row.subject_id,
        category=row.category,
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        lifted_at=row.lifted_at,
    )


# --------------------------------------------------------------------------- holds


def place_hold(
    vault: Vault,
    *,
    policy_id: str,
    reason: str,
    actor: Actor,
    subject_id: str | None = None,
    category: str | None = None,
    at: datetime | None = None,
) -> HoldRead:
    """Put a subject, a category, or a subject's category on legal hold (DPO only)."""
    policy = vault.policy(policy_id)
    if actor.role != "dpo":
        raise InvalidValue(
            "only the DPO places legal holds", hint="act with the policy's `dpo` role"
        )
    if subject_id is None and category is None:
        raise InvalidValue("a hold names a subject, a category, or both")
    if category is not None and category not in {c.id for c in policy.categories}:
        raise InvalidValue(f"category {category!r} is not declared in policy {policy_id!r}")
    if not reason.strip():
        raise InvalidValue("a hold needs a reason (the lawful request or dispute it serves)")
    now = at or vault.clock.now()
    with vault.store.records() as session:
        subject = None
        if subject_id is not None:
            subject = session.get(Subject, subject_id)
            if subject is None or subject.policy_id != policy_id:
                raise InvalidValue(f"no subject {subject_id!r} in policy {policy_id!r}")
        hold = LegalHold(
            id=new_id(),
            policy_id=policy_id,
            subject_id=subject_id,
            category=category,
            reason=reason,
            placed_by=actor.id,
            placed_at=now,
        )
        session.add(hold)
        vault.audit.append(
            session,
            AuditEvent(
                action=AuditAction.BLOCK,
                at=now,
                actor_id=actor.id,
                actor_role=actor.role,
                policy_id=policy_id,
                subject=subject.pseudonym if subject else None,
                categories=(category,) if category else (),
                reason="legal_hold_placed",
                reference=hold.id,
            ),
        )
        return _hold_read(hold)


def lift_hold(vault: Vault, hold_id: str, *, actor: Actor, at: datetime | None = None) -> HoldRead:
    """Lift a legal hold; the next run applies the rules it held back."""
    now = at or vault.clock.now()
    with vault.store.records() as session:
        hold = session.get(LegalHold, hold_id)
        if hold is None:
            raise HoldNotFound(f"no legal hold {hold_id!r}")
        if hold.lifted_at is None:
            hold.lifted_at = now
            hold.lifted_by = actor.id
            subject = session.get(Subject, hold.subject_id) if hold.subject_id else None
            vault.audit.append(
                session,
                AuditEvent(
                    action=AuditAction.UNBLOCK,
                    at=now,
                    actor_id=actor.id,
                    actor_role=actor.role,
                    policy_id=hold.policy_id,
                    subject=subject.pseudonym if subject else None,
                    categories=(hold.category,) if hold.category else (),
                    reason="legal_hold_lifted",
                    reference=hold.id,
                ),
            )
        return _hold_read(hold)


def active_holds(
    vault: Vault, *, policy_id: str | None = None, subject_id: str | None = None
) -> list[HoldRead]:
    with vault.store.records() as session:
        query = select(LegalHold).where(LegalHold.lifted_at.is_(None))
        if policy_id is not None:
            query = query.where(LegalHold.policy_id == policy_id)
        if subject_id is not None:
            query = query.where(
                or_(LegalHold.subject_id == subject_id, LegalHold.subject_id.is_(None))
            )
        return [_hold_read(row) for row in session.scalars(query.order_by(LegalHold.placed_at))]


def holds_on(
    session: Session, policy_id: str, subject_id: str, categories: Collection[str]
) -> dict[str, str]:
    """{category: hold id} for each of `categories` a live hold keeps for this subject."""
    return _match_holds(_live_holds(session, policy_id, subject_id), subject_id, categories)


def _live_holds(
    session: Session, policy_id: str, subject_id: str | None = None
) -> list[tuple[str, str | None, str | None]]:
    """(hold id, subject id, category) of the live holds of a policy (or of one subject)."""
    query = select(LegalHold.id, LegalHold.subject_id, LegalHold.category).where(
        LegalHold.policy_id == policy_id, LegalHold.lifted_at.is_(None)
    )
    if subject_id is not None:
        query = query.where(or_(LegalHold.subject_id.is_(None), LegalHold.subject_id == subject_id))
    return [(row.id, row.subject_id, row.category) for row in session.execute(query)]


def _match_holds(
    holds: Sequence[tuple[str, str | None, str | None]],
    subject_id: str,
    categories: Collection[str],
) -> dict[str, str]:
    held: dict[str, str] = {}
    for hold_id, held_subject, held_category in holds:
        if held_subject is not None and held_subject != subject_id:
            continue
        for category in categories:
            if held_category is None or held_category == category:
                held.setdefault(category, hold_id)
    return held


def _not_held(
    policy_id: str,
    subject_col: InstrumentedAttribute[str],
    category_col: InstrumentedAttribute[str] | None,
) -> ColumnElement[bool]:
    """SQL: no live hold covers this subject (and, if given, this category)."""
    condition = and_(
        LegalHold.policy_id == policy_id,
        LegalHold.lifted_at.is_(None),
        or_(LegalHold.subject_id.is_(None), LegalHold.subject_id == subject_col),
    )
    if category_col is not None:
        condition = and_(
            condition, or_(LegalHold.category.is_(None), LegalHold.category == category_col)
        )
    return ~exists().where(condition)


def certificates(vault: Vault, subject_id: str, *, actor: Actor) -> list[DestructionReport]:
    """A subject's destruction certificates (destroyed, or kept by a hold), DPO or subject."""
    return vault.destruction_evidence(subject_id, actor=actor)


# --------------------------------------------------------------------------- the engine


class RetentionEngine:
    """Applies every due retention rule of the vault's policies."""

    def __init__(
        self,
        vault: Vault,
        *,
        batch_size: int = 1000,
        should_stop: Callable[[], bool] | None = None,
        on_progress: Callable[[RuleOutcome], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidValue("batch size must be at least 1")
        self.vault = vault
        self.batch_size = batch_size
        self.should_stop = should_stop or (lambda: False)
        self.on_progress = on_progress

    # ------------------------------------------------------------------ public

    def run(self, *, now: datetime | None = None, dry_run: bool = False) -> RunReport:
        """Apply (or with `dry_run`, count) every due rule once, as of `now`."""
        as_of = now or self.vault.clock.now()
        report = RunReport(
            run_id=new_id(), as_of=as_of, dry_run=dry_run, status="running", rules=[]
        )
        if not dry_run:
            with self.vault.store.records() as session:
                session.add(
                    RetentionRun(
                        id=report.run_id,
                        as_of=as_of,
                        started_at=self.vault.clock.now(),
                        dry_run=False,
                        status="running",
                    )
                )
            self._refresh_statistics()
            # Destructions a crash interrupted are finished before anything new starts.
            report.recovered = self.vault.complete_destructions(
                actor=Actor(RETENTION_ACTOR_ID, "system"), batch_size=self.batch_size
            )
        for policy in self.vault.policies.values():
            for rule in policy.retention:
                outcome = self._apply(policy, rule, as_of, dry_run)
                report.rules.append(outcome)
                if self.should_stop():
                    break
            if self.should_stop():
                break
        report.status = "stopped" if self.should_stop() else "complete"
        if not dry_run:
            with self.vault.store.records() as session:
                run = session.get(RetentionRun, report.run_id)
                assert run is not None
                run.status = report.status
                run.finished_at = self.vault.clock.now()
                run.summary = json.dumps([r.to_dict() for r in report.rules])
        return report

    def _refresh_statistics(self) -> None:
        """PostgreSQL: fresh planner statistics before a sweep.

        After a bulk load, stale estimates make the planner loop over subjects with a
        bitmap scan each, hundreds of times a batch; ANALYZE samples, so it costs little.
        """
        engine = self.vault.store.records_engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    "ANALYZE subjects, records, legal_holds, destruction_evidence"
                )

    # ------------------------------------------------------------------ rules

    def _apply(
        self, policy: Policy, rule: RetentionRule, as_of: datetime, dry_run: bool
    ) -> RuleOutcome:
        cutoff = rule.after.before(as_of)
        outcome = RuleOutcome(
            policy_id=policy.id,
            rule_id=rule.id,
            action=rule.action.value,
            clauses=tuple(rule.clauses),
            cutoff=cutoff,
        )
        if rule.trigger not in (RetentionTrigger.REGISTRATION, RetentionTrigger.COLLECTION):
            outcome.skipped = (
                f"trigger {rule.trigger.value!r} is not tracked by the store yet; "
                "the rule was not applied"
            )
            return outcome
        if rule.action is RetentionAction.PASSIVE:
            self._count_records(policy, rule, cutoff, outcome)
            if not dry_run:
                self._tier(policy, rule, cutoff, outcome)
        elif rule.trigger is RetentionTrigger.REGISTRATION:
            self._count_subjects(policy, rule, cutoff, outcome)
            if not dry_run:
                self._destroy_subjects(policy, rule, cutoff, outcome)
        else:
            self._count_records(policy, rule, cutoff, outcome)
            if not dry_run:
                self._destroy_records(policy, rule, cutoff, outcome)
        return outcome

    def _due_records(
        self, policy: Policy, rule: RetentionRule, cutoff: datetime, *, held: bool
    ) -> Select[str]:
        hold_filter = _not_held(policy.id, Record.subject_id, Record.category)
        time_column = (
            Subject.registered_at
            if rule.trigger is RetentionTrigger.REGISTRATION
            else Record.collected_at
        )
        return (
            select(Record.id)
            .join(Subject, Subject.id == Record.subject_id)
            .where(
                Subject.policy_id == policy.id,
                Record.category.in_(rule.categories),
                time_column <= cutoff,
                ~hold_filter if held else hold_filter,
            )
        )

    def _count_records(
        self, policy: Policy, rule: RetentionRule, cutoff: datetime, outcome: RuleOutcome
    ) -> None:
        with self.vault.store.records() as session:
            # Counting the held rows costs a second scan; with no live hold there are none.
            kinds = (
                ((False, "due"), (True, "held"))
                if _live_holds(session, policy.id)
                else ((False, "due"),)
            )
            for held, attr in kinds:
                query = self._due_records(policy, rule, cutoff, held=held).subquery()
                setattr(
                    outcome, attr, int(session.scalar(select(func.count()).select_from(query)) or 0)
                )

    def _lock(self, query: Select[str], session: Session, *of: type) -> Select[str]:
        if session.get_bind().dialect.name == "postgresql":
            return query.with_for_update(of=list(of) or None, skip_locked=True)
        return query  # SQLite: BEGIN IMMEDIATE already serialises the batch

    def _tier(
        self, policy: Policy, rule: RetentionRule, cutoff: datetime, outcome: RuleOutcome
    ) -> None:
        """Move due records to the passive tier, re-encrypted under passive-tier keys."""
        actor = retention_actor(policy)
        while not self.should_stop():
            with self.vault.store.records() as session:
                # No ORDER BY: any due rows will do, and without it PostgreSQL stops at
                # the batch size instead of sorting every due row under the lock.
                ids_query = self._lock(
                    self._due_records(policy, rule, cutoff, held=False).limit(self.batch_size),
                    session,
                    Record,
                )
                ids = list(session.scalars(ids_query))
                if not ids:
                    return
                rows = session.execute(
                    select(
                        Record.id,
                        Record.subject_id,
                        Record.category,
                        Record.collected_at,
                        Record.updated_at,
                        Record.key_id,
                        Record.payload,
                    ).where(Record.id.in_(ids))
                ).all()
                moved = self._move_rows(session, policy, rule, rows, actor)
                outcome.done += len(ids)
                outcome.records += moved
            if self.on_progress:
                self.on_progress(outcome)

    def _move_rows(
        self,
        session: Session,
        policy: Policy,
        rule: RetentionRule,
        rows: Sequence[Row[str, str, str, datetime, datetime | None, str, bytes]],
        actor: Actor,
    ) -> int:
        vault = self.vault
        now = vault.clock.now()
        active_scopes = {(r.subject_id, r.category, ACTIVE) for r in rows}
        passive_scopes = {(r.subject_id, r.category, PASSIVE) for r in rows}
        # Passive keys commit before the rows that use them (an orphan key is harmless).
        with vault.store.keys() as key_session:
            active = vault.keys.load_all(key_session, active_scopes)
            passive = vault.keys.ensure(key_session, passive_scopes, at=now)
        subjects = {
            s.id: s
            for s in session.scalars(
                select(Subject).where(Subject.id.in_({r.subject_id for r in rows}))
            )
        }
        moved = []
        orphaned = []
        per_subject: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            dek = active.get(row.key_id)
            if dek is None:
                orphaned.append(row.id)  # its key was shredded: nothing left to keep
                continue
            category = policy.category(row.category)
            values = vault.decrypt_payload(
                policy, row.subject_id, row.id, category, row.payload, dek
            )
            key_id, passive_dek = passive[(row.subject_id, row.category, PASSIVE)]
            moved.append(
                {
                    "id": row.id,
                    "subject_id": row.subject_id,
                    "category": row.category,
                    "collected_at": row.collected_at,
                    "updated_at": row.updated_at,
                    "key_id": key_id,
                    "payload": vault.encrypt_payload(
                        policy, row.subject_id, row.id, category, values, passive_dek
                    ),
                    "moved_at": now,
                    "rule_id": rule.id,
                }
            )
            per_subject[row.subject_id].append(row.category)
        bulk_insert(session, PassiveRecord, moved)
        session.execute(delete(Record).where(Record.id.in_([r.id for r in rows])))
        vault.audit.append_many(
            session,
            [
                AuditEvent(
                    action=AuditAction.TIER,
                    at=now,
                    actor_id=actor.id,
                    actor_role=actor.role,
                    policy_id=policy.id,
                    subject=subjects[subject_id].pseudonym,
                    categories=tuple(sorted(set(categories))),
                    clauses=tuple(rule.clauses),
                    count=len(categories),
                    reason="moved_to_passive_tier",
                    reference=rule.id,
                )
                for subject_id, categories in per_subject.items()
            ],
        )
        return len(moved)

    # ------------------------------------------------------------------ destruction

    def _due_subjects(self, policy: Policy, rule: RetentionRule, cutoff: datetime) -> Select[str]:
        """Subjects registered before the cut-off that still hold data of the rule's categories
        and are not already being destroyed under this rule."""
        has_data = or_(
            exists().where(Record.subject_id == Subject.id, Record.category.in_(rule.categories)),
            exists().where(
                PassiveRecord.subject_id == Subject.id,
                PassiveRecord.category.in_(rule.categories),
            ),
        )
        in_progress = exists().where(
            DestructionEvidence.subject_id == Subject.id,
            DestructionEvidence.rule_id == rule.id,
            DestructionEvidence.status == "pending",
        )
        kinds = {policy.category(c).subject for c in rule.categories}
        return select(Subject.id).where(
            Subject.policy_id == policy.id,
            Subject.kind.in_(kinds),
            Subject.registered_at <= cutoff,
            has_data,
            ~in_progress,
        )

    def _count_subjects(
        self, policy: Policy, rule: RetentionRule, cutoff: datetime, outcome: RuleOutcome
    ) -> None:
        with self.vault.store.records() as session:
            due = list(session.scalars(self._due_subjects(policy, rule, cutoff)))
            holds = _live_holds(session, policy.id)
            for subject_id in due:
                held = _match_holds(holds, subject_id, rule.categories)
                if len(held) == len(rule.categories):
                    outcome.held += 1
                else:
                    outcome.due += 1

    def _destroy_subjects(
        self, policy: Policy, rule: RetentionRule, cutoff: datetime, outcome: RuleOutcome
    ) -> None:
        """Crypto-shred the rule's categories of each due subject; certify each subject."""
        actor = retention_actor(policy)
        skipped: set[str] = set()  # fully held subjects, certified once per run
        while not self.should_stop():
            with self.vault.store.records() as session:
                query = self._due_subjects(policy, rule, cutoff)
                if skipped:
                    query = query.where(Subject.id.not_in(skipped))
                ids = list(
                    session.scalars(
                        self._lock(
                            query.limit(self.batch_size),
                            session,
                            Subject,
                        )
                    )
                )
                if not ids:
                    break
                targets: list[tuple[str, list[str]]] = []
                holds = _live_holds(session, policy.id)
                for subject_id in ids:
                    held = _match_holds(holds, subject_id, rule.categories)
                    free = [c for c in rule.categories if c not in held]
                    if held:
                        self._certify_hold(session, policy, rule, subject_id, held, actor)
                    if free:
                        targets.append((subject_id, free))
                    else:
                        skipped.add(subject_id)  # counted as held by _count_subjects
                # Pending evidence, written under the row locks, claims these subjects.
                claimed = self.vault.destroy_many(
                    targets,
                    reason="retention",
                    actor=actor,
                    rule_id=rule.id,
                    clauses=rule.clauses,
                    session=session,
                )
            self.vault.complete_destructions(actor=actor, batch_size=self.batch_size)
            with self.vault.store.records() as session:
                destroyed = session.scalar(
                    select(func.coalesce(func.sum(DestructionEvidence.records_destroyed), 0)).where(
                        DestructionEvidence.id.in_([c.evidence_id for c in claimed])
                    )
                )
            outcome.done += len(targets)
            outcome.records += int(destroyed or 0)
            if self.on_progress:
                self.on_progress(outcome)

    def _certify_hold(
        self,
        session: Session,
        policy: Policy,
        rule: RetentionRule,
        subject_id: str,
        held: dict[str, str],
        actor: Actor,
    ) -> None:
        """A certificate that the rule was due but a hold kept the data (once per hold)."""
        subject = session.get(Subject, subject_id)
        assert subject is not None
        for hold_id in set(held.values()):
            already = session.scalar(
                select(DestructionEvidence.id).where(
                    DestructionEvidence.subject_id == subject_id,
                    DestructionEvidence.rule_id == rule.id,
                    DestructionEvidence.hold_id == hold_id,
                )
            )
            if already is not None:
                continue
            now = self.vault.clock.now()
            session.add(
                DestructionEvidence(
                    id=new_id(),
                    policy_id=policy.id,
                    subject_id=subject_id,
                    subject_pseudonym=subject.pseudonym,
                    categories=",".join(sorted(c for c, h in held.items() if h == hold_id)),
                    key_ids="",
                    records_destroyed=0,
                    reason="legal_hold",
                    rule_id=rule.id,
                    hold_id=hold_id,
                    clauses=",".join(rule.clauses),
                    actor_id=actor.id,
                    status="held",
                    started_at=now,
                    completed_at=now,
                )
            )

    def _destroy_records(
        self, policy: Policy, rule: RetentionRule, cutoff: datetime, outcome: RuleOutcome
    ) -> None:
        """Destroy individually due records: each scope is re-keyed without them."""
        actor = retention_actor(policy)
        while not self.should_stop():
            with self.vault.store.records() as session:
                rows = session.execute(
                    select(Record.subject_id, Record.category, Record.id)
                    .where(Record.id.in_(self._due_records(policy, rule, cutoff, held=False)))
                    .limit(self.batch_size)
                ).all()
            if not rows:
                return
            scopes: dict[tuple[str, str], list[str]] = defaultdict(list)
            for subject_id, category, record_id in rows:
                scopes[(subject_id, category)].append(record_id)
            for (subject_id, category), record_ids in scopes.items():
                report = self.vault.destroy_records(
                    subject_id,
                    category,
                    record_ids,
                    reason="retention",
                    actor=actor,
                    rule_id=rule.id,
                    clauses=rule.clauses,
                )
                outcome.done += len(record_ids)
                outcome.records += report.records_destroyed
            if self.on_progress:
                self.on_progress(outcome)
