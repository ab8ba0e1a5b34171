"""Identity verification of a data-subject request, before the request may read anything.

The request workflow proves that a requester is the subject before it opens a read basis
(`facts.open_request`), so these operations run without one. Each is narrow and audited:

- `verification_contact`: the subject's registered phone, decrypted only to send a one-time
  code to it (the caller hands it to a sender and keeps nothing);
- `compare_identity`: what a written request gives (a name, a date of birth, a FIN) against
  what the store still holds, answered as match / mismatch / not_held, never a value;
- `verification_code_mac`: the keyed MAC a code is kept as (only the vault holds keys).

The read is checked as one for the policy's subject-request purpose (role, categories,
tiers), as the subject's own status would not stop it: a blocked subject may still ask to be
unblocked, and proving who asks is part of answering (TX-1.10, TX-11).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from mexfi.audit import AuditAction
from mexfi.db import UnitOfWork
from mexfi.policy import FieldType, Policy
from mexfi.vault import crypto
from mexfi.vault.access import check_access
from mexfi.vault.context import ACTIVE, PASSIVE, VaultContext
from mexfi.vault.models import Subject
from mexfi.vault.phone_index import REINDEX, phones_of
from mexfi.vault.records import Records
from mexfi.vault.schemas import Actor, VerificationContact

__all__ = ["MATCH", "MISMATCH", "NOT_HELD", "Identity"]

MATCH = "match"
MISMATCH = "mismatch"
#: The store holds no such value (never declared, or destroyed, e.g. under TX-7.7).
NOT_HELD = "not_held"

_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y")
_NOT_WORD = re.compile(r"[^\w]+")


def _text(value: object) -> tuple[str, ...]:
    """Words of a value, case and accents as written, order aside: "Məmmədov Rəşad" and
    "RƏŞAD  MƏMMƏDOV" are the same name; "AB-123" and "ab 123" the same number."""
    folded = unicodedata.normalize("NFKC", str(value)).casefold()
    return tuple(sorted(w for w in _NOT_WORD.sub(" ", folded).split() if w))


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


def _same(kind: FieldType, given: str, stored: object) -> bool:
    if kind in (FieldType.DATE, FieldType.DATETIME):
        wanted = _date(given)
        return wanted is not None and wanted == _date(stored)
    return bool(_text(given)) and _text(given) == _text(stored)


class Identity:
    """The vault's part in verifying who makes a request."""

    def __init__(self, ctx: VaultContext, records: Records) -> None:
        self.ctx = ctx
        self.records = records

    def _checked(
        self, uow: UnitOfWork, subject_id: str, categories: Collection[str], actor: Actor
    ) -> tuple[Subject, Policy, str, tuple[str, ...], tuple[str, ...]]:
        """(subject, policy, purpose, clauses, tiers) of an allowed verification read."""
        ctx = self.ctx
        subject = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(subject.policy_id)
        purpose = policy.purpose(policy.requests.purposes.subject_request)
        tiers = (ACTIVE, PASSIVE) if purpose.reaches_passive_tier else (ACTIVE,)
        with ctx.denials_audited(uow, actor, subject, purpose.id, categories):
            for tier in tiers:
                check_access(
                    policy,
                    subject_kind=subject.kind,
                    # The subject's status does not stop its own request from being verified.
                    subject_status="active",
                    subject_id=subject.id,
                    categories=categories,
                    purpose_id=purpose.id,
                    actor=actor,
                    tier=tier,
                )
        return subject, policy, purpose.id, tuple(purpose.clauses), tiers

    def _audit(
        self,
        uow: UnitOfWork,
        actor: Actor,
        subject: Subject,
        purpose: str,
        categories: Collection[str],
        clauses: tuple[str, ...],
        *,
        count: int,
        reason: str,
        request_id: str,
    ) -> None:
        """Audit the read now, and again if the caller rolls back: a value was decrypted
        either way (a code refused after the phone was read still leaves the read on record)."""
        ctx = self.ctx
        ctx.record_denial(
            uow,
            ctx.event(
                AuditAction.READ,
                actor,
                subject=subject,
                purpose=purpose,
                categories=categories,
                clauses=clauses,
                count=count,
                reason=reason,
                reference=request_id,
            ),
        )

    def verification_contact(
        self, uow: UnitOfWork, subject_id: str, *, actor: Actor, request_id: str
    ) -> VerificationContact | None:
        """The subject's registered phone (the newest of its phone category, either tier) and
        its blind-index bucket, to send request `request_id` a one-time code; None when the
        store holds no phone of the subject (never registered with one, or destroyed).
        Audited as a read for the subject-request purpose, reason `verification_contact`."""
        ctx = self.ctx
        row = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(row.policy_id)
        category = ctx.phone_category(policy, row.kind)
        if category is None:
            return None
        subject, policy, purpose, clauses, _ = self._checked(uow, subject_id, [category], actor)
        phones = phones_of(ctx, uow, policy, {subject.id: subject.kind}).get(subject.id, [])
        self._audit(
            uow, actor, subject, purpose, [category], clauses,
            count=1 if phones else 0, reason="verification_contact", request_id=request_id,
        )  # fmt: skip
        if not phones:
            return None
        phone = phones[-1]
        bucket = subject.phone_bucket
        if bucket is None or bucket == REINDEX:
            bucket = ctx.phone_index(phone)
        return VerificationContact(phone=phone, phone_bucket=bucket)

    def compare_identity(
        self,
        uow: UnitOfWork,
        subject_id: str,
        given: Mapping[str, str],
        *,
        actor: Actor,
        request_id: str,
    ) -> dict[str, str]:
        """{data category (fides, e.g. `user.name`): match | mismatch | not_held} of what a
        request gives against the subject's fields of that fides category, in the categories
        the subject-request purpose reaches; no value leaves the vault. Audited as a read,
        reason `identity_check`."""
        ctx = self.ctx
        row = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(row.policy_id)
        reach = set(policy.purpose(policy.requests.purposes.subject_request).categories)
        fields: dict[str, list[tuple[str, str, FieldType]]] = {}
        for declared in policy.categories_of(row.kind):
            if declared.id not in reach:
                continue
            for field in declared.fields:
                fides = field.fides_category
                if fides is not None and fides in given:
                    fields.setdefault(fides, []).append((declared.id, field.name, field.type))
        result = {name: NOT_HELD for name in given}
        categories = sorted({c for found in fields.values() for c, _, _ in found})
        if not categories:
            return result
        subject, policy, purpose, clauses, tiers = self._checked(uow, subject_id, categories, actor)
        records = self.records.decrypted(uow, policy, subject.id, categories, tiers=tiers)
        held: dict[str, list[tuple[FieldType, Any]]] = {}
        for name, found in fields.items():
            for category, field_name, kind in found:
                for record in records:
                    value = record.values.get(field_name)
                    if record.category == category and value not in (None, ""):
                        held.setdefault(name, []).append((kind, value))
        for name, values in held.items():
            same = any(_same(kind, given[name], value) for kind, value in values)
            result[name] = MATCH if same else MISMATCH
        self._audit(
            uow, actor, subject, purpose, categories, clauses,
            count=len(records), reason="identity_check", request_id=request_id,
        )  # fmt: skip
        return result

    def verification_code_mac(self, code_id: str, request_id: str, code: str) -> bytes:
        """The keyed MAC a one-time code of `request_id` is kept as, in place of the code."""
        return crypto.verification_code_mac(self.ctx.secrets.index_key, code_id, request_id, code)
