"""Subjects: registered, found by phone through the blind index (truncated: candidates are
confirmed by decrypting their phone, `phone_index.py`), blocked or prohibited, and paged
through by the retention sweeps."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, select, union_all

from mexfi.audit import AuditAction, AuditEvent
from mexfi.clock import utc
from mexfi.consent import Method, Source, record_acceptances
from mexfi.db import UnitOfWork, new_id
from mexfi.errors import Conflict
from mexfi.policy import Policy, RightKind, RoleAction
from mexfi.vault.access import right_clauses
from mexfi.vault.actions import authorize_action
from mexfi.vault.bulk import bulk_insert, is_postgres, one_of
from mexfi.vault.context import ACTIVE, PASSIVE, TIERS, VaultContext, subject_read
from mexfi.vault.errors import InvalidValue, SubjectNotFound
from mexfi.vault.models import DestructionEvidence, PassiveRecord, Record, Subject
from mexfi.vault.phone_index import holders, lock_index, phone_field
from mexfi.vault.records import Records
from mexfi.vault.schemas import (
    Actor,
    CategorySummary,
    DestroyedCandidate,
    RecordCreate,
    SubjectRead,
)
from mexfi.vault.values import normalise_phone

__all__ = ["STATUSES", "Subjects"]

STATUSES = ("active", "blocked", "prohibited")
_PSEUDONYM_RE = re.compile(r"ps_[0-9a-f]{24}")


class Subjects:
    """Subjects of the loaded policies; the subject row is also the lock on its keys."""

    def __init__(self, ctx: VaultContext, records: Records) -> None:
        self.ctx = ctx
        self.records = records

    @staticmethod
    def _check_kind(policy: Policy, kind: str) -> None:
        if kind not in {s.id for s in policy.subjects}:
            raise InvalidValue(
                f"subject kind {kind!r} is not declared in policy {policy.id!r}",
                hint=f"declared: {', '.join(s.id for s in policy.subjects)}",
            )

    def _row(self, policy_id: str, kind: str, at: datetime, index: int | None) -> Subject:
        subject_id = new_id()
        return Subject(
            id=subject_id,
            policy_id=policy_id,
            kind=kind,
            pseudonym=self.ctx.pseudonym(subject_id),
            phone_bucket=index,
            status="active",
            registered_at=at,
        )

    def register(
        self,
        uow: UnitOfWork,
        *,
        policy_id: str,
        kind: str,
        actor: Actor,
        purpose: str,
        records: Mapping[str, Mapping[str, Any]] | None = None,
        lookup_phone: str | None = None,
        at: datetime | None = None,
    ) -> SubjectRead:
        """Create a subject and its first records; `lookup_phone` feeds the blind index."""
        ctx = self.ctx
        policy = ctx.policy(policy_id)
        self._check_kind(policy, kind)
        now = ctx.now(at)
        index = None
        if lookup_phone is not None:
            self._check_lookup_phone(policy, kind, lookup_phone, records or {})
            index = ctx.phone_index(lookup_phone)
        row = self._row(policy_id, kind, now, index)
        items = [
            RecordCreate(row.id, category, dict(values), now)
            for category, values in (records or {}).items()
        ]
        # Everything is checked before anything is written.
        prepared = self.records.prepare(
            uow, policy, {row.id: row}, items, purpose=purpose, actor=actor
        )
        if lookup_phone is not None and index is not None:
            # Held until commit: the same phone registered concurrently waits, then conflicts.
            lock_index(uow, policy_id, index)
            if holders(ctx, uow, policy, lookup_phone, index=index):
                raise self._phone_conflict(policy_id)
        session = uow.records
        session.add(row)
        session.flush()
        self.records.store(uow, policy, prepared, at=now)
        self._accept_policy(
            uow,
            policy,
            [row.pseudonym],
            actor,
            now,
            lambda reference: ctx.event(
                AuditAction.REGISTER,
                actor,
                subject=row,
                purpose=purpose,
                categories=[i.category for i in items],
                clauses=[c for i in items for c in policy.category(i.category).clauses],
                count=len(items),
                at=now,
                reference=reference,
            ),
        )
        return subject_read(row)

    def _accept_policy(
        self,
        uow: UnitOfWork,
        policy: Policy,
        pseudonyms: list[str],
        actor: Actor,
        at: datetime,
        register: Callable[[str], AuditEvent],
    ) -> None:
        """TX-2, BK-1.2: registering (Taxsee) or first using the app (BakıKart) is acceptance
        of the policy's current version: the consent ledger records it, in this unit of work,
        and the `register` audit entry (`register(reference)`) anchors it."""
        record_acceptances(
            uow,
            policy=policy,
            holders=pseudonyms,
            method=Method.REGISTRATION
            if policy.consent.recorded_at == "registration"
            else Method.FIRST_USE,
            source=Source.APP,
            actor_id=actor.id,
            actor_role=actor.role,
            at=at,
            audit=self.ctx.audit,
            new_holders=True,
            audit_event=register,
        )

    @staticmethod
    def _phone_conflict(policy_id: str) -> Conflict:
        return Conflict(
            f"a subject with this phone number is already registered in {policy_id!r}",
            hint="look the subject up by phone instead",
        )

    def _check_lookup_phone(
        self, policy: Policy, kind: str, phone: str, records: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """The lookup phone must be written too: a lookup confirms a candidate by decrypting
        it, so an index value with no phone behind it would never be found."""
        category = self.ctx.phone_category(policy, kind)
        if category is None:
            raise InvalidValue(
                f"subjects of kind {kind!r} in policy {policy.id!r} have no phone category "
                "to look them up by",
                hint="register them without a lookup phone",
            )
        field = phone_field(policy, category)
        written = records.get(category, {}).get(field)
        if not isinstance(written, str) or normalise_phone(written) != normalise_phone(phone):
            raise InvalidValue(
                f"the lookup phone must also be written as field {field!r} of category "
                f"{category!r}",
                hint="lookups confirm a candidate by decrypting that field; pass the same "
                "number in both",
            )

    def register_many(
        self,
        uow: UnitOfWork,
        *,
        policy_id: str,
        kind: str,
        count: int,
        actor: Actor,
        at: datetime | None = None,
    ) -> list[SubjectRead]:
        """Create `count` subjects with no records yet (bulk loads write them with write_many)."""
        ctx = self.ctx
        policy = ctx.policy(policy_id)
        self._check_kind(policy, kind)
        now = ctx.now(at)
        rows = [self._row(policy_id, kind, now, None) for _ in range(count)]
        bulk_insert(
            uow.records,
            Subject,
            [
                {
                    "id": r.id,
                    "policy_id": r.policy_id,
                    "kind": r.kind,
                    "pseudonym": r.pseudonym,
                    "phone_index": None,
                    "phone_bucket": None,
                    "status": "active",
                    "registered_at": now,
                    "status_changed_at": None,
                }
                for r in rows
            ],
        )
        if rows:
            pseudonyms = [r.pseudonym for r in rows]
            self._accept_policy(
                uow,
                policy,
                pseudonyms,
                actor,
                now,
                lambda reference: ctx.event(
                    AuditAction.REGISTER,
                    actor,
                    policy_id=policy_id,
                    count=0,
                    subjects=dict.fromkeys(pseudonyms, 0),
                    at=now,
                    reference=reference,
                ),
            )
        return [subject_read(r) for r in rows]

    def find_by_phone(self, uow: UnitOfWork, policy_id: str, phone: str) -> SubjectRead | None:
        """The subject registered with this phone: the blind index names the candidates, and
        decrypting their phone field picks the one (if any) that holds it."""
        ctx = self.ctx
        found = holders(ctx, uow, ctx.policy(policy_id), phone)
        return subject_read(ctx.subject(uow.records, found[0])) if found else None

    def subject(self, uow: UnitOfWork, subject_id: str) -> SubjectRead:
        """A subject by id; `SubjectNotFound` otherwise."""
        return subject_read(self.ctx.subject(uow.records, subject_id))

    def by_pseudonym(self, uow: UnitOfWork, pseudonym: str) -> SubjectRead:
        """A subject by its pseudonym (the audit log's and the registers' name for it);
        `SubjectNotFound` otherwise."""
        if not _PSEUDONYM_RE.fullmatch(pseudonym):
            raise SubjectNotFound(
                "no subject: the pseudonym given is not a pseudonym",
                hint="a pseudonym is ps_ and 24 hex digits",
            )
        row = uow.records.scalar(select(Subject).where(Subject.pseudonym == pseudonym))
        if row is None:
            raise SubjectNotFound(
                f"no subject with pseudonym {pseudonym!r}",
                hint="pseudonyms are made with the store's pseudonym key: check MEXFI_DATA_DIR "
                "and the key file",
            )
        return subject_read(row)

    def subjects_of(
        self,
        uow: UnitOfWork,
        *,
        policy_id: str,
        kind: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[SubjectRead]:
        """A policy's subjects (of `kind`, if given) in id order after `after` (a keyset), by
        their ids and state: the lists that name everyone, such as who has not accepted the
        current policy version (BK-7.3)."""
        self.ctx.policy(policy_id)
        query = select(Subject).where(Subject.policy_id == policy_id)
        if kind is not None:
            query = query.where(Subject.kind == kind)
        if after is not None:
            query = query.where(Subject.id > after)
        query = query.order_by(Subject.id)
        if limit is not None:
            query = query.limit(limit)
        return [subject_read(row) for row in uow.records.scalars(query)]

    def category_summary(self, uow: UnitOfWork, subject_id: str) -> list[CategorySummary]:
        """What a subject holds, by category and tier: counts and collection times, read
        from the rows' plain columns (nothing is decrypted, nothing is audited)."""
        self.ctx.subject(uow.records, subject_id)
        found: list[CategorySummary] = []
        for table, tier in ((Record, ACTIVE), (PassiveRecord, PASSIVE)):
            rows = uow.records.execute(
                select(
                    table.category,
                    func.count(),
                    func.min(table.collected_at),
                    func.max(table.collected_at),
                )
                .where(table.subject_id == subject_id)
                .group_by(table.category)
            )
            for category, count, first, last in rows:
                found.append(CategorySummary(category, tier, int(count), utc(first), utc(last)))
        return sorted(found, key=lambda c: (c.category, TIERS.index(c.tier)))

    def destroyed_candidates(
        self, uow: UnitOfWork, phone: str, *, policy_id: str | None = None
    ) -> list[DestroyedCandidate]:
        """Subjects whose phone a destruction took and whose blind-index value `phone` shares
        (recorded in the evidence; the phone is never kept): candidates, not matches, since a
        thousand-odd numbers share each value. Oldest destruction first."""
        index = self.ctx.phone_index(phone)
        query = (
            select(
                DestructionEvidence.subject_id,
                DestructionEvidence.subject_pseudonym,
                DestructionEvidence.policy_id,
                Subject.kind,
                DestructionEvidence.id,
                DestructionEvidence.rule_id,
                DestructionEvidence.request_id,
                DestructionEvidence.completed_at,
                DestructionEvidence.started_at,
            )
            .join(Subject, Subject.id == DestructionEvidence.subject_id)
            .where(
                DestructionEvidence.phone_bucket == index,
                DestructionEvidence.status == "complete",
            )
            .order_by(DestructionEvidence.completed_at, DestructionEvidence.id)
        )
        if policy_id is not None:
            self.ctx.policy(policy_id)
            query = query.where(DestructionEvidence.policy_id == policy_id)
        return [
            DestroyedCandidate(
                subject_id=subject_id,
                pseudonym=pseudonym,
                policy_id=policy,
                kind=kind,
                evidence_id=evidence_id,
                rule_id=rule_id,
                request_id=request_id,
                destroyed_at=utc(completed or started),
            )
            for (
                subject_id,
                pseudonym,
                policy,
                kind,
                evidence_id,
                rule_id,
                request_id,
                completed,
                started,
            ) in uow.records.execute(query)
        ]

    def set_status(
        self,
        uow: UnitOfWork,
        subject_id: str,
        status: str,
        *,
        actor: Actor,
        reason: str,
        at: datetime | None = None,
    ) -> SubjectRead:
        """Block (TX-1.10), unblock or prohibit (TX-3.6) processing of a subject's data."""
        if status not in STATUSES:
            raise InvalidValue(f"status must be one of {', '.join(STATUSES)}")
        ctx = self.ctx
        now = ctx.now(at)
        action = AuditAction.UNBLOCK if status == "active" else AuditAction.BLOCK
        kinds = (
            (RightKind.PROHIBITION, RightKind.WITHDRAW_CONSENT)
            if status == "prohibited"
            else (RightKind.BLOCKING,)
        )
        row = ctx.subject(uow.records, subject_id, lock=True)
        policy = ctx.policy(row.policy_id)
        clauses = right_clauses(policy, *kinds)
        authorize_action(
            ctx,
            uow,
            policy,
            [row],
            actor,
            RoleAction.SET_STATUS,
            audit_action=action,
            clauses=clauses,
        )
        row.status = status
        row.status_changed_at = now
        ctx.audit.append(
            uow.records,
            ctx.event(action, actor, subject=row, clauses=clauses, reason=reason, at=now),
        )
        uow.records.flush()
        return subject_read(row)

    # ------------------------------------------------------------------ retention sweeps

    def due_subjects(
        self,
        uow: UnitOfWork,
        *,
        policy_id: str,
        kind: str,
        categories: Collection[str],
        registered_before: datetime | None = None,
        collected_before: datetime | None = None,
        tiers: Collection[str] = (ACTIVE, PASSIVE),
        after: str | None = None,
        limit: int | None = None,
        lock: bool = False,
    ) -> list[str]:
        """Ids of a policy's subjects of `kind` holding data of `categories` that is due, in id
        order after `after` (a keyset: a sweep never reads a subject it emptied again).

        `registered_before` makes registration the trigger; `collected_before` makes it each
        record's collection time. Subjects whose destruction is pending are left out. With
        `lock`, the rows are locked for this unit of work and rows another one holds are
        skipped (PostgreSQL; SQLite's write lock already serialises sweeps).
        """
        categories = sorted(set(categories))
        holdings: list[ColumnElement[bool]] = []
        for tier, table in ((ACTIVE, Record), (PASSIVE, PassiveRecord)):
            if tier not in tiers:
                continue
            condition = and_(table.subject_id == Subject.id, table.category.in_(categories))
            if collected_before is not None:
                condition = and_(condition, table.collected_at <= collected_before)
            holdings.append(condition)
        if not holdings:
            return []
        # Both tiers: one EXISTS over a UNION ALL, probed by index per subject. PostgreSQL
        # plans `EXISTS … OR EXISTS …` as two hashed subplans, each reading its whole table
        # on every page, a cost that grows with the store.
        holding = (
            exists().where(holdings[0])
            if len(holdings) == 1
            else union_all(*(select(literal_column("1")).where(h) for h in holdings)).exists()
        )
        pending = exists().where(
            DestructionEvidence.subject_id == Subject.id, DestructionEvidence.status == "pending"
        )
        query = select(Subject.id).where(
            Subject.policy_id == policy_id,
            Subject.kind == kind,
            holding,
            ~pending,
        )
        if registered_before is not None:
            query = query.where(Subject.registered_at <= registered_before)
        if after is not None:
            query = query.where(Subject.id > after)
        query = query.order_by(Subject.id)
        if limit is not None:
            query = query.limit(limit)
        if lock and is_postgres(uow.records):
            query = query.with_for_update(of=Subject, skip_locked=True)
        return list(uow.records.scalars(query))

    def due_records(
        self,
        uow: UnitOfWork,
        *,
        policy_id: str,
        categories: Collection[str],
        collected_before: datetime | None = None,
        registered_before: datetime | None = None,
        subject_ids: Sequence[str] | None = None,
    ) -> dict[tuple[str, str], int]:
        """{(subject id, category): active records due} of a policy (dry runs, counts)."""
        query = (
            select(Record.subject_id, Record.category, func.count())
            .join(Subject, Subject.id == Record.subject_id)
            .where(Subject.policy_id == policy_id, Record.category.in_(sorted(set(categories))))
            .group_by(Record.subject_id, Record.category)
        )
        if collected_before is not None:
            query = query.where(Record.collected_at <= collected_before)
        if registered_before is not None:
            query = query.where(Subject.registered_at <= registered_before)
        if subject_ids is not None:
            query = query.where(one_of(uow.records, Record.subject_id, subject_ids))
        return {(s, c): int(n) for s, c, n in uow.records.execute(query)}
