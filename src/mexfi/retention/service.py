"""The retention executor: every due rule of every loaded policy, in batches, crash-safe.

Schedules come only from the policies' `retention` rules. Each sweep works in
batches that commit on their own and resume where a stopped or killed run left
off: a batch is a page of due subjects (by id, a keyset) and one unit of work. A
tiering batch moves their due rows, resealed under passive-tier keys, in its
transaction; a destruction batch claims its subjects by writing pending evidence
under their row locks, and the vault shreds keys, then rows, as soon as it
commits (a crash in between is finished by the next run). Two workers never take
the same rows: PostgreSQL skips rows another transaction has locked (`FOR UPDATE
SKIP LOCKED`); SQLite takes the write lock at the start of every transaction
(`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from mexfi.audit import AuditAction, AuditEvent
from mexfi.db import UnitOfWork, new_id
from mexfi.errors import Denied, Invalid, MexfiError
from mexfi.policy import (
    Policy,
    RetentionAction,
    RetentionRule,
    RetentionTrigger,
    RoleAction,
    RoleKind,
)
from mexfi.retention.errors import HoldNotFound
from mexfi.retention.models import LegalHold, RetentionRun
from mexfi.retention.schemas import (
    HoldRead,
    RetentionStatus,
    RuleOutcome,
    RunError,
    RunRead,
    RunReport,
)
from mexfi.scan import refuse_personal_data
from mexfi.vault import ACTIVE, Actor, DestructionReport, Vault

__all__ = [
    "DEFAULT_LEASE",
    "RetentionEngine",
    "active_holds",
    "certificates",
    "holds_on",
    "lift_hold",
    "place_hold",
    "retention_actor",
    "retention_status",
]

RETENTION_ACTOR_ID = "mexfi-retention"
#: A run whose heartbeat is older than this was killed: the next run closes it.
DEFAULT_LEASE = timedelta(minutes=15)
#: Batches of one sweep failing in a row before the rule gives up for this run (the store
#: is likely gone, not one batch bad).
MAX_FAILED_BATCHES = 3


def describe_error(exc: Exception) -> str:
    """What went wrong, fit for a report: a mexfi error's message names ids, never values;
    any other exception's text may carry data, so only its type is given."""
    if isinstance(exc, MexfiError):
        return f"{type(exc).__name__}: {exc.message}"
    return f"internal error {type(exc).__name__}: a bug in mexfi, please report it"


def retention_actor(policy: Policy) -> Actor:
    """The executor acts as the policy's own automated processing (a `system` role), the
    one granted destruction if there is one (`policy lint` MX112 flags a policy with none)."""
    for role in policy.roles:
        if role.kind is RoleKind.SYSTEM and RoleAction.DESTROY in role.actions:
            return Actor(RETENTION_ACTOR_ID, role.id)
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
    uow: UnitOfWork,
    *,
    policy_id: str,
    reason: str,
    actor: Actor,
    subject_id: str | None = None,
    category: str | None = None,
    at: datetime | None = None,
) -> HoldRead:
    """Put a subject, a category, or a subject's category on legal hold (DPO only); a reason
    or actor id carrying personal data is refused (`PersonalDataInText`)."""
    policy = vault.policy(policy_id)
    if actor.role != "dpo":
        raise Denied("only the DPO places legal holds", hint="act with the policy's `dpo` role")
    if subject_id is None and category is None:
        raise Invalid("a hold names a subject, a category, or both")
    if category is not None:
        policy.category(category)  # NotDeclared names the declared ones
    if not reason.strip():
        raise Invalid("a hold needs a reason (the lawful request or dispute it serves)")
    # Kept in the hold and the audit log for good: a reference, never a name or a number.
    refuse_personal_data(reason, field="the hold's reason")
    refuse_personal_data(actor.id, field="the actor id")
    now = at or vault.clock.now()
    pseudonym = None
    if subject_id is not None:
        subject = vault.subject(uow, subject_id)
        if subject.policy_id != policy_id:
            raise Invalid(f"subject {subject_id!r} is not a subject of policy {policy_id!r}")
        pseudonym = subject.pseudonym
    hold = LegalHold(
        id=new_id(),
        policy_id=policy_id,
        subject_id=subject_id,
        category=category,
        reason=reason,
        placed_by=actor.id,
        placed_at=now,
    )
    uow.records.add(hold)
    vault.audit.append(
        uow.records,
        AuditEvent(
            action=AuditAction.BLOCK,
            at=now,
            actor_id=actor.id,
            actor_role=actor.role,
            policy_id=policy_id,
            subject=pseudonym,
            categories=(category,) if category else (),
            reason="legal_hold_placed",
            reference=hold.id,
        ),
    )
    uow.records.flush()
    return _hold_read(hold)


