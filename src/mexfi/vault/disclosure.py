"""Disclosures: to declared recipients only, on the basis each requires, into a register
the DPO and the subject can read (BK-4.2, BK-4.3, TX-3.4, TX-10, TX-13)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select

from mexfi.audit import AuditAction
from mexfi.policy.schema import (
    RecipientBasis,
    RecipientKind,
    RightKind,
)
from mexfi.vault.access import right_clauses
from mexfi.vault.core import VaultCore, new_id, subject_read
from mexfi.vault.errors import (
    DisclosureDenied,
    RecordNotFound,
)
from mexfi.vault.models import (
    Disclosure,
    Subject,
    WrittenConsent,
)
from mexfi.vault.schemas import (
    Actor,
    DisclosureRead,
    SubjectData,
)

__all__ = ["Disclosures"]


class Disclosures(VaultCore):
    """Written consents, disclosures and their register."""

    def record_written_consent(
        self,
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
        now = self._now(at)
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
            policy = self.policy(subject.policy_id)
            try:
                declared = policy.recipient(recipient)
            except KeyError:
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
            session.add(consent)
            self.audit.append(
                session,
                self._event(
                    AuditAction.CONSENT,
                    actor,
                    subject=subject,
                    categories=categories,
                    clauses=declared.clauses,
                    reference=consent.id,
                    at=now,
                ),
            )
            return consent.id

    def withdraw_written_consent(self, consent_id: str, *, actor: Actor) -> None:
        now = self.clock.now()
        with self.store.records() as session:
            consent = session.get(WrittenConsent, consent_id)
            if consent is None:
                raise RecordNotFound(f"no written consent {consent_id!r}")
            consent.withdrawn_at = now
            subject = self._subject(session, consent.subject_id)
            self.audit.append(
                session,
                self._event(
                    AuditAction.CONSENT,
                    actor,
                    subject=subject,
                    clauses=right_clauses(
                        self.policy(subject.policy_id), RightKind.WITHDRAW_CONSENT
                    ),
                    reason="withdrawn",
                    reference=consent_id,
                    at=now,
                ),
            )

    def disclose(
        self,
        subject_id: str,
        categories: Collection[str],
        *,
        recipient: str,
        purpose: str,
        basis: str,
        reference: str,
        actor: Actor,
        law: str | None = None,
    ) -> SubjectData:
        """Hand a subject's data to a declared recipient on the basis the policy requires."""
        categories = list(dict.fromkeys(categories))
        now = self.clock.now()
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
            policy = self.policy(subject.policy_id)
        consent_id: str | None = None
        with self._denials_audited(actor, subject, purpose, categories, AuditAction.DISCLOSE):
            try:
                declared = policy.recipient(recipient)
            except KeyError:
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
                consent_id = self._consent_for(subject, recipient, purpose, categories)
                if consent_id is None:
                    raise DisclosureDenied(
                        f"no recorded written consent of the subject covers recipient "
                        f"{recipient!r}, purpose {purpose!r} and these categories",
                        reason="no_written_consent",
                        clauses=clauses,
                    )
            checked = self._check(policy, subject, categories, purpose, actor)
            if declared.kind is RecipientKind.COUNTERPART or checked.requires_active_order:
                self._require_active_order(subject, actor, clauses=clauses + tuple(checked.clauses))
        with self.store.records() as session:
            records = self._load(session, policy, subject, categories)
            session.add(
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
            self.audit.append(
                session,
                self._event(
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
        return SubjectData(subject=subject_read(subject), purpose=purpose, records=records)

    def _consent_for(
        self, subject: Subject, recipient: str, purpose: str, categories: Collection[str]
    ) -> str | None:
        with self.store.records() as session:
            consents = session.scalars(
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

    def disclosures(self, subject_id: str, *, actor: Actor) -> list[DisclosureRead]:
        """The disclosure register of a subject, for the DPO or the subject itself (TX-3.4)."""
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
        self._require_dpo_or_self(
            subject,
            actor,
            "the disclosure register",
            right_clauses(self.policy(subject.policy_id), RightKind.PROCESSING_INFO),
        )
        with self.store.records() as session:
            rows = session.scalars(
                select(Disclosure)
                .where(Disclosure.subject_id == subject.id)
                .order_by(Disclosure.at)
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
