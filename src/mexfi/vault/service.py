"""The vault: subjects and their records, encrypted at rest, read only for a declared purpose.

Every operation is audited in the same records transaction as the change it
records; a denial is audited in a transaction of its own, then raised.
Data keys are created and shredded in the key store, never beside the records.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from mexfi.audit import AuditAction, AuditEvent, AuditLog, AuditOutcome
from mexfi.clock import Clock, SystemClock, utc
from mexfi.db import Base, Store
from mexfi.errors import Conflict
from mexfi.policy.schema import (
    Category,
    FieldType,
    Policy,
    Purpose,
    RecipientBasis,
    RecipientKind,
    RoleKind,
)
from mexfi.scan import default_scanner
from mexfi.secrets import Secrets
from mexfi.vault import crypto
from mexfi.vault.access import check_access, check_categories
from mexfi.vault.codec import (
    decode_value,
    encode_value,
    field_types,
    normalise_phone,
    normalise_record,
    pack_fields,
    unpack_fields,
)
from mexfi.vault.errors import (
    DisclosureDenied,
    InvalidValue,
    PurposeDenied,
    RecordNotFound,
    SubjectNotFound,
)
from mexfi.vault.keys import KeyScope, KeyService, UnwrappedKey
from mexfi.vault.models import (
    DataKey,
    DestructionEvidence,
    Disclosure,
    FreeTextFinding,
    OrderLink,
    PassiveRecord,
    Record,
    RecordColumns,
    Subject,
    WrittenConsent,
)
from mexfi.vault.schemas import (
    Actor,
    DestructionReport,
    DisclosureRead,
    RecordCreate,
    RecordRead,
    SubjectData,
    SubjectRead,
)

__all__ = ["ACTIVE", "PASSIVE", "TIERS", "Vault", "bulk_insert"]

ACTIVE = "active"
PASSIVE = "passive"
TIERS = (ACTIVE, PASSIVE)


class PreparedRecord(NamedTuple):
    """A record checked, normalised and scanned, waiting for its key."""

    item: RecordCreate
    category: Category
    values: dict[str, Any]
    record_id: str
    #: Types of personal data found in free-text fields: {field: {type: count}}.
    free_text: dict[str, dict[str, int]]


def free_text_findings(category: Category, values: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Scan the free-text fields of a record for personal data the policy does not expect there.

    Card numbers never get here (refused on normalisation); other types are reported.
    """
    found: dict[str, dict[str, int]] = {}
    for field in category.fields:
        if field.type is FieldType.TEXT and isinstance(values.get(field.name), str):
            types = Counter(e.type for e in default_scanner().scan(values[field.name]))
            if types:
                found[field.name] = dict(types)
    return found


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


def _new_id() -> str:
    """A random 128-bit id in hex (as uuid4().hex, without the version bits' cost)."""
    return os.urandom(16).hex()


def _subject_read(row: Subject) -> SubjectRead:
    return SubjectRead(
        id=row.id,
        policy_id=row.policy_id,
        kind=row.kind,
        pseudonym=row.pseudonym,
        status=row.status,
        registered_at=row.registered_at,
    )