def lift_hold(
    vault: Vault, uow: UnitOfWork, hold_id: str, *, actor: Actor, at: datetime | None = None
) -> HoldRead:
    """Lift a legal hold; the next run applies the rules it held back.

    Retention does not know the requests a hold kept waiting (requests import retention,
    never the reverse): the caller resumes them in the same unit of work
    (`mexfi.requests.resume_released`), as `mexfi retention hold lift` does.
    """
    now = at or vault.clock.now()
    hold = uow.records.get(LegalHold, hold_id)
    if hold is None:
        raise HoldNotFound(f"no legal hold {hold_id!r}")
    if hold.lifted_at is None:
        hold.lifted_at = now
        hold.lifted_by = actor.id
        vault.audit.append(
            uow.records,
            AuditEvent(
                action=AuditAction.UNBLOCK,
                at=now,
                actor_id=actor.id,
                actor_role=actor.role,
                policy_id=hold.policy_id,
                subject=vault.pseudonym(hold.subject_id) if hold.subject_id else None,
                categories=(hold.category,) if hold.category else (),
                reason="legal_hold_lifted",
                reference=hold.id,
            ),
        )
        uow.records.flush()
    return _hold_read(hold)


def active_holds(
    uow: UnitOfWork, *, policy_id: str | None = None, subject_id: str | None = None
) -> list[HoldRead]:
    query = select(LegalHold).where(LegalHold.lifted_at.is_(None))
    if policy_id is not None:
        query = query.where(LegalHold.policy_id == policy_id)
    if subject_id is not None:
        query = query.where(or_(LegalHold.subject_id == subject_id, LegalHold.subject_id.is_(None)))
    rows = uow.records.scalars(query.order_by(LegalHold.placed_at, LegalHold.id))
    return [_hold_read(row) for row in rows]


def holds_on(
    uow: UnitOfWork, policy_id: str, subject_id: str, categories: Collection[str]
) -> dict[str, str]:
    """{category: hold id} for each of `categories` a live hold keeps for this subject."""
    return _match_holds(_live_holds(uow.records, policy_id, subject_id), subject_id, categories)


Hold = tuple[str, str | None, str | None]
"""(hold id, subject id or None for every subject, category or None for every category)."""


def _live_holds(session: Session, policy_id: str, subject_id: str | None = None) -> list[Hold]:
    """The live holds of a policy (or those that reach one subject)."""
    query = select(LegalHold.id, LegalHold.subject_id, LegalHold.category).where(
        LegalHold.policy_id == policy_id, LegalHold.lifted_at.is_(None)
    )
    if subject_id is not None:
        query = query.where(or_(LegalHold.subject_id.is_(None), LegalHold.subject_id == subject_id))
    return [(row.id, row.subject_id, row.category) for row in session.execute(query)]


def _match_holds(
    holds: Sequence[Hold], subject_id: str, categories: Collection[str]
) -> dict[str, str]:
    held: dict[str, str] = {}
    for hold_id, held_subject, held_category in holds:
        if held_subject is not None and held_subject != subject_id:
            continue
        for category in categories:
            if held_category is None or held_category == category:
                held.setdefault(category, hold_id)
    return held


def certificates(
    vault: Vault, uow: UnitOfWork, subject_id: str, *, actor: Actor
) -> list[DestructionReport]:
    """A subject's destruction certificates (destroyed, or kept by a hold), DPO or subject."""
    # Staff ids, never names: the same rule wherever a person acts, recorded or not.
    refuse_personal_data(actor.id, field="the actor id")
    return vault.destruction_evidence(uow, subject_id, actor=actor)


def _run_read(row: RetentionRun) -> RunRead:
    summary = json.loads(row.summary or "[]")
    # Runs before the quarantine kept a list of rules; later ones an object.
    rules = summary if isinstance(summary, list) else summary.get("rules", [])
    errors = [] if isinstance(summary, list) else summary.get("errors", [])
    return RunRead(
        id=row.id,
        as_of=row.as_of,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        status=row.status,
        quarantined=sum(int(r.get("quarantined", 0)) for r in rules),
        errors=tuple(RunError(e["where"], e["error"]) for e in errors),
    )


