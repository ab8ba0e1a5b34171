"""What the vault's parts share: the store, the policies, the key ring, the audit log, the clock,
and the few helpers every part needs (policy look-ups, pseudonyms, audit events, denials)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mexfi.audit import AuditAction, AuditEvent, AuditLog, AuditOutcome, AuditTemplate
from mexfi.clock import Clock, SystemClock, utc
from mexfi.db import Store, UnitOfWork
from mexfi.policy import Category, FieldType, Policy, PolicyNotFound, Purpose
from mexfi.secrets import Secrets
from mexfi.vault import crypto
from mexfi.vault.access import check_access, check_categories
from mexfi.vault.errors import DisclosureDenied, PurposeDenied, SubjectNotFound
from mexfi.vault.facts import require_facts
from mexfi.vault.keys import KeyRing
from mexfi.vault.models import Subject
from mexfi.vault.schemas import Actor, SubjectRead
from mexfi.vault.values import check_subject_ids, normalise_phone

__all__ = ["ACTIVE", "PASSIVE", "TIERS", "SubjectLike", "VaultContext", "subject_read"]

#: Audit templates kept (one per kind of event: action, actor, purpose, policy, categories…).
_TEMPLATES = 1024

ACTIVE = "active"
PASSIVE = "passive"
TIERS = (ACTIVE, PASSIVE)


class SubjectLike(Protocol):
    """What the vault needs of a subject: its row, a plain row of it, or a `SubjectRead`."""

    @property
    def id(self) -> str: ...
    @property
    def policy_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def pseudonym(self) -> str: ...


def subject_read(row: Subject) -> SubjectRead:
    return SubjectRead(
        id=row.id,
        policy_id=row.policy_id,
        kind=row.kind,
        pseudonym=row.pseudonym,
        status=row.status,
        registered_at=row.registered_at,
    )


class VaultContext:
    """The state the vault's parts work on."""

    def __init__(
        self,
        store: Store,
        policies: Mapping[str, Policy],
        secrets: Secrets,
        *,
        audit: AuditLog,
        clock: Clock | None = None,
        phone_index: crypto.BlindIndexSpec | None = None,
    ) -> None:
        self.store = store
        self.policies = dict(policies)
        self.secrets = secrets
        self.audit = audit
        self.clock: Clock = clock or SystemClock()
        self.keys = KeyRing(secrets)
        self.phone_index_spec = phone_index or crypto.BlindIndexSpec()
        self._types: dict[tuple[str, str], dict[str, FieldType]] = {}
        self._phone_categories: dict[tuple[str, str], str | None] = {}
        self._templates: dict[tuple[object, ...], AuditTemplate] = {}

    # ------------------------------------------------------------------ policies

    def policy(self, policy_id: str) -> Policy:
        try:
            return self.policies[policy_id]
        except KeyError:
            raise PolicyNotFound(
                f"policy {policy_id!r} is not loaded",
                hint=f"loaded policies: {', '.join(sorted(self.policies)) or 'none'}",
            ) from None

    @staticmethod
    def category(policy: Policy, subject_kind: str, category_id: str) -> Category:
        """The category, declared for this kind of subject (else `UndeclaredData`)."""
        check_categories(policy, subject_kind, [category_id])
        return policy.category(category_id)

    def types(self, policy: Policy, category_id: str) -> dict[str, FieldType]:
        """{field name: type} of a category (cached: policies are frozen)."""
        key = (policy.id, category_id)
        types = self._types.get(key)
        if types is None:
            fields = policy.category(category_id).fields
            types = self._types[key] = {f.name: f.type for f in fields}
        return types

    def phone_category(self, policy: Policy, kind: str) -> str | None:
        """The category of this subject kind holding the blind-indexed phone, if any."""
        key = (policy.id, kind)
        if key not in self._phone_categories:
            self._phone_categories[key] = next(
                (
                    c.id
                    for c in policy.categories_of(kind)
                    if any(f.type is FieldType.PHONE for f in c.fields)
                ),
                None,
            )
        return self._phone_categories[key]

    # ------------------------------------------------------------------ subjects

    def pseudonym(self, subject_id: str) -> str:
        return crypto.pseudonym(self.secrets.pseudonym_key, subject_id)

    def phone_index(self, phone: str) -> int:
        """The truncated blind index of a phone: many numbers share each value.

        The same in every policy: two independent truncated values of one phone would add
        up their bits (CipherSweet's rule), and a subject of both operators would be found.
        """
        return crypto.slow_blind_index(
            self.secrets.index_key, "phone", normalise_phone(phone), self.phone_index_spec
        )

    def now(self, at: datetime | None = None) -> datetime:
        return utc(at) if at is not None else self.clock.now()

    @staticmethod
    def subject(session: Session, subject_id: str, *, lock: bool = False) -> Subject:
        """The subject's row; with `lock`, locked until the transaction ends (PostgreSQL)."""
        check_subject_ids([subject_id])
        query = select(Subject).where(Subject.id == subject_id)
        if lock and session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise SubjectNotFound(f"no subject {subject_id!r}")
        return row

    # ------------------------------------------------------------------ audit

    def event(
        self,
        action: AuditAction,
        actor: Actor,
        *,
        subject: SubjectLike | None = None,
        purpose: str | None = None,
        categories: Iterable[str] = (),
        clauses: Iterable[str] = (),
        outcome: AuditOutcome = AuditOutcome.OK,
        count: int = 1,
        reason: str | None = None,
        reference: str | None = None,
        policy_id: str | None = None,
        subjects: Mapping[str, int] | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        """An audit event; its fixed fields are screened once per template, not per event."""
        key = (
            action,
            actor.id,
            actor.role,
            outcome,
            purpose,
            policy_id or (subject.policy_id if subject else None),
            tuple(sorted(set(categories))),
            tuple(sorted(set(clauses))),
            reason,
        )
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= _TEMPLATES:
                self._templates.clear()
            template = self._templates[key] = AuditTemplate(
                action=action,
                actor_id=actor.id,
                actor_role=actor.role,
                outcome=outcome,
                purpose=purpose,
                policy_id=key[5],
                categories=key[6],
                clauses=key[7],
                reason=reason,
            )
        return template.event(
            at=at or self.clock.now(),
            subject=subject.pseudonym if subject else None,
            subjects=subjects,
            count=count,
            reference=reference,
        )

    def record_denial(self, uow: UnitOfWork, event: AuditEvent) -> None:
        """Audit a refusal now, and again after a rollback: it stays on record either way."""
        audit = self.audit

        def write(session: Session) -> None:
            audit.append(session, event)

        write(uow.records)
        uow.keep_on_rollback(write)

    @contextmanager
    def denials_audited(
        self,
        uow: UnitOfWork,
        actor: Actor,
        subject: SubjectLike,
        purpose: str,
        categories: Collection[str],
        action: AuditAction = AuditAction.DENY,
    ) -> Iterator[None]:
        """Audit a `PurposeDenied`/`DisclosureDenied` raised inside, then let it go on."""
        try:
            yield
        except (PurposeDenied, DisclosureDenied) as exc:
            self.record_denial(
                uow,
                self.event(
                    action,
                    actor,
                    subject=subject,
                    purpose=purpose,
                    categories=categories,
                    clauses=exc.clauses,
                    outcome=AuditOutcome.DENIED,
                    count=0,
                    reason=exc.reason,
                ),
            )
            raise

    def authorize(
        self,
        uow: UnitOfWork,
        policy: Policy,
        subject: SubjectLike,
        categories: Collection[str],
        purpose: str,
        actor: Actor,
        tiers: Collection[str] = (ACTIVE,),
        *,
        request_id: str | None = None,
        demand_id: str | None = None,
        rectifying: bool = False,
    ) -> Purpose:
        """`check_access` for this subject in every tier asked for, then the facts the purpose
        is bound to (`facts.require_facts`: the request, demand or consent cited); a denial
        is audited."""
        checked: Purpose | None = None
        with self.denials_audited(uow, actor, subject, purpose, categories):
            for tier in tiers:
                checked = check_access(
                    policy,
                    subject_kind=subject.kind,
                    subject_status=subject.status,
                    subject_id=subject.id,
                    categories=categories,
                    purpose_id=purpose,
                    actor=actor,
                    tier=tier,
                )
            assert checked is not None  # callers pass at least one tier
            require_facts(
                uow,
                policy,
                subject,
                checked,
                actor,
                categories,
                tiers,
                request_id=request_id,
                demand_id=demand_id,
                rectifying=rectifying,
                at=self.clock.now(),
            )
        return checked
