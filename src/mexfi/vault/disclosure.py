"""Disclosures: to declared recipients only, on the basis each requires, into a register
the DPO and the subject can read (BK-4.2, BK-4.3, TX-3.4, TX-10, TX-13)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select

from mexfi.audit import AuditAction
from mexfi.db import UnitOfWork, new_id
from mexfi.policy import NotDeclared, Policy, RecipientBasis, RecipientKind, RightKind, RoleAction
from mexfi.vault.access import check_access, right_clauses
from mexfi.vault.actions import authorize_action
from mexfi.vault.context import ACTIVE, SubjectLike, VaultContext, subject_read
from mexfi.vault.errors import DisclosureDenied, RecordNotFound
from mexfi.vault.facts import require_facts
from mexfi.vault.models import Disclosure, WrittenConsent
from mexfi.vault.records import Records
from mexfi.vault.schemas import Actor, DisclosureRead, SubjectData
from mexfi.vault.shredding import require_dpo_or_self

__all__ = ["Disclosures"]


class Disclosures:
    """Written consents, disclosures and their register."""

    def __init__(self, ctx: VaultContext, records: Records) -> None:
        self.ctx = ctx
        self.records = records

    def record_written_consent(
        self,
        uow: UnitOfWork,
        subject_id: str,
        *,
        recipient: str,
        purposes: Collection[str],
        categories: Collection[str],
        document_reference: str,
        actor: Actor,
        at: datetime | None = None,
    ) -> str:
        """Record a subject's prior written consent to disclosures to `recipient` (TX-10)."""
        ctx = self.ctx
        now = ctx.now(at)
        subject = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(subject.policy_id)
        self._authorize(uow, policy, subject, actor)
        try:
            declared = policy.recipient(recipient)
        except NotDeclared:
            raise DisclosureDenied(
                f"recipient {recipient!r} is not declared in policy {policy.id!r}",
                reason="recipient_not_declared",
            ) from None
        consent = WrittenConsent(
            id=new_id(),
            subject_id=subject.id,
            recipient=declared.id,
            purposes=",".join(sorted(purposes)),
            categories=",".join(sorted(categories)),
            document_reference=document_reference,
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
                categories=categories,
                clauses=declared.clauses,
                reference=consent.id,
                at=now,
            ),
        )
        uow.records.flush()
        return consent.id

    def _authorize(
        self, uow: UnitOfWork, policy: Policy, subject: SubjectLike, actor: Actor
    ) -> None:
        """TX-10: only a role granted it records or withdraws a written consent (audited)."""
        authorize_action(
            self.ctx,
            uow,
            policy,
            [subject],
            actor,
            RoleAction.RECORD_CONSENT,
            audit_action=AuditAction.CONSENT,
            clauses=sorted(
                {
                    c
                    for r in policy.recipients
                    if r.basis is RecipientBasis.WRITTEN_CONSENT
                    for c in r.clauses
                }
            ),
        )

    def written_consents(self, uow: UnitOfWork, subject_id: str) -> list[str]:
        """Ids of the subject's written consents not withdrawn."""
        return list(
            uow.records.scalars(
                select(WrittenConsent.id).where(
                    WrittenConsent.subject_id == subject_id,
                    WrittenConsent.withdrawn_at.is_(None),
                )
            )
        )

    def withdraw_written_consent(
        self, uow: UnitOfWork, consent_id: str, *, actor: Actor, at: datetime | None = None
    ) -> None:
        ctx = self.ctx
        now = ctx.now(at)
        consent = uow.records.get(WrittenConsent, consent_id)
        if consent is None:
            raise RecordNotFound(f"no written consent {consent_id!r}")
        subject = ctx.subject(uow.records, consent.subject_id)
        self._authorize(uow, ctx.policy(subject.policy_id), subject, actor)
        consent.withdrawn_at = now
        ctx.audit.append(
            uow.records,
            ctx.event(
                AuditAction.CONSENT,
                actor,
                subject=subject,
                clauses=right_clauses(ctx.policy(subject.policy_id), RightKind.WITHDRAW_CONSENT),
                reason="withdrawn",
                reference=consent_id,
                at=now,
            ),
        )
        uow.records.flush()

    def disclose(
        self,
        uow: UnitOfWork,
        subject_id: str,
        categories: Collection[str],
        *,
        recipient: str,
        purpose: str,
        basis: str,
        reference: str,
        actor: Actor,
        law: str | None = None,
        demand_id: str | None = None,
    ) -> SubjectData:
        """Hand a subject's data to a declared recipient on the basis the policy requires; a
        disclosure on a lawful request cites the recorded demand (`demand_id`)."""
        ctx = self.ctx
        categories = list(dict.fromkeys(categories))
        now = ctx.clock.now()
        subject = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(subject.policy_id)
        consent_id: str | None = None
        with ctx.denials_audited(uow, actor, subject, purpose, categories, AuditAction.DISCLOSE):
            try:
                declared = policy.recipient(recipient)
            except NotDeclared:
                raise DisclosureDenied(
                    f"recipient {recipient!r} is not in the register of policy {policy.id!r}",
                    reason="recipient_not_declared",
                    clauses=tuple(sorted({c for r in policy.recipients for c in r.clauses})),
                ) from None
            clauses = tuple(declared.clauses)
            if purpose not in declared.purposes:
                raise DisclosureDenied(
                    f"recipient {recipient!r} may not receive data for purpose {purpose!r}",
                    reason="purpose_not_declared_for_recipient",
                    clauses=clauses,
                )
            outside = [c for c in categories if c not in declared.categories]
            if outside:
                raise DisclosureDenied(
                    f"recipient {recipient!r} may not receive category {outside[0]!r}",
                    reason="category_not_declared_for_recipient",
                    clauses=clauses,
                )
            if basis != declared.basis.value:
                raise DisclosureDenied(
                    f"disclosures to {recipient!r} need the basis {declared.basis.value!r}, "
                    f"not {basis!r}",
                    reason="wrong_basis",
                    clauses=clauses,
                )
            if not reference.strip():
                raise DisclosureDenied(
                    "a disclosure needs a reference (the request, order or consent document)",
                    reason="missing_reference",
                    clauses=clauses,
                )
            if declared.basis is RecipientBasis.LAW and not (law and law.strip()):
                raise DisclosureDenied(
                    "a disclosure to an authority needs the law it is made under",
                    reason="missing_law",
                    clauses=clauses,
                )
            if declared.basis is RecipientBasis.WRITTEN_CONSENT:
                consent_id = self._consent_for(uow, subject, recipient, purpose, categories)
                if consent_id is None:
                    raise DisclosureDenied(
                        f"no recorded written consent of the subject covers recipient "
                        f"{recipient!r}, purpose {purpose!r} and these categories",
                        reason="no_written_consent",
                        clauses=clauses,
                    )
            checked = check_access(
                policy,
                subject_kind=subject.kind,
                subject_status=subject.status,
                subject_id=subject.id,
                categories=categories,
                purpose_id=purpose,
                actor=actor,
            )
            # The facts the purpose is bound to, as for a read (a lawful demand in force whose
            # scope covers the categories, TX-10, BK-4.2).
            require_facts(
                uow,
                policy,
                subject,
                checked,
                actor,
                categories,
                [ACTIVE],
                request_id=None,
                demand_id=demand_id,
                rectifying=False,
                at=now,
            )
            if declared.kind is RecipientKind.COUNTERPART or checked.requires_active_order:
                self.records.require_active_order(
                    uow, subject, actor, clauses=clauses + tuple(checked.clauses)
                )
        # TX-13: a counterpart is given where the driver is now, never where he has been.
        current_only = declared.kind is RecipientKind.COUNTERPART or checked.requires_active_order
        records = self.records.decrypted(uow, policy, subject.id, categories, latest=current_only)
        uow.records.add(
            Disclosure(
                id=new_id(),
                policy_id=policy.id,
                subject_id=subject.id,
                subject_pseudonym=subject.pseudonym,
                recipient=recipient,
                purpose=purpose,
                basis=basis,
                law=law,
                reference=reference,
                consent_id=consent_id,
                categories=",".join(categories),
                records=len(records),
                actor_id=actor.id,
                actor_role=actor.role,
                at=now,
            )
        )
        ctx.audit.append(
            uow.records,
            ctx.event(
                AuditAction.DISCLOSE,
                actor,
                subject=subject,
                purpose=purpose,
                categories=categories,
                clauses=clauses,
                count=len(records),
                reference=recipient,
                at=now,
            ),
        )
        uow.records.flush()
        return SubjectData(subject=subject_read(subject), purpose=purpose, records=records)

    @staticmethod
    def _consent_for(
        uow: UnitOfWork,
        subject: SubjectLike,
        recipient: str,
        purpose: str,
        categories: Collection[str],
    ) -> str | None:
        consents = uow.records.scalars(
            select(WrittenConsent).where(
                WrittenConsent.subject_id == subject.id,
                WrittenConsent.recipient == recipient,
                WrittenConsent.withdrawn_at.is_(None),
            )
        )
        for consent in consents:
            if purpose in consent.purposes.split(",") and set(categories) <= set(
                consent.categories.split(",")
            ):
                return consent.id
        return None

    def disclosures(
        self, uow: UnitOfWork, subject_id: str, *, actor: Actor
    ) -> list[DisclosureRead]:
        """The disclosure register of a subject, for the DPO or the subject itself (TX-3.4)."""
        ctx = self.ctx
        subject = ctx.subject(uow.records, subject_id)
        require_dpo_or_self(
            ctx,
            uow,
            subject,
            actor,
            "the disclosure register",
            right_clauses(ctx.policy(subject.policy_id), RightKind.PROCESSING_INFO),
        )
        rows = uow.records.scalars(
            select(Disclosure).where(Disclosure.subject_id == subject.id).order_by(Disclosure.at)
        )
        return [
            DisclosureRead(
                id=row.id,
                subject_pseudonym=row.subject_pseudonym,
                recipient=row.recipient,
                purpose=row.purpose,
                basis=row.basis,
                law=row.law,
                reference=row.reference,
                categories=tuple(row.categories.split(",")),
                records=row.records,
                actor_id=row.actor_id,
                at=row.at,
            )
            for row in rows
        ]