class Vault:
    """Personal data of the subjects of one or more policies."""

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

    # ------------------------------------------------------------------ helpers

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

    # ------------------------------------------------------------------ subjects

    def register(
        self,
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
        policy = self.policy(policy_id)
        if kind not in {s.id for s in policy.subjects}:
            raise InvalidValue(
                f"subject kind {kind!r} is not declared in policy {policy_id!r}",
                hint=f"declared: {', '.join(s.id for s in policy.subjects)}",
            )
        now = self._now(at)
        subject_id = _new_id()
        index = self.phone_index(lookup_phone) if lookup_phone is not None else None
        row = Subject(
            id=subject_id,
            policy_id=policy_id,
            kind=kind,
            pseudonym=self.pseudonym(subject_id),
            phone_index=index,
            status="active",
            registered_at=now,
        )
        items = [
            RecordCreate(subject_id, category, dict(values), now)
            for category, values in (records or {}).items()
        ]
        # Validate everything before anything is written.
        prepared = self._prepare(policy, {subject_id: row}, items, purpose, actor)
        if index is not None:
            with self.store.records() as session:
                taken = session.scalar(
                    select(Subject.id).where(
                        Subject.policy_id == policy_id, Subject.phone_index == index
                    )
                )
            if taken is not None:
                raise Conflict(
                    f"a subject with this phone number is already registered in {policy_id!r}",
                    hint="look the subject up with find_by_phone instead",
                )
        keys = self._ensure_keys(prepared, now)
        rows, findings = self._encrypt_rows(policy, prepared, keys, now)
        with self.store.records() as session:
            session.add(row)
            session.flush()
            self._insert(session, rows, findings)
            self.audit.append(
                session,
                self._event(
                    AuditAction.REGISTER,
                    actor,
                    subject=row,
                    purpose=purpose,
                    categories=[i.category for i in items],
                    clauses=[c for i in items for c in policy.category(i.category).clauses],
                    count=len(items),
                    at=now,
                ),
            )
        return _subject_read(row)

    def register_many(
        self,
        *,
        policy_id: str,
        kind: str,
        count: int,
        actor: Actor,
        at: datetime | None = None,
    ) -> list[SubjectRead]:
        """Create `count` subjects with no records yet (bulk loads write them with write_many)."""
        policy = self.policy(policy_id)
        if kind not in {s.id for s in policy.subjects}:
            raise InvalidValue(f"subject kind {kind!r} is not declared in policy {policy_id!r}")
        now = self._now(at)
        rows = []
        for _ in range(count):
            subject_id = _new_id()
            rows.append(
                Subject(
                    id=subject_id,
                    policy_id=policy_id,
                    kind=kind,
                    pseudonym=self.pseudonym(subject_id),
                    phone_index=None,
                    status="active",
                    registered_at=now,
                )
            )
        with self.store.records() as session:
            session.add_all(rows)
            session.flush()
            self.audit.append_many(
                session,
                [
                    self._event(AuditAction.REGISTER, actor, subject=row, count=0, at=now)
                    for row in rows
                ],
            )
        return [_subject_read(row) for row in rows]

    def find_by_phone(self, policy_id: str, phone: str) -> SubjectRead | None:
        """The subject registered with this phone, through the blind index only."""
        index = self.phone_index(phone)
        with self.store.records() as session:
            row = session.scalar(
                select(Subject).where(Subject.policy_id == policy_id, Subject.phone_index == index)
            )
            return _subject_read(row) if row is not None else None

    def subject(self, subject_id: str) -> SubjectRead:
        with self.store.records() as session:
            return _subject_read(self._subject(session, subject_id))

    def set_status(
        self, subject_id: str, status: str, *, actor: Actor, reason: str, at: datetime | None = None
    ) -> SubjectRead:
        """Block (TX-1.10), unblock or prohibit (TX-3.6) processing of a subject's data."""
        if status not in ("active", "blocked", "prohibited"):
            raise InvalidValue("status must be active, blocked or prohibited")
        now = self._now(at)
        action = {
            "blocked": AuditAction.BLOCK,
            "active": AuditAction.UNBLOCK,
            "prohibited": AuditAction.BLOCK,
        }[status]
        with self.store.records() as session:
            row = self._subject(session, subject_id)
            row.status = status
            row.status_changed_at = now
            self.audit.append(
                session,
                self._event(
                    action, actor, subject=row, clauses=("TX-1.10", "TX-11"), reason=reason, at=now
                ),
            )
            return _subject_read(row)

    # ------------------------------------------------------------------ writes

    def _prepare(
        self,
        policy: Policy,
        subjects: Mapping[str, Subject],
        items: Sequence[RecordCreate],
        purpose: str,
        actor: Actor,
    ) -> list[PreparedRecord]:
        """Check and normalise every item; nothing is written if one fails."""
        prepared = []
        by_subject: dict[str, set[str]] = defaultdict(set)
        resolved: dict[tuple[str, str], Category] = {}
        for item in items:
            subject = subjects[item.subject_id]
            category = resolved.get((subject.kind, item.category))
            if category is None:
                category = self._category(policy, subject.kind, item.category)
                resolved[(subject.kind, item.category)] = category
            values = normalise_record(category, item.values, policy_id=policy.id)
            prepared.append(
                PreparedRecord(
                    item, category, values, _new_id(), free_text_findings(category, values)
                )
            )
            by_subject[item.subject_id].add(item.category)
        for subject_id, categories in by_subject.items():
            subject = subjects[subject_id]
            with self._denials_audited(actor, subject, purpose, categories):
                self._check(policy, subject, categories, purpose, actor)
        return prepared

    def _ensure_keys(
        self, prepared: Sequence[PreparedRecord], now: datetime
    ) -> dict[KeyScope, UnwrappedKey]:
        scopes = [(p.item.subject_id, p.item.category, ACTIVE) for p in prepared]
        # Keys commit first: a record never exists without its key (an orphan key is harmless).
        with self.store.keys() as session:
            return self.keys.ensure(session, scopes, at=now)

    def _encrypt_rows(
        self,
        policy: Policy,
        prepared: Sequence[PreparedRecord],
        keys: Mapping[KeyScope, UnwrappedKey],
        now: datetime,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows to insert, encrypted before any transaction is opened, and the findings."""
        rows = []
        findings = []
        for item, category, values, record_id, found in prepared:
            for field_name, types in found.items():
                findings.append(
                    {
                        "id": _new_id(),
                        "record_id": record_id,
                        "subject_id": item.subject_id,
                        "policy_id": policy.id,
                        "category": item.category,
                        "field": field_name,
                        "types": ",".join(f"{t}:{n}" for t, n in sorted(types.items())),
                        "found_at": now,
                    }
                )
            key_id, dek = keys[(item.subject_id, item.category, ACTIVE)]
            rows.append(
                {
                    "id": record_id,
                    "subject_id": item.subject_id,
                    "category": item.category,
                    "collected_at": utc(item.collected_at) if item.collected_at else now,
                    "updated_at": None,
                    "key_id": key_id,
                    "payload": self.encrypt_payload(
                        policy, item.subject_id, record_id, category, values, dek
                    ),
                }
            )
        return rows, findings

    @staticmethod
    def _insert(
        session: Session, rows: Sequence[dict[str, Any]], findings: Sequence[dict[str, Any]]
    ) -> None:
        bulk_insert(session, Record, rows)
        if findings:
            session.execute(insert(FreeTextFinding), list(findings))

    def write(
        self,
        subject_id: str,
        category: str,
        values: Mapping[str, Any],
        *,
        actor: Actor,
        purpose: str,
        collected_at: datetime | None = None,
    ) -> str:
        """Write one record; returns its id."""
        return self.write_many(
            [RecordCreate(subject_id, category, dict(values), collected_at)],
            actor=actor,
            purpose=purpose,
        )[0]

    def write_many(self, items: Sequence[RecordCreate], *, actor: Actor, purpose: str) -> list[str]:
        """Write records in one batch: all are checked first, then written in one transaction."""
        if not items:
            return []
        now = self.clock.now()
        with self.store.records() as session:
            subject_ids = list({item.subject_id for item in items})
            subjects = {
                row.id: row
                for row in session.scalars(select(Subject).where(Subject.id.in_(subject_ids)))
            }
        missing = [s for s in subject_ids if s not in subjects]
        if missing:
            raise SubjectNotFound(f"no subject {missing[0]!r}")
        policy_ids = {row.policy_id for row in subjects.values()}
        if len(policy_ids) != 1:
            raise InvalidValue("one batch writes subjects of one policy")
        policy = self.policy(policy_ids.pop())
        prepared = self._prepare(policy, subjects, items, purpose, actor)
        keys = self._ensure_keys(prepared, now)
        rows, findings = self._encrypt_rows(policy, prepared, keys, now)
        with self.store.records() as session:
            self._insert(session, rows, findings)
            counts: dict[str, list[str]] = defaultdict(list)
            flagged: set[str] = set()
            for prepared_record in prepared:
                counts[prepared_record.item.subject_id].append(prepared_record.item.category)
                if prepared_record.free_text:
                    flagged.add(prepared_record.item.subject_id)
            self.audit.append_many(
                session,
                [
                    self._event(
                        AuditAction.CREATE,
                        actor,
                        subject=subjects[subject_id],
                        purpose=purpose,
                        categories=categories,
                        clauses=[
                            c for cat in set(categories) for c in policy.category(cat).clauses
                        ],
                        count=len(categories),
                        reason="free_text_personal_data" if subject_id in flagged else None,
                        at=now,
                    )
                    for subject_id, categories in counts.items()
                ],
            )
        return [p.record_id for p in prepared]

    # ------------------------------------------------------------------ reads

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

    def read(
        self,
        subject_id: str,
        categories: Collection[str],
        *,
        purpose: str,
        actor: Actor,
        since: datetime | None = None,
        until: datetime | None = None,
        tiers: Collection[str] = (ACTIVE,),
    ) -> SubjectData:
        """Decrypt a subject's `categories` for `purpose`; a denial raises and is audited.

        `tiers` may add `"passive"`: only purposes that reach the passive tier get there.
        """
        categories = list(dict.fromkeys(categories))
        tiers = list(dict.fromkeys(tiers))
        unknown = [t for t in tiers if t not in TIERS]
        if unknown:
            raise InvalidValue(f"unknown tier {unknown[0]!r}; tiers are {', '.join(TIERS)}")
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
            policy = self.policy(subject.policy_id)
        with self._denials_audited(actor, subject, purpose, categories):
            for tier in tiers:
                checked = self._check(policy, subject, categories, purpose, actor, tier=tier)
            if checked.requires_active_order:
                self._require_active_order(subject, actor, clauses=tuple(checked.clauses))
        with self.store.records() as session:
            records = self._load(
                session, policy, subject, categories, tiers=tiers, since=since, until=until
            )
            self.audit.append(
                session,
                self._event(
                    AuditAction.READ,
                    actor,
                    subject=subject,
                    purpose=purpose,
                    categories=categories,
                    clauses=checked.clauses,
                    count=len(records),
                    reason="passive_tier" if PASSIVE in tiers else None,
                ),
            )
        return SubjectData(subject=_subject_read(subject), purpose=purpose, records=records)

    # ------------------------------------------------------------------ orders (TX-13)

    def open_order(
        self, *, driver_id: str, customer_id: str, actor: Actor, at: datetime | None = None
    ) -> str:
        """Start an order: while it is open the customer may see the driver's location."""
        now = self._now(at)
        with self.store.records() as session:
            driver = self._subject(session, driver_id)
            customer = self._subject(session, customer_id)
            link = OrderLink(
                id=_new_id(),
                policy_id=driver.policy_id,
                driver_id=driver.id,
                customer_id=customer.id,
                started_at=now,
            )
            session.add(link)
            return link.id

    def close_order(self, order_id: str, *, at: datetime | None = None) -> None:
        now = self._now(at)
        with self.store.records() as session:
            session.execute(
                update(OrderLink)
                .where(OrderLink.id == order_id, OrderLink.ended_at.is_(None))
                .values(ended_at=now)
            )

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

    # ------------------------------------------------------------------ rectification

    def update(
        self,
        record_id: str,
        values: Mapping[str, Any],
        *,
        actor: Actor,
        purpose: str,
    ) -> None:
        """Change fields of a record; the old values' key is shredded (all re-encrypted)."""
        now = self.clock.now()
        with self.store.records() as session:
            row = session.get(Record, record_id)
            if row is None:
                raise RecordNotFound(f"no record {record_id!r}")
            subject = self._subject(session, row.subject_id)
            policy = self.policy(subject.policy_id)
            category_id = row.category
        category = policy.category(category_id)
        with self._denials_audited(actor, subject, purpose, [category_id]):
            checked = self._check(policy, subject, [category_id], purpose, actor)
        with self.store.records() as session:
            current = self._load(session, policy, subject, [category_id])
        target = next((r for r in current if r.id == record_id), None)
        if target is None:
            raise RecordNotFound(f"record {record_id!r} can no longer be decrypted")
        normalised = normalise_record(
            category, {**target.values, **dict(values)}, policy_id=policy.id
        )
        new_index = self._rectified_phone_index(policy, subject, category, target, normalised)
        self._rekey_scope(
            subject,
            category,
            current,
            replace={record_id: normalised},
            event=self._event(
                AuditAction.UPDATE,
                actor,
                subject=subject,
                purpose=purpose,
                categories=[category_id],
                clauses=checked.clauses,
                reference=record_id,
                at=now,
            ),
            at=now,
        )
        if new_index is not None:
            with self.store.records() as session:
                session.execute(
                    update(Subject).where(Subject.id == subject.id).values(phone_index=new_index)
                )

    def _rectified_phone_index(
        self,
        policy: Policy,
        subject: Subject,
        category: Category,
        before: RecordRead,
        after: Mapping[str, Any],
    ) -> bytes | None:
        """The new blind index when a rectification changes the indexed phone, else None.

        Refuses a phone another subject of the policy is registered with.
        """
        if subject.phone_index is None or self._phone_category_of(policy, subject.kind) != (
            category.id
        ):
            return None
        phone_field = next(f.name for f in category.fields if f.type is FieldType.PHONE)
        if after.get(phone_field) == before.values.get(phone_field) or not after.get(phone_field):
            return None
        index = self.phone_index(after[phone_field])
        with self.store.records() as session:
            taken = session.scalar(
                select(Subject.id).where(
                    Subject.policy_id == policy.id,
                    Subject.phone_index == index,
                    Subject.id != subject.id,
                )
            )
        if taken is not None:
            raise Conflict(
                f"another subject of {policy.id!r} is registered with this phone number",
                hint="a phone number identifies one subject; resolve the duplicate first",
            )
        return index

    def destroy_records(
        self,
        subject_id: str,
        category_id: str,
        record_ids: Collection[str],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        at: datetime | None = None,
    ) -> DestructionReport:
        """Destroy some active records of a scope: the rest is re-encrypted under a fresh key
        and the old key shredded, so the destroyed ones are gone from backups too."""
        now = self._now(at)
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
            policy = self.policy(subject.policy_id)
            current = self._load(session, policy, subject, [category_id])
        category = self._category(policy, subject.kind, category_id)
        with self.store.keys() as key_session:
            old_ids = self.keys.key_ids(key_session, subject.id, [category_id], tiers=[ACTIVE])
        drop = {r.id for r in current} & set(record_ids)
        clause_list = sorted(set(clauses))
        destroyed = self._rekey_scope(
            subject,
            category,
            current,
            drop=drop,
            event=self._event(
                AuditAction.DESTROY,
                actor,
                subject=subject,
                categories=[category_id],
                clauses=clause_list,
                count=len(drop),
                reason=reason,
                reference=rule_id or request_id,
                at=now,
            ),
            at=now,
        )
        evidence = DestructionEvidence(
            id=_new_id(),
            policy_id=policy.id,
            subject_id=subject.id,
            subject_pseudonym=subject.pseudonym,
            categories=category_id,
            key_ids=",".join(sorted(old_ids)),
            records_destroyed=destroyed,
            reason=reason,
            rule_id=rule_id,
            request_id=request_id,
            clauses=",".join(clause_list),
            actor_id=actor.id,
            status="complete",
            started_at=now,
            completed_at=self.clock.now(),
        )
        with self.store.records() as session:
            session.add(evidence)
        return self._evidence_read(evidence)

    def _rekey_scope(
        self,
        subject: Subject,
        category: Category,
        current: Sequence[RecordRead],
        *,
        replace: Mapping[str, dict[str, Any]] | None = None,
        drop: Collection[str] = (),
        event: AuditEvent,
        at: datetime,
    ) -> int:
        """Re-encrypt a scope's active records under a fresh key, then shred the old keys.

        Whatever the old keys encrypted (an old value, a dropped record) becomes
        undecryptable wherever a copy of it survives. Crash-safe in every order:
        the new key commits first, the rows next, the old keys are shredded last.
        """
        policy = self.policy(subject.policy_id)
        scope = (subject.id, category.id, ACTIVE)
        replace = replace or {}
        with self.store.keys() as key_session:
            old_ids = self.keys.key_ids(key_session, subject.id, [category.id], tiers=[ACTIVE])
            new_key_id, dek = self.keys.create(key_session, [scope], at=at)[scope]
        with self.store.records() as session:
            for record in current:
                if record.id in drop:
                    continue
                session.execute(
                    update(Record)
                    .where(Record.id == record.id)
                    .values(
                        key_id=new_key_id,
                        payload=self.encrypt_payload(
                            policy,
                            subject.id,
                            record.id,
                            category,
                            replace.get(record.id, record.values),
                            dek,
                        ),
                        updated_at=at if record.id in replace else record.updated_at,
                    )
                )
            dropped = 0
            if drop:
                result = session.execute(delete(Record).where(Record.id.in_(list(drop))))
                dropped = int(getattr(result, "rowcount", 0) or 0)
            self.audit.append(session, event)
        with self.store.keys() as key_session:
            self.keys.shred(key_session, old_ids)
        return dropped

    # ------------------------------------------------------------------ destruction

    def destroy(
        self,
        subject_id: str,
        categories: Collection[str],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        at: datetime | None = None,
    ) -> DestructionReport:
        """Crypto-shred a subject's categories, in both tiers: keys first, then rows.

        A crash after the keys are gone leaves rows nobody can decrypt;
        `complete_destructions` (run by every sweep) finishes the job.
        """
        return self.destroy_many(
            [(subject_id, categories)],
            reason=reason,
            actor=actor,
            rule_id=rule_id,
            request_id=request_id,
            clauses=clauses,
            at=at,
        )[0]

    def destroy_many(
        self,
        targets: Sequence[tuple[str, Collection[str]]],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        at: datetime | None = None,
        session: Session | None = None,
    ) -> list[DestructionReport]:
        """Destroy many subjects' categories in one sweep, with one evidence row per subject.

        With `session`, the pending evidence is written in the caller's records transaction
        (the retention sweep uses it to claim subjects under its row locks) and committed
        by it; the keys and rows are shredded by `complete_destructions` after that.
        """
        now = self._now(at)
        clause_text = ",".join(sorted(set(clauses)))
        wanted = [(subject_id, sorted(set(categories))) for subject_id, categories in targets]
        if not wanted:
            return []
        with self.store.records() if session is None else nullcontext(session) as records:
            subjects = {
                row.id: row
                for row in records.scalars(
                    select(Subject).where(Subject.id.in_([s for s, _ in wanted]))
                )
            }
        for subject_id, categories in wanted:
            subject = subjects.get(subject_id)
            if subject is None:
                raise SubjectNotFound(f"no subject {subject_id!r}")
            check_categories(self.policy(subject.policy_id), subject.kind, categories)
        with self.store.keys() as key_session:
            rows = key_session.execute(
                select(DataKey.subject_id, DataKey.category, DataKey.id).where(
                    DataKey.subject_id.in_([s for s, _ in wanted])
                )
            ).all()
        key_ids: dict[str, list[str]] = defaultdict(list)
        wanted_scopes = {(s, c) for s, cats in wanted for c in cats}
        for subject_id, category, key_id in rows:
            if (subject_id, category) in wanted_scopes:
                key_ids[subject_id].append(key_id)
        evidence = [
            DestructionEvidence(
                id=_new_id(),
                policy_id=subjects[subject_id].policy_id,
                subject_id=subject_id,
                subject_pseudonym=subjects[subject_id].pseudonym,
                categories=",".join(categories),
                key_ids=",".join(sorted(key_ids[subject_id])),
                records_destroyed=0,
                reason=reason,
                rule_id=rule_id,
                request_id=request_id,
                clauses=clause_text,
                actor_id=actor.id,
                status="pending",
                started_at=now,
            )
            for subject_id, categories in wanted
        ]
        ids = [e.id for e in evidence]
        if session is not None:
            session.add_all(evidence)
            session.flush()
            return [self._evidence_read(e) for e in evidence]
        with self.store.records() as records:
            records.add_all(evidence)
        return self._finish_destructions(ids, actor=actor)

    def _finish_destructions(
        self, evidence_ids: Sequence[str], *, actor: Actor
    ) -> list[DestructionReport]:
        """Shred the keys of pending evidence, then delete the rows, then mark it complete."""
        with self.store.records() as session:
            pending = list(
                session.scalars(
                    select(DestructionEvidence).where(DestructionEvidence.id.in_(evidence_ids))
                )
            )
        with self.store.keys() as key_session:
            self.keys.shred(
                key_session,
                [k for e in pending if e.status == "pending" for k in e.key_ids.split(",") if k],
            )
        completed = self.clock.now()
        todo = [e for e in pending if e.status != "complete"]
        # A key belongs to one subject and category: deleting by key id is exact, and lets a
        # whole batch of subjects go in a few statements.
        key_owner = {
            key: evidence.id for evidence in todo for key in evidence.key_ids.split(",") if key
        }
        destroyed: Counter[str] = Counter()
        with self.store.records() as session:
            keys = list(key_owner)
            for start in range(0, len(keys), 1000):
                chunk = keys[start : start + 1000]
                for table in (Record, PassiveRecord):
                    gone = session.execute(
                        delete(table).where(table.key_id.in_(chunk)).returning(table.key_id)
                    )
                    destroyed.update(key_owner[key] for key in gone.scalars())
            subjects = {
                row.id: row
                for row in session.scalars(
                    select(Subject).where(Subject.id.in_({e.subject_id for e in todo}))
                )
            }
            events = []
            cleared = []
            for evidence in todo:
                categories = [c for c in evidence.categories.split(",") if c]
                subject = subjects[evidence.subject_id]
                policy = self.policy(subject.policy_id)
                session.execute(
                    delete(FreeTextFinding).where(
                        FreeTextFinding.subject_id == subject.id,
                        FreeTextFinding.category.in_(categories),
                    )
                )
                # The blind index points at the phone: it goes with the category holding it.
                if self._phone_category_of(policy, subject.kind) in categories:
                    cleared.append(subject.id)
                events.append(
                    self._event(
                        AuditAction.DESTROY,
                        actor,
                        subject=subject,
                        categories=categories,
                        clauses=[c for c in evidence.clauses.split(",") if c],
                        count=destroyed[evidence.id],
                        reason=evidence.reason,
                        reference=evidence.rule_id or evidence.request_id or evidence.id,
                        at=completed,
                    )
                )
            if cleared:
                session.execute(
                    update(Subject).where(Subject.id.in_(cleared)).values(phone_index=None)
                )
            if todo:
                session.execute(
                    update(DestructionEvidence),
                    [
                        {
                            "id": evidence.id,
                            "status": "complete",
                            "completed_at": completed,
                            "records_destroyed": evidence.records_destroyed
                            + destroyed[evidence.id],
                        }
                        for evidence in todo
                    ],
                )
            self.audit.append_many(session, events)
            final = session.scalars(
                select(DestructionEvidence).where(DestructionEvidence.id.in_(evidence_ids))
            )
            by_id = {row.id: self._evidence_read(row) for row in final}
        return [by_id[i] for i in evidence_ids if i in by_id]

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

    def complete_destructions(self, *, actor: Actor, batch_size: int = 1000) -> int:
        """Finish destructions a crash interrupted; returns how many were finished."""
        finished = 0
        while True:
            with self.store.records() as session:
                pending = list(
                    session.scalars(
                        select(DestructionEvidence.id)
                        .where(DestructionEvidence.status == "pending")
                        .limit(batch_size)
                    )
                )
            if not pending:
                return finished
            self._finish_destructions(pending, actor=actor)
            finished += len(pending)

    def destruction_evidence(self, subject_id: str, *, actor: Actor) -> list[DestructionReport]:
        """A subject's destruction certificates, for the DPO or the subject itself (TX-8)."""
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
        self._require_dpo_or_self(subject, actor, "destruction certificates", ("TX-8",))
        with self.store.records() as session:
            rows = session.scalars(
                select(DestructionEvidence)
                .where(DestructionEvidence.subject_id == subject_id)
                .order_by(DestructionEvidence.started_at)
            )
            return [self._evidence_read(row) for row in rows]

    # ------------------------------------------------------------------ disclosures

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
                id=_new_id(),
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
                    clauses=("TX-11",),
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
                    id=_new_id(),
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
        return SubjectData(subject=_subject_read(subject), purpose=purpose, records=records)

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

    def disclosures(self, subject_id: str, *, actor: Actor) -> list[DisclosureRead]:
        """The disclosure register of a subject, for the DPO or the subject itself (TX-3.4)."""
        with self.store.records() as session:
            subject = self._subject(session, subject_id)
        self._require_dpo_or_self(subject, actor, "the disclosure register", ("TX-3.4",))
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
