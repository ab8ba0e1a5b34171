"""The facts purposes are bound to: open requests, lawful demands, written consents, opt-ins.

A role and a purpose say what may be done; a recorded fact says it is being done now, for
this subject. `require_facts` is checked by `VaultContext.authorize` on every read, write
and rectification, after `check_access`. The facts each purpose needs are read off the
policy (`access.required_facts`).

The request workflow records its verified requests here (`open_request`, `close_request`)
through the vault's face: data flows requests → vault, and the vault never reads the
workflow's tables.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from mexfi.audit import AuditAction
from mexfi.db import UnitOfWork, new_id
from mexfi.policy import Policy, Purpose, RecipientBasis, RoleKind
from mexfi.scan import refuse_personal_data
from mexfi.vault.access import Fact, check_categories, required_facts
from mexfi.vault.errors import InvalidValue, PurposeDenied
from mexfi.vault.models import LawfulDemand, RequestBasis, WrittenConsent
from mexfi.vault.schemas import Actor

if TYPE_CHECKING:  # context.py imports this module for `authorize`
    from mexfi.vault.context import SubjectLike, VaultContext

#: The longest authority, reference or law of a lawful demand (their columns' length).
_DEMAND_TEXT_LENGTH = 200

__all__ = ["OPT_IN_RECIPIENT", "Facts", "lawful_purposes", "require_facts"]

#: The `recipient` of a consent record that is an opt-in to the operator's own processing
#: (BK-6.1). No consent capability exists yet, so opt-ins share the written-consent records;
#: no declared recipient has this id, so an opt-in never opens a disclosure.
OPT_IN_RECIPIENT = "opt_in"

#: The DPO's role id in both policies (as `shredding.require_dpo_or_self` has it).
DPO = "dpo"


def _split(text: str) -> list[str]:
    return [c for c in text.split(",") if c]


def lawful_purposes(policy: Policy) -> list[Purpose]:
    """The purposes a recipient receives on the basis of law (lawful requests, TX-10)."""
    ids = {p for r in policy.recipients if r.basis is RecipientBasis.LAW for p in r.purposes}
    return [p for p in policy.purposes if p.id in ids]


def require_facts(
    uow: UnitOfWork,
    policy: Policy,
    subject: SubjectLike,
    purpose: Purpose,
    actor: Actor,
    categories: Collection[str],
    tiers: Collection[str],
    *,
    request_id: str | None,
    demand_id: str | None,
    rectifying: bool,
    at: datetime,
) -> None:
    """Raise `PurposeDenied` unless the facts the purpose needs are on record."""
    role_kind = policy.role(actor.role).kind
    clauses = tuple(purpose.clauses)
    for fact in required_facts(policy, purpose, role_kind):
        if fact in (Fact.OPEN_REQUEST, Fact.RECTIFICATION_REQUEST):
            _require_request(
                uow, subject, purpose, fact, categories, tiers, request_id, rectifying, clauses
            )
        elif fact is Fact.LAWFUL_DEMAND:
            _require_demand(uow, subject, purpose, categories, demand_id, at, clauses)
        elif fact is Fact.WRITTEN_CONSENT:
            recipients = [
                r.id
                for r in policy.recipients
                if purpose.id in r.purposes and r.basis is RecipientBasis.WRITTEN_CONSENT
            ]
            if not _consented(uow, subject.id, recipients, purpose.id, categories):
                raise PurposeDenied(
                    f"purpose {purpose.id!r} needs the subject's written consent covering these "
                    f"categories; none is recorded",
                    reason="no_written_consent",
                    clauses=clauses,
                )
        elif fact is Fact.OPT_IN and not _consented(
            uow, subject.id, [OPT_IN_RECIPIENT], purpose.id, categories
        ):
            raise PurposeDenied(
                f"purpose {purpose.id!r} needs the subject's opt-in; none is recorded",
                reason="no_opt_in",
                clauses=clauses,
            )
        # ACTIVE_ORDER is checked by the read (records.require_active_order) and OWN_DATA by
        # `check_access`: both were bound to facts before.


def _require_request(
    uow: UnitOfWork,
    subject: SubjectLike,
    purpose: Purpose,
    fact: Fact,
    categories: Collection[str],
    tiers: Collection[str],
    request_id: str | None,
    rectifying: bool,
    clauses: tuple[str, ...],
) -> None:
    if request_id is None:
        raise PurposeDenied(
            f"purpose {purpose.id!r} serves a subject's request: name the open, verified "
            f"request (request_id)",
            reason="no_request",
            clauses=clauses,
        )
    basis = uow.records.get(RequestBasis, (request_id, purpose.id))
    if basis is None or basis.subject_id != subject.id:
        raise PurposeDenied(
            f"request {request_id!r} is no verified request of this subject for purpose "
            f"{purpose.id!r}",
            reason="request_not_found",
            clauses=clauses,
        )
    if basis.closed_at is not None:
        raise PurposeDenied(
            f"request {request_id!r} is closed (answered or rejected)",
            reason="request_closed",
            clauses=clauses,
        )
    reach = _split(basis.categories)
    if not reach and fact is Fact.RECTIFICATION_REQUEST:
        if rectifying:
            return  # a rectification naming no category changes one record at a time, by id
        # A read for a rectification reaches only the categories being rectified (TX-3.5).
        raise PurposeDenied(
            f"request {request_id!r} names no category to rectify, so none is read for it",
            reason="outside_request",
            clauses=clauses,
        )
    outside = [c for c in categories if reach and c not in reach]
    if outside:
        raise PurposeDenied(
            f"request {request_id!r} does not reach category {outside[0]!r}",
            reason="outside_request",
            clauses=clauses,
        )
    if "passive" in tiers and not basis.include_passive:
        raise PurposeDenied(
            f"request {request_id!r} does not reach the passive tier",
            reason="outside_request",
            clauses=clauses,
        )


def _require_demand(
    uow: UnitOfWork,
    subject: SubjectLike,
    purpose: Purpose,
    categories: Collection[str],
    demand_id: str | None,
    at: datetime,
    clauses: tuple[str, ...],
) -> None:
    if demand_id is None:
        raise PurposeDenied(
            f"purpose {purpose.id!r} needs a recorded lawful demand (demand_id)",
            reason="no_lawful_demand",
            clauses=clauses,
        )
    demand = uow.records.get(LawfulDemand, demand_id)
    if demand is None or demand.subject_id != subject.id:
        raise PurposeDenied(
            f"lawful demand {demand_id!r} is not recorded for this subject",
            reason="lawful_demand_not_found",
            clauses=clauses,
        )
    if not demand.received_at <= at < demand.expires_at:
        raise PurposeDenied(
            f"lawful demand {demand_id!r} is not in force (received "
            f"{demand.received_at.isoformat()}, expires {demand.expires_at.isoformat()})",
            reason="lawful_demand_not_in_force",
            clauses=clauses,
        )
    scope = _split(demand.categories)
    outside = [c for c in categories if c not in scope]
    if outside:
        raise PurposeDenied(
            f"lawful demand {demand_id!r} does not cover category {outside[0]!r}",
            reason="outside_lawful_demand",
            clauses=clauses,
        )


def _consented(
    uow: UnitOfWork,
    subject_id: str,
    recipients: Collection[str],
    purpose: str,
    categories: Collection[str],
) -> bool:
    """A consent of the subject not withdrawn, to one of `recipients`, covering all."""
    consents = uow.records.execute(
        select(WrittenConsent.purposes, WrittenConsent.categories).where(
            WrittenConsent.subject_id == subject_id,
            WrittenConsent.recipient.in_(list(recipients)),
            WrittenConsent.withdrawn_at.is_(None),
        )
    )
    return any(
        purpose in _split(purposes) and set(categories) <= set(_split(covered))
        for purposes, covered in consents
    )


class Facts:
    """Records the facts: requests opened and closed, lawful demands, opt-ins."""

    def __init__(self, ctx: VaultContext) -> None:
        self.ctx = ctx

    def open_request(
        self,
        uow: UnitOfWork,
        request_id: str,
        subject_id: str,
        *,
        purpose: str,
        categories: Collection[str] = (),
        include_passive: bool = False,
        actor: Actor,
        at: datetime | None = None,
    ) -> None:
        """Record a verified request as the basis of reads for a request purpose.

        For the request workflow, once it has verified the request; `categories` empty
        means every category the purpose covers.
        """
        ctx = self.ctx
        now = ctx.now(at)
        subject = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(subject.policy_id)
        request_purposes = {
            policy.requests.purposes.subject_request,
            policy.requests.purposes.rectification,
        }
        if purpose not in request_purposes:
            raise InvalidValue(
                f"purpose {purpose!r} is not a request purpose of policy {policy.id!r}",
                hint=f"request purposes: {', '.join(sorted(request_purposes))}",
            )
        check_categories(policy, subject.kind, categories)
        basis = uow.records.get(RequestBasis, (request_id, purpose))
        if basis is None:
            basis = RequestBasis(request_id=request_id, purpose=purpose)
            uow.records.add(basis)
        basis.policy_id = policy.id
        basis.subject_id = subject.id
        basis.categories = ",".join(dict.fromkeys(categories))
        basis.include_passive = include_passive
        basis.opened_at = now
        basis.closed_at = None
        basis.opened_by = actor.id
        uow.records.flush()

    def close_request(
        self, uow: UnitOfWork, request_id: str, *, at: datetime | None = None
    ) -> None:
        """The request is answered or rejected: it no longer opens any read."""
        uow.records.execute(
            update(RequestBasis)
            .where(RequestBasis.request_id == request_id, RequestBasis.closed_at.is_(None))
            .values(closed_at=self.ctx.now(at))
        )

    def record_lawful_demand(
        self,
        uow: UnitOfWork,
        subject_id: str,
        *,
        authority: str,
        reference: str,
        law: str,
        categories: Collection[str],
        received_at: datetime,
        expires_at: datetime,
        actor: Actor,
    ) -> str:
        """Record an authority's demand for a subject's data (DPO only, audited); lawful-request
        reads cite the id it returns and stay within its categories and term."""
        ctx = self.ctx
        now = ctx.now()
        subject = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(subject.policy_id)
        categories = list(dict.fromkeys(categories))
        purposes = lawful_purposes(policy)
        purpose_id = purposes[0].id if purposes else "lawful_request"
        clauses = tuple(sorted({c for r in policy.recipients for c in r.clauses}))
        if actor.role != DPO:
            with ctx.denials_audited(uow, actor, subject, purpose_id, categories):
                raise PurposeDenied(
                    "only the DPO records a lawful demand",
                    reason="role_not_allowed",
                    clauses=clauses,
                )
        for name, value in (("authority", authority), ("reference", reference), ("law", law)):
            if not value.strip():
                raise InvalidValue(f"a lawful demand names its {name}")
            if len(value) > _DEMAND_TEXT_LENGTH:
                raise InvalidValue(
                    f"a lawful demand's {name} is longer than {_DEMAND_TEXT_LENGTH} characters",
                    hint="give the authority's name, its case or letter number and the article",
                )
            # A register row, not sealed data: it names the authority, its reference and the
            # law, never the person they concern (a name, a FIN, a phone is refused).
            refuse_personal_data(value, field=f"the lawful demand's {name}")
        refuse_personal_data(actor.id, field="the actor id")
        if not categories:
            raise InvalidValue("a lawful demand names the categories it covers (its scope)")
        check_categories(policy, subject.kind, categories)
        reachable = {c for p in purposes for c in p.categories}
        outside = [c for c in categories if c not in reachable]
        if outside:
            raise InvalidValue(
                f"category {outside[0]!r} is not disclosed on a lawful request in policy "
                f"{policy.id!r}",
                hint=f"lawful requests reach: {', '.join(sorted(reachable)) or 'nothing'}",
            )
        received, expires = ctx.now(received_at), ctx.now(expires_at)
        if expires <= received:
            raise InvalidValue("a lawful demand expires after it is received")
        demand = LawfulDemand(
            id=new_id(),
            policy_id=policy.id,
            subject_id=subject.id,
            authority=authority.strip(),
            reference=reference.strip(),
            law=law.strip(),
            categories=",".join(categories),
            received_at=received,
            expires_at=expires,
            recorded_at=now,
            recorded_by=actor.id,
        )
        uow.records.add(demand)
        ctx.audit.append(
            uow.records,
            ctx.event(
                AuditAction.REQUEST,
                actor,
                subject=subject,
                purpose=purpose_id,
                categories=categories,
                clauses=clauses,
                reason="lawful_demand_recorded",
                reference=demand.id,
                at=now,
            ),
        )
        uow.records.flush()
        return demand.id

    def record_opt_in(
        self,
        uow: UnitOfWork,
        subject_id: str,
        *,
        purpose: str,
        reference: str,
        actor: Actor,
    ) -> str:
        """Record a subject's opt-in to a consent purpose with no recipient (BK-6.1); withdrawn
        like a written consent. The subject, the service (the app's switch) or the DPO."""
        ctx = self.ctx
        now = ctx.now()
        subject = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(subject.policy_id)
        declared = policy.purpose(purpose)
        with ctx.denials_audited(uow, actor, subject, purpose, declared.categories):
            role = policy.role(actor.role)
            own = role.kind is RoleKind.SUBJECT and actor.subject_id == subject.id
            if not (own or role.kind is RoleKind.SYSTEM or role.id == DPO):
                raise PurposeDenied(
                    "an opt-in is given by the subject, through the service or the DPO",
                    reason="role_not_allowed",
                    clauses=tuple(declared.clauses),
                )
            if Fact.OPT_IN not in required_facts(policy, declared, role.kind):
                raise PurposeDenied(
                    f"purpose {purpose!r} is not one a subject opts in to",
                    reason="not_an_opt_in_purpose",
                    clauses=tuple(declared.clauses),
                )
        if not reference.strip():
            raise InvalidValue("an opt-in names where it was given (reference)")
        consent = WrittenConsent(
            id=new_id(),
            subject_id=subject.id,
            recipient=OPT_IN_RECIPIENT,
            purposes=declared.id,
            categories=",".join(declared.categories),
            document_reference=reference.strip(),
            given_at=now,
            recorded_by=actor.id,
        )
        uow.records.add(consent)
        ctx.audit.append(
            uow.records,
            ctx.event(
                AuditAction.CONSENT,
                actor,
                subject=subject,
                purpose=declared.id,
                categories=declared.categories,
                clauses=declared.clauses,
                reason="opt_in",
                reference=consent.id,
                at=now,
            ),
        )
        uow.records.flush()
        return consent.id
