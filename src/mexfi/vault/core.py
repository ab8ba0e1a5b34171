"""What the vault's parts share: the store, the policies, keys, audit, clock, and helpers.

`Vault` (service.py) is assembled from this core, `Shredding` (shredding.py) and
`Disclosures` (disclosure.py); each part is one concern of the vault.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from mexfi.audit import AuditAction, AuditEvent, AuditLog, AuditOutcome
from mexfi.clock import Clock, SystemClock, utc
from mexfi.db import Base, Store
from mexfi.policy.schema import (
    Category,
    FieldType,
    Policy,
    Purpose,
    RoleKind,
)
from mexfi.secrets import Secrets
from mexfi.vault import crypto
from mexfi.vault.access import check_access, check_categories
from mexfi.vault.codec import (
    decode_value,
    encode_value,
    field_types,
    normalise_phone,
    pack_fields,
    unpack_fields,
)
from mexfi.vault.errors import (
    DisclosureDenied,
    PurposeDenied,
    SubjectNotFound,
)
from mexfi.vault.keys import KeyService
from mexfi.vault.models import (
    DestructionEvidence,
    OrderLink,
    PassiveRecord,
    Record,
    RecordColumns,
    Subject,
)
from mexfi.vault.schemas import (
    Actor,
    DestructionReport,
    RecordRead,
    SubjectRead,
)

__all__ = ["ACTIVE", "PASSIVE", "TIERS", "VaultCore", "bulk_insert", "new_id", "subject_read"]


ACTIVE = "active"
PASSIVE = "passive"
TIERS = (ACTIVE, PASSIVE)


#: From this many rows on, PostgreSQL gets them through COPY rather than INSERT.
COPY_THRESHOLD = 64


def bulk_insert(session: Session, table: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL, INSERT elsewhere."""
    if not rows:
        return
    if len(rows) < COPY_THRESHOLD or session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    target = table.__table__
    assert isinstance(target, Table)
    connection = session.connection()
    translate = connection.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(target.schema, target.schema)
    name = f'"{schema}".{target.name}' if schema else target.name
    driver = connection.connection.driver_connection
    statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[column] for column in columns])


def new_id() -> str:
    """A random 128-bit id in hex (as uuid4().hex, without the version bits' cost)."""
    return os.urandom(16).hex()


def subject_read(row: Subject) -> SubjectRead:
    return SubjectRead(
        id=row.id,
        policy_id=row.policy_id,
        kind=row.kind,
        pseudonym=row.pseudonym,
        status=row.status,
        registered_at=row.registered_at,
    )


