"""The vault: subjects and their records, encrypted at rest, read only for a declared purpose.

Every operation is audited in the same records transaction as the change it
records; a denial is audited in a transaction of its own, then raised.
Data keys are created and shredded in the key store, never beside the records.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mexfi.audit import AuditAction
from mexfi.clock import utc
from mexfi.errors import Conflict
from mexfi.policy.schema import (
    Category,
    FieldType,
    Policy,
    RightKind,
)
from mexfi.scan import default_scanner
from mexfi.vault.access import right_clauses
from mexfi.vault.codec import (
    normalise_record,
)
from mexfi.vault.core import (
    ACTIVE,
    PASSIVE,
    TIERS,
    bulk_insert,
    new_id,
    subject_read,
)
from mexfi.vault.disclosure import Disclosures
from mexfi.vault.errors import (
    InvalidValue,
    RecordNotFound,
    SubjectNotFound,
)
from mexfi.vault.keys import KeyScope, UnwrappedKey
from mexfi.vault.models import (
    FreeTextFinding,
    OrderLink,
    Record,
    Subject,
)
from mexfi.vault.schemas import (
    Actor,
    RecordCreate,
    RecordRead,
    SubjectData,
    SubjectRead,
)
from mexfi.vault.shredding import Shredding

__all__ = ["ACTIVE", "PASSIVE", "TIERS", "Vault", "bulk_insert"]


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


class Vault(Shredding, Disclosures):
    """Personal data of the subjects of one or more policies."""

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
        subject_id = new_id()
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
        return subject_read(row)

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
            subject_id = new_id()
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
        return [subject_read(row) for row in rows]

    def find_by_phone(self, policy_id: str, phone: str) -> SubjectRead | None:
        """The subject registered with this phone, through the blind index only."""
        index = self.phone_index(phone)
        with self.store.records() as session:
            row = session.scalar(
                select(Subject).where(Subject.policy_id == policy_id, Subject.phone_index == index)
            )
            return subject_read(row) if row is not None else None

    def subject(self, subject_id: str) -> SubjectRead:
        with self.store.records() as session:
            return subject_read(self._subject(session, subject_id))

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
        kinds = {
            "blocked": (RightKind.BLOCKING,),
            "active": (RightKind.BLOCKING,),
            "prohibited": (RightKind.PROHIBITION, RightKind.WITHDRAW_CONSENT),
        }[status]
        with self.store.records() as session:
            row = self._subject(session, subject_id)
            row.status = status
            row.status_changed_at = now
            clauses = right_clauses(self.policy(row.policy_id), *kinds)
            self.audit.append(
                session,
                self._event(action, actor, subject=row, clauses=clauses, reason=reason, at=now),
            )
            return subject_read(row)

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
                    item, category, values, new_id(), free_text_findings(category, values)
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
                        "id": new_id(),
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
        return SubjectData(subject=subject_read(subject), purpose=purpose, records=records)

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
                id=new_id(),
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