def retention_status(
    vault: Vault, uow: UnitOfWork, *, runs: int = 10, quarantined: int = 50
) -> RetentionStatus:
    """The latest `runs` runs, the quarantine's counts and its newest `quarantined` records."""
    rows = uow.records.scalars(
        select(RetentionRun)
        .where(RetentionRun.dry_run.is_(False))
        .order_by(RetentionRun.started_at.desc(), RetentionRun.id)
        .limit(runs)
    )
    return RetentionStatus(
        runs=[_run_read(row) for row in rows],
        quarantine_counts=vault.quarantine_counts(uow),
        quarantined=vault.quarantined(uow, limit=quarantined),
    )


# --------------------------------------------------------------------------- the engine


class RetentionEngine:
    """Applies every due retention rule of the vault's policies, one unit of work a batch.

    A batch pages on through the due subjects by id (the vault's keyset), leaves out what
    a legal hold keeps (certifying it once per hold), and hands the rest to the vault:
    `tier` moves their due records in the batch's transaction; `destroy_many` records
    the intent in it and shreds keys, then rows, right after it commits.

    Faults stay where they are: a record that would not open is quarantined by the vault
    and its batch goes on; each rule runs inside its own error boundary, so a rule that
    fails is reported (`RunReport.errors`) and the next one still runs; policy files that
    could not be loaded (`unloaded`: {file: why}) are reported by every run.
    """

    def __init__(
        self,
        vault: Vault,
        *,
        batch_size: int = 1000,
        should_stop: Callable[[], bool] | None = None,
        on_progress: Callable[[RuleOutcome], None] | None = None,
        unloaded: Mapping[str, str] | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        if batch_size < 1:
            raise Invalid("batch size must be at least 1")
        if lease <= timedelta(0):
            raise Invalid("the lease of a run must be positive")
        self.vault = vault
        self.batch_size = batch_size
        self.should_stop = should_stop or (lambda: False)
        self.on_progress = on_progress
        self.unloaded = dict(unloaded or {})
        self.lease = lease
        #: The run in progress (None in a dry run): its heartbeat is beaten after each batch.
        self._run_id: str | None = None

    # ------------------------------------------------------------------ public

    def run(self, *, now: datetime | None = None, dry_run: bool = False) -> RunReport:
        """Apply (or with `dry_run`, count) every due rule once, as of `now`."""
        vault = self.vault
        as_of = now or vault.clock.now()
        report = RunReport(
            run_id=new_id(), as_of=as_of, dry_run=dry_run, status="running", rules=[]
        )
        report.errors.extend(
            RunError(f"policy file {file}", error) for file, error in sorted(self.unloaded.items())
        )
        if dry_run:
            self._apply_all(report, as_of, dry_run=True)
            report.status = "partial" if report.errors else "complete"
            return report
        with vault.unit_of_work() as uow:
            report.abandoned = self._close_abandoned(uow)
            started = vault.clock.now()
            uow.records.add(
                RetentionRun(
                    id=report.run_id,
                    as_of=as_of,
                    started_at=started,
                    heartbeat_at=started,
                    dry_run=False,
                    status="running",
                )
            )
            vault.refresh_statistics(uow)
        self._run_id = report.run_id
        try:
            # Destructions a crash interrupted are finished before anything new starts.
            try:
                report.recovered = self._recover()
            except Exception as exc:
                report.errors.append(RunError("pending destructions", describe_error(exc)))
            self._apply_all(report, as_of, dry_run=False)
        except BaseException:
            # Not left `running` for a later run to wait a lease on: closed as failed, if the
            # store still answers.
            report.status = "failed"
            with contextlib.suppress(Exception):
                self._close(report)
            raise
        finally:
            self._run_id = None
        if not self.should_stop():
            self._compact_key_store(report)
        if self.should_stop():
            report.status = "stopped"
        else:
            report.status = "partial" if report.errors else "complete"
        self._close(report)
        return report

    def _apply_all(self, report: RunReport, as_of: datetime, *, dry_run: bool) -> None:
        """Every rule of every loaded policy, each inside its own error boundary."""
        for policy in self.vault.policies.values():
            for rule in policy.retention:
                outcome = RuleOutcome(
                    policy_id=policy.id,
                    rule_id=rule.id,
                    action=rule.action.value,
                    clauses=tuple(rule.clauses),
                    cutoff=rule.after.before(as_of),
                )
                report.rules.append(outcome)
                try:
                    self._apply(policy, rule, outcome, dry_run)
                except Exception as exc:
                    # The failed batch rolled back; the batches before it stay done.
                    outcome.error = describe_error(exc)
                if outcome.error is not None:
                    where = f"rule {policy.id}/{rule.id}"
                    if outcome.failed_batches:
                        where += f" ({outcome.failed_batches} batch(es) left for the next run)"
                    report.errors.append(RunError(where, outcome.error))
                if self.should_stop():
                    return

    def _compact_key_store(self, report: RunReport) -> None:
        """Once a run: the key-store table rewritten if a shredding left keys in its free
        space (PostgreSQL) and the vault's interval allows; a failure is reported and the
        next run tries again (the vault keeps count of the rewrite owed)."""
        try:
            compaction = self.vault.compact_key_store()
        except Exception as exc:
            report.errors.append(RunError("key-store compaction", describe_error(exc)))
            return
        if compaction.rewritten:
            report.key_store_rewritten_in = compaction.seconds

    def _close(self, report: RunReport) -> None:
        with self.vault.unit_of_work() as uow:
            uow.records.execute(
                update(RetentionRun)
                .where(RetentionRun.id == report.run_id)
                .values(
                    status=report.status,
                    finished_at=self.vault.clock.now(),
                    summary=json.dumps(report.summary()),
                )
            )

    def _close_abandoned(self, uow: UnitOfWork) -> list[str]:
        """Close the runs left `running` by a killed process: no heartbeat within the lease."""
        now = self.vault.clock.now()
        last_seen = func.coalesce(RetentionRun.heartbeat_at, RetentionRun.started_at)
        abandoned = list(
            uow.records.scalars(
                select(RetentionRun.id)
                .where(RetentionRun.status == "running", last_seen < now - self.lease)
                .order_by(RetentionRun.started_at)
            )
        )
        if abandoned:
            uow.records.execute(
                update(RetentionRun)
                .where(RetentionRun.id.in_(abandoned), RetentionRun.status == "running")
                .values(status="abandoned", finished_at=now)
            )
        return abandoned

    def _beat(self, uow: UnitOfWork) -> None:
        """The run is alive: its heartbeat moves with every batch it commits."""
        if self._run_id is not None:
            uow.records.execute(
                update(RetentionRun)
                .where(RetentionRun.id == self._run_id)
                .values(heartbeat_at=self.vault.clock.now())
            )

    def _recover(self) -> int:
        actor = Actor(RETENTION_ACTOR_ID, "system")
        recovered = 0
        while True:
            with self.vault.unit_of_work() as uow:
                queued = self.vault.complete_destructions(uow, actor=actor, limit=self.batch_size)
            recovered += queued
            if queued < self.batch_size:
                return recovered

    # ------------------------------------------------------------------ rules

    def _apply(
        self, policy: Policy, rule: RetentionRule, outcome: RuleOutcome, dry_run: bool
    ) -> None:
        cutoff = outcome.cutoff
        assert cutoff is not None
        if rule.trigger not in (RetentionTrigger.REGISTRATION, RetentionTrigger.COLLECTION):
            outcome.skipped = (
                f"trigger {rule.trigger.value!r} is not tracked by the store yet; "
                "the rule was not applied"
            )
            return
        by_registration = rule.trigger is RetentionTrigger.REGISTRATION
        if dry_run:
            self._count(policy, rule, cutoff, outcome, by_registration=by_registration)
            return
        for kind, categories in _by_kind(policy, rule).items():
            if rule.action is RetentionAction.PASSIVE:
                self._sweep(policy, rule, kind, categories, cutoff, outcome, self._tier_batch)
            elif by_registration:
                self._sweep(policy, rule, kind, categories, cutoff, outcome, self._destroy_batch)
            else:
                self._sweep(policy, rule, kind, categories, cutoff, outcome, self._expire_batch)

    def _count(
        self,
        policy: Policy,
        rule: RetentionRule,
        cutoff: datetime,
        outcome: RuleOutcome,
        *,
        by_registration: bool,
    ) -> None:
        """A dry run: what is due and what a hold keeps, changing nothing."""
        vault = self.vault
        with vault.unit_of_work() as uow:
            holds = _live_holds(uow.records, policy.id)
            if by_registration and rule.action is RetentionAction.DESTROY:
                # Subjects: each destroyed as a whole.
                for kind, categories in _by_kind(policy, rule).items():
                    for subject_id in vault.due_subjects(
                        uow,
                        policy_id=policy.id,
                        kind=kind,
                        categories=categories,
                        registered_before=cutoff,
                    ):
                        held = _match_holds(holds, subject_id, categories)
                        if len(held) == len(categories):
                            outcome.held += 1
                        else:
                            outcome.due += 1
                return
            due = vault.due_records(
                uow,
                policy_id=policy.id,
                categories=rule.categories,
                collected_before=None if by_registration else cutoff,
                registered_before=cutoff if by_registration else None,
            )
            for (subject_id, category), count in due.items():
                if _match_holds(holds, subject_id, [category]):
                    outcome.held += count
                else:
                    outcome.due += count

    def _sweep(
        self,
        policy: Policy,
        rule: RetentionRule,
        kind: str,
        categories: list[str],
        cutoff: datetime,
        outcome: RuleOutcome,
        batch: Callable[
            [UnitOfWork, Policy, RetentionRule, list[str], list[str], datetime, RuleOutcome], int
        ],
    ) -> None:
        """Page through the due subjects of one kind, one unit of work per batch.

        A destruction batch is `batch_size` subjects. A subject moves to the passive tier
        whole, so a tiering batch takes as many subjects as hold about `batch_size` due
        records, judged by the batches before it.
        """
        vault = self.vault
        after: str | None = None
        by_registration = rule.trigger is RetentionTrigger.REGISTRATION
        whole_subjects = rule.action is RetentionAction.DESTROY and by_registration
        limit = self.batch_size if whole_subjects else max(1, self.batch_size // 10)
        failed_in_a_row = 0
        while not self.should_stop():
            counts = _counts(outcome)
            paged = False
            try:
                with vault.unit_of_work() as uow:
                    ids = vault.due_subjects(
                        uow,
                        policy_id=policy.id,
                        kind=kind,
                        categories=categories,
                        registered_before=cutoff if by_registration else None,
                        collected_before=None if by_registration else cutoff,
                        tiers=("active", "passive")
                        if rule.action is RetentionAction.DESTROY and by_registration
                        else (ACTIVE,),
                        after=after,
                        limit=limit,
                        lock=True,
                    )
                    if not ids:
                        return
                    paged = True
                    after = ids[-1]
                    records = batch(uow, policy, rule, categories, ids, cutoff, outcome)
                    self._beat(uow)
            except Exception as exc:
                # A batch's fault stays in its batch: it rolled back, its subjects wait for the
                # next run, and the pages after it go on. No page at all, or failure after
                # failure, ends the rule (its boundary reports it).
                _restore_counts(outcome, counts)
                failed_in_a_row += 1
                if not paged or failed_in_a_row >= MAX_FAILED_BATCHES:
                    raise
                outcome.failed_batches += 1
                outcome.error = describe_error(exc)
                continue
            failed_in_a_row = 0
            if not whole_subjects and records:
                per_subject = records / len(ids)
                limit = max(1, min(self.batch_size, round(self.batch_size / per_subject)))
            if self.on_progress:
                self.on_progress(outcome)

    def _split_held(
        self,
        uow: UnitOfWork,
        policy: Policy,
        rule: RetentionRule,
        categories: list[str],
        ids: list[str],
    ) -> tuple[dict[tuple[str, ...], list[str]], list[tuple[str, list[str], str]]]:
        """The subjects by the categories no hold keeps, and (subject, categories, hold) held."""
        holds = _live_holds(uow.records, policy.id)
        free: dict[tuple[str, ...], list[str]] = defaultdict(list)
        held: list[tuple[str, list[str], str]] = []
        for subject_id in ids:
            matched = _match_holds(holds, subject_id, categories) if holds else {}
            for hold_id in sorted(set(matched.values())):
                held.append(
                    (subject_id, sorted(c for c, h in matched.items() if h == hold_id), hold_id)
                )
            kept = tuple(c for c in categories if c not in matched)
            if kept:
                free[kept].append(subject_id)
        return free, held

    def _tier_batch(
        self,
        uow: UnitOfWork,
        policy: Policy,
        rule: RetentionRule,
        categories: list[str],
        ids: list[str],
        cutoff: datetime,
        outcome: RuleOutcome,
    ) -> int:
        vault = self.vault
        moved_records = 0

        def quarantined(count: int) -> None:
            outcome.quarantined += count

        free, held = self._split_held(uow, policy, rule, categories, ids)
        if held:
            due = vault.due_records(
                uow,
                policy_id=policy.id,
                categories=categories,
                collected_before=cutoff,
                subject_ids=[s for s, _, _ in held],
            )
            held_scopes = {(s, c) for s, cats, _ in held for c in cats}
            outcome.held += sum(n for scope, n in due.items() if scope in held_scopes)
        actor = retention_actor(policy)
        for free_categories, subject_ids in free.items():
            moved = vault.tier(
                uow,
                policy.id,
                subject_ids,
                free_categories,
                collected_before=cutoff,
                rule_id=rule.id,
                clauses=rule.clauses,
                actor=actor,
                on_quarantine=quarantined,
            )
            count = sum(moved.values())
            outcome.due += count
            outcome.done += count
            outcome.records += count
            moved_records += count
        return moved_records

    def _destroy_batch(
        self,
        uow: UnitOfWork,
        policy: Policy,
        rule: RetentionRule,
        categories: list[str],
        ids: list[str],
        cutoff: datetime,
        outcome: RuleOutcome,
    ) -> int:
        vault = self.vault
        actor = retention_actor(policy)
        free, held = self._split_held(uow, policy, rule, categories, ids)
        vault.certify_holds(uow, held, rule_id=rule.id, clauses=rule.clauses, actor=actor)
        targets = [(s, list(cats)) for cats, subject_ids in free.items() for s in subject_ids]
        outcome.held += len({s for s, _, _ in held} - {s for s, _ in targets})

        def destroyed(records: int) -> None:
            outcome.records += records

        # Pending evidence, written under the subjects' row locks, claims them; the keys and
        # rows go right after this batch commits, and then `destroyed` hears the count.
        vault.destroy_many(
            uow,
            targets,
            reason="retention",
            actor=actor,
            rule_id=rule.id,
            clauses=rule.clauses,
            on_complete=destroyed,
        )
        outcome.due += len(targets)
        outcome.done += len(targets)
        return len(targets)

    def _expire_batch(
        self,
        uow: UnitOfWork,
        policy: Policy,
        rule: RetentionRule,
        categories: list[str],
        ids: list[str],
        cutoff: datetime,
        outcome: RuleOutcome,
    ) -> int:
        """Records due one by one (trigger: collection): each scope is re-keyed without them."""
        vault = self.vault
        destroyed = 0
        actor = retention_actor(policy)

        def quarantined(count: int) -> None:
            outcome.quarantined += count

        free, held = self._split_held(uow, policy, rule, categories, ids)
        vault.certify_holds(uow, held, rule_id=rule.id, clauses=rule.clauses, actor=actor)
        for free_categories, subject_ids in free.items():
            for subject_id in subject_ids:
                for category in free_categories:
                    report = vault.destroy_records(
                        uow,
                        subject_id,
                        category,
                        (),
                        collected_before=cutoff,
                        reason="retention",
                        actor=actor,
                        rule_id=rule.id,
                        clauses=rule.clauses,
                        on_quarantine=quarantined,
                    )
                    outcome.due += report.records_destroyed
                    outcome.done += report.records_destroyed
                    outcome.records += report.records_destroyed
                    destroyed += report.records_destroyed
        return destroyed


_Counts = tuple[int, int, int, int, int]


def _counts(outcome: RuleOutcome) -> _Counts:
    return (outcome.due, outcome.done, outcome.records, outcome.held, outcome.quarantined)


def _restore_counts(outcome: RuleOutcome, counts: _Counts) -> None:
    """Undo what a batch that rolled back had counted."""
    outcome.due, outcome.done, outcome.records, outcome.held, outcome.quarantined = counts


def _by_kind(policy: Policy, rule: RetentionRule) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = defaultdict(list)
    for category in rule.categories:
        kinds[policy.category(category).subject].append(category)
    return dict(sorted(kinds.items()))