class VaultCore:
    """The state every part of the vault works on, and the helpers they share."""

    def __init__(
        self,
        store: Store,
        policies: Mapping[str, Policy],
        secrets: Secrets,
        *,
        clock: Clock | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.store = store
        self.policies = dict(policies)
        self.secrets = secrets
        self.clock: Clock = clock or SystemClock()
        self.keys = KeyService(secrets)
        self.audit = audit or AuditLog(signing_key=secrets.audit_signing_key)

    def policy(self, policy_id: str) -> Policy:
        try:
            return self.policies[policy_id]
        except KeyError:
            raise SubjectNotFound(
                f"policy {policy_id!r} is not loaded",
                hint=f"loaded policies: {', '.join(sorted(self.policies)) or 'none'}",
            ) from None

    def pseudonym(self, subject_id: str) -> str:
        return crypto.pseudonym(self.secrets.pseudonym_key, subject_id)

    def _now(self, at: datetime | None = None) -> datetime:
        return utc(at) if at is not None else self.clock.now()

    def _subject(self, session: Session, subject_id: str) -> Subject:
        row = session.get(Subject, subject_id)
        if row is None:
            raise SubjectNotFound(f"no subject {subject_id!r}")
        return row

    def _event(
        self,
        action: AuditAction,
        actor: Actor,
        *,
        subject: Subject | None = None,
        purpose: str | None = None,
        categories: Iterable[str] = (),
        clauses: Iterable[str] = (),
        outcome: AuditOutcome = AuditOutcome.OK,
        count: int = 1,
        reason: str | None = None,
        reference: str | None = None,
        policy_id: str | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            action=action,
            at=at or self.clock.now(),
            actor_id=actor.id,
            actor_role=actor.role,
            outcome=outcome,
            purpose=purpose,
            policy_id=policy_id or (subject.policy_id if subject else None),
            subject=subject.pseudonym if subject else None,
            categories=tuple(sorted(set(categories))),
            clauses=tuple(sorted(set(clauses))),
            count=count,
            reason=reason,
            reference=reference,
        )

    def _audit_denial(self, event: AuditEvent) -> None:
        with self.store.records() as session:
            self.audit.append(session, event)

    @contextmanager
    def _denials_audited(
        self,
        actor: Actor,
        subject: Subject,
        purpose: str,
        categories: Collection[str],
        action: AuditAction = AuditAction.DENY,
    ) -> Iterator[None]:
        """Audit a `PurposeDenied`/`DisclosureDenied` raised inside, in its own transaction."""
        try:
            yield
        except (PurposeDenied, DisclosureDenied) as exc:
            self._audit_denial(
                self._event(
                    action,
                    actor,
                    subject=subject,
                    purpose=purpose,
                    categories=categories,
                    clauses=exc.clauses,
                    outcome=AuditOutcome.DENIED,
                    count=0,
                    reason=exc.reason,
                )
            )
            raise

    @staticmethod
    def _check(
        policy: Policy,
        subject: Subject,
        categories: Collection[str],
        purpose: str,
        actor: Actor,
        tier: str = ACTIVE,
    ) -> Purpose:
        """`check_access` for this subject's kind and state."""
        return check_access(
            policy,
            subject_kind=subject.kind,
            subject_status=subject.status,
            subject_id=subject.id,
            categories=categories,
            purpose_id=purpose,
            actor=actor,
            tier=tier,
        )

    def _category(self, policy: Policy, subject_kind: str, category_id: str) -> Category:
        check_categories(policy, subject_kind, [category_id])
        return policy.category(category_id)

    def encrypt_payload(
        self,
        policy: Policy,
        subject_id: str,
        record_id: str,
        category: Category,
        values: Mapping[str, Any],
        dek: bytes,
    ) -> bytes:
        """Encrypt each field of a record under `dek`, bound to its subject, record and field."""
        types = field_types(category)
        prefix = crypto.field_aad_prefix(policy.id, subject_id, record_id, category.id)
        names = list(values)
        blobs = crypto.encrypt_many(
            dek,
            [(encode_value(types[n], values[n]), (prefix + n).encode()) for n in names],
        )
        return pack_fields(dict(zip(names, blobs, strict=True)))

    def decrypt_payload(
        self,
        policy: Policy,
        subject_id: str,
        record_id: str,
        category: Category,
        payload: bytes,
        dek: bytes,
    ) -> dict[str, Any]:
        """Decrypt a record's fields; `DecryptionFailed` if any was moved or altered."""
        values = {}
        types = field_types(category)
        prefix = crypto.field_aad_prefix(policy.id, subject_id, record_id, category.id)
        cipher = crypto.cipher(dek)
        for name, blob in unpack_fields(payload).items():
            try:
                raw = cipher.decrypt(
                    blob[: crypto.NONCE_BYTES], blob[crypto.NONCE_BYTES :], (prefix + name).encode()
                )
            except (InvalidTag, ValueError):
                raise crypto.DecryptionFailed(
                    f"field {name!r} of record {record_id} does not decrypt: it was moved from "
                    "its row, altered, or its key was destroyed"
                ) from None
            values[name] = decode_value(types.get(name, FieldType.STRING), raw)
        return values

    def phone_index(self, phone: str) -> bytes:
        return crypto.blind_index(self.secrets.index_key, "phone", normalise_phone(phone))

    def _load(
        self,
        session: Session,
        policy: Policy,
        subject: Subject,
        categories: Collection[str],
        *,
        tiers: Collection[str] = (ACTIVE,),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[RecordRead]:
        scopes = [(subject.id, c, tier) for c in categories for tier in tiers]
        with self.store.keys() as key_session:
            keys = self.keys.load_all(key_session, scopes)
        out = []
        for tier in tiers:
            table: type[RecordColumns] = Record if tier == ACTIVE else PassiveRecord
            # Plain rows, not ORM objects: an access export reads thousands of them.
            query = select(
                table.id,
                table.category,
                table.collected_at,
                table.updated_at,
                table.key_id,
                table.payload,
            ).where(table.subject_id == subject.id, table.category.in_(list(categories)))
            if since is not None:
                query = query.where(table.collected_at >= utc(since))
            if until is not None:
                query = query.where(table.collected_at < utc(until))
            resolved: dict[str, Category] = {}
            for row in session.execute(query.order_by(table.collected_at, table.id)):
                dek = keys.get(row.key_id)
                if dek is None:
                    # Its key was shredded: a leftover of an interrupted destruction.
                    continue
                category = resolved.get(row.category)
                if category is None:
                    category = resolved[row.category] = policy.category(row.category)
                values = self.decrypt_payload(
                    policy, subject.id, row.id, category, row.payload, dek
                )
                out.append(
                    RecordRead(
                        id=row.id,
                        subject_id=subject.id,
                        category=row.category,
                        collected_at=row.collected_at,
                        updated_at=row.updated_at,
                        values=values,
                        tier=tier,
                    )
                )
        return out

    def _require_active_order(
        self, subject: Subject, actor: Actor, *, clauses: tuple[str, ...]
    ) -> None:
        with self.store.records() as session:
            open_order = session.scalar(
                select(OrderLink.id).where(
                    OrderLink.driver_id == subject.id,
                    OrderLink.customer_id == (actor.subject_id or ""),
                    OrderLink.ended_at.is_(None),
                )
            )
        if open_order is None:
            raise PurposeDenied(
                "the reader has no active order with this subject",
                reason="no_active_order",
                clauses=clauses,
            )

    @staticmethod
    def _phone_category_of(policy: Policy, kind: str) -> str | None:
        """The category of this subject kind holding a phone field (the blind-indexed one)."""
        for category in policy.categories_of(kind):
            if any(f.type is FieldType.PHONE for f in category.fields):
                return category.id
        return None

    @staticmethod
    def _evidence_read(row: DestructionEvidence) -> DestructionReport:
        return DestructionReport(
            evidence_id=row.id,
            subject_pseudonym=row.subject_pseudonym,
            categories=tuple(c for c in row.categories.split(",") if c),
            key_ids=tuple(k for k in row.key_ids.split(",") if k),
            records_destroyed=row.records_destroyed,
            reason=row.reason,
            rule_id=row.rule_id,
            request_id=row.request_id,
            clauses=tuple(c for c in row.clauses.split(",") if c),
            at=row.completed_at or row.started_at,
            status=row.status,
            hold_id=row.hold_id,
        )

    def _require_dpo_or_self(
        self, subject: Subject, actor: Actor, what: str, clauses: tuple[str, ...]
    ) -> None:
        """Registers about a subject are for the DPO and for the subject itself."""
        policy = self.policy(subject.policy_id)
        roles = {r.id: r for r in policy.roles}
        role = roles.get(actor.role)
        own = role is not None and role.kind is RoleKind.SUBJECT and actor.subject_id == subject.id
        if not (own or actor.role == "dpo"):
            with self._denials_audited(actor, subject, "registers", ()):
                raise PurposeDenied(
                    f"only the DPO and the subject may read {what}",
                    reason="register_not_allowed",
                    clauses=clauses,
                )
