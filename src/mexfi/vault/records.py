"""Records: written in batches, read and exported for a declared purpose, rectified, partly
destroyed, and resealed from format 1.

Writing a batch costs one key query, one AEAD call a record, one bulk insert and a few
audit entries (one per set of categories written, naming every subject it touched).
Reading streams rows in index order (`ix_records_subject_category_collected`) through
a server-side cursor on PostgreSQL and opens each with one AEAD call.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Row, func, select, type_coerce, update

from mexfi.audit import AuditAction
from mexfi.clock import utc
from mexfi.db import UnitOfWork, new_id
from mexfi.errors import Conflict
from mexfi.policy import Category, FieldType, Policy
from mexfi.scan import default_scanner
from mexfi.vault.bulk import bulk_insert, bulk_insert_values, id_chunks, is_postgres, one_of
from mexfi.vault.context import ACTIVE, PASSIVE, TIERS, SubjectLike, VaultContext, subject_read
from mexfi.vault.errors import InvalidValue, PurposeDenied, RecordNotFound, SubjectNotFound
from mexfi.vault.geolocation import check_location_window
from mexfi.vault.models import (
    FreeTextFinding,
    OrderLink,
    PassiveRecord,
    Record,
    RecordColumns,
    Subject,
)
from mexfi.vault.phone_index import holders, lock_index, phone_field
from mexfi.vault.quarantine import Quarantine, Suspect, open_or_suspect
from mexfi.vault.schemas import (
    Actor,
    DestructionReport,
    ExportedRecord,
    RecordCreate,
    RecordRead,
    RecordRef,
    SubjectData,
)
from mexfi.vault.sealing import (
    FORMAT,
    FORMAT_V1,
    open_record,
    python_values,
    seal_record,
    values_json,
)
from mexfi.vault.shredding import Shredder
from mexfi.vault.values import check_subject_ids, normalise_record

__all__ = ["Records", "free_text_findings"]

#: A timestamp as the driver gives it: aware, in the session's zone (UTC on PostgreSQL).
_UTC_TIME = DateTime(timezone=True)

#: Rows fetched at a time when a read streams (a server-side cursor on PostgreSQL).
STREAM_CHUNK = 2000
#: A record as `rows` streams it: id, category, collected_at, updated_at, key_id, format,
#: payload.
_RecordRow = Row[str, str, datetime, datetime | None, str, int, bytes]
#: The columns of a record row, in the order `store` builds them.
_RECORD_COLUMNS = (
    "id",
    "subject_id",
    "category",
    "collected_at",
    "updated_at",
    "key_id",
    "format",
    "payload",
)


def _table(tier: str) -> type[RecordColumns]:
    return Record if tier == ACTIVE else PassiveRecord


def free_text_findings(category: Category, values: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Personal data the scanner finds in a record's free-text fields: {field: {type: count}}.

    Card numbers never get here (refused on normalisation); other types are reported.
    """
    found: dict[str, dict[str, int]] = {}
    for field in category.fields:
        if field.type is FieldType.TEXT and isinstance(values.get(field.name), str):
            types = Counter(e.type for e in default_scanner().scan(values[field.name]))
            if types:
                found[field.name] = dict(types)
    return found


class PreparedRecord(NamedTuple):
    """A record checked, normalised and scanned, waiting for its key."""

    subject_id: str
    category: str
    record_id: str
    collected_at: datetime | None
    plaintext: bytes
    #: Types of personal data found in free-text fields: {field: {type: count}}.
    free_text: dict[str, dict[str, int]]


class Records:
    """The records of the subjects, in both tiers."""

    def __init__(self, ctx: VaultContext, shredder: Shredder, quarantine: Quarantine) -> None:
        self.ctx = ctx
        self.shredder = shredder
        self.quarantine = quarantine
        self._free_text: dict[tuple[str, str], bool] = {}

    # ------------------------------------------------------------------ writes

    def _has_free_text(self, policy: Policy, category: Category) -> bool:
        key = (policy.id, category.id)
        if key not in self._free_text:
            self._free_text[key] = any(f.type is FieldType.TEXT for f in category.fields)
        return self._free_text[key]

    def prepare(
        self,
        uow: UnitOfWork,
        policy: Policy,
        subjects: Mapping[str, SubjectLike],
        items: Sequence[RecordCreate],
        *,
        purpose: str,
        actor: Actor,
    ) -> list[PreparedRecord]:
        """Check, normalise and scan every item, and authorize the write; nothing is written."""
        ctx = self.ctx
        prepared = []
        by_subject: dict[str, set[str]] = defaultdict(set)
        resolved: dict[tuple[str, str], Category] = {}
        for item in items:
            subject = subjects[item.subject_id]
            category = resolved.get((subject.kind, item.category))
            if category is None:
                category = ctx.category(policy, subject.kind, item.category)
                resolved[(subject.kind, item.category)] = category
            values = normalise_record(category, item.values, policy_id=policy.id)
            prepared.append(
                PreparedRecord(
                    item.subject_id,
                    item.category,
                    new_id(),
                    item.collected_at,
                    values_json(ctx.types(policy, category.id), values),
                    free_text_findings(category, values)
                    if self._has_free_text(policy, category)
                    else {},
                )
            )
            by_subject[item.subject_id].add(item.category)
        for subject_id, categories in by_subject.items():
            ctx.authorize(uow, policy, subjects[subject_id], categories, purpose, actor)
        # TX-12: location only inside its window and while the subject's switch is on.
        check_location_window(ctx, uow, policy, subjects, items, purpose=purpose, actor=actor)
        return prepared

    def store(
        self, uow: UnitOfWork, policy: Policy, prepared: Sequence[PreparedRecord], *, at: datetime
    ) -> None:
        """Seal prepared records under their scopes' current keys and insert them (flushed)."""
        if not prepared:
            return
        keys = self.ctx.keys.current(
            uow, {(p.subject_id, p.category, ACTIVE) for p in prepared}, at=at
        )
        rows: list[tuple[object, ...]] = []
        findings = []
        now = self.ctx.now
        for p in prepared:
            key_id, aead = keys[(p.subject_id, p.category, ACTIVE)]
            place = (policy.id, p.subject_id, p.record_id, p.category, ACTIVE)
            rows.append(
                (
                    p.record_id,
                    p.subject_id,
                    p.category,
                    now(p.collected_at) if p.collected_at else at,
                    None,
                    key_id,
                    FORMAT,
                    seal_record(aead, p.plaintext, place),
                )
            )
            for field_name, types in p.free_text.items():
                findings.append(
                    {
                        "id": new_id(),
                        "record_id": p.record_id,
                        "subject_id": p.subject_id,
                        "policy_id": policy.id,
                        "category": p.category,
                        "field": field_name,
                        "types": ",".join(f"{t}:{n}" for t, n in sorted(types.items())),
                        "found_at": at,
                    }
                )
        bulk_insert_values(uow.records, Record, _RECORD_COLUMNS, rows)
        bulk_insert(uow.records, FreeTextFinding, findings)

    def write_many(
        self, uow: UnitOfWork, items: Sequence[RecordCreate], *, actor: Actor, purpose: str
    ) -> list[str]:
        """Write records of one policy's subjects: all are checked first, then written."""
        if not items:
            return []
        ctx = self.ctx
        now = ctx.now()
        subject_ids = list({item.subject_id for item in items})
        check_subject_ids(subject_ids)
        query = select(
            Subject.id, Subject.policy_id, Subject.kind, Subject.status, Subject.pseudonym
        ).where(one_of(uow.records, Subject.id, subject_ids))
        if is_postgres(uow.records):
            # The subject row is the lock on its keys: a rekey waits for this write, or this
            # write for the rekey, never a record sealed under a key being shredded.
            query = query.with_for_update(read=True)
        subjects = {row.id: row for row in uow.records.execute(query)}
        missing = [s for s in subject_ids if s not in subjects]
        if missing:
            raise SubjectNotFound(f"no subject {missing[0]!r}")
        policy_ids = {row.policy_id for row in subjects.values()}
        if len(policy_ids) != 1:
            raise InvalidValue("one batch writes subjects of one policy")
        policy = ctx.policy(policy_ids.pop())
        prepared = self.prepare(uow, policy, subjects, items, purpose=purpose, actor=actor)
        self.store(uow, policy, prepared, at=now)
        # One entry per set of categories written (and free-text flag), naming every subject.
        groups: dict[tuple[frozenset[str], bool], Counter[str]] = defaultdict(Counter)
        per_subject: dict[str, set[str]] = defaultdict(set)
        flagged: set[str] = set()
        for p in prepared:
            per_subject[p.subject_id].add(p.category)
            if p.free_text:
                flagged.add(p.subject_id)
        counts = Counter(p.subject_id for p in prepared)
        for subject_id, categories in per_subject.items():
            key = (frozenset(categories), subject_id in flagged)
            groups[key][subjects[subject_id].pseudonym] = counts[subject_id]
        ctx.audit.append_many(
            uow.records,
            [
                ctx.event(
                    AuditAction.CREATE,
                    actor,
                    policy_id=policy.id,
                    purpose=purpose,
                    categories=categories,
                    clauses=[c for cat in categories for c in policy.category(cat).clauses],
                    count=sum(by_pseudonym.values()),
                    reason="free_text_personal_data" if free_text else None,
                    subjects=by_pseudonym,
                    at=now,
                )
                for (categories, free_text), by_pseudonym in groups.items()
            ],
        )
        return [p.record_id for p in prepared]

    # ------------------------------------------------------------------ reads

    def require_active_order(
        self, uow: UnitOfWork, subject: SubjectLike, actor: Actor, *, clauses: Sequence[str]
    ) -> None:
        """TX-13: the reader must have an open order with this subject."""
        open_order = uow.records.scalar(
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
                clauses=tuple(clauses),
            )

    def _check_read(
        self,
        uow: UnitOfWork,
        subject_id: str,
        categories: Collection[str],
        tiers: Collection[str],
        purpose: str,
        actor: Actor,
        *,
        request_id: str | None = None,
        demand_id: str | None = None,
    ) -> tuple[Subject, Policy, tuple[str, ...]]:
        """The subject, its policy and the clauses of an allowed read; a denial is audited."""
        if not tiers:
            raise InvalidValue("a read names at least one tier", hint=f"tiers: {', '.join(TIERS)}")
        unknown = [t for t in tiers if t not in TIERS]
        if unknown:
            raise InvalidValue(f"unknown tier {unknown[0]!r}; tiers are {', '.join(TIERS)}")
        ctx = self.ctx
        subject = ctx.subject(uow.records, subject_id)
        policy = ctx.policy(subject.policy_id)
        checked = ctx.authorize(
            uow,
            policy,
            subject,
            categories,
            purpose,
            actor,
            tiers,
            request_id=request_id,
            demand_id=demand_id,
        )
        if checked.requires_active_order:
            with ctx.denials_audited(uow, actor, subject, purpose, categories):
                self.require_active_order(uow, subject, actor, clauses=checked.clauses)
        return subject, policy, tuple(checked.clauses)

    def rows(
        self,
        uow: UnitOfWork,
        policy: Policy,
        subject_id: str,
        categories: Collection[str],
        *,
        tiers: Collection[str] = (ACTIVE,),
        since: datetime | None = None,
        until: datetime | None = None,
        latest: bool = False,
    ) -> Iterator[tuple[str, _RecordRow, bytes]]:
        """(tier, row, format-2 plaintext) of a subject's records, streamed in index order;
        with `latest`, only the newest record of each category in each tier.

        No access check: callers check first. Rows whose key is gone (left by an
        interrupted destruction, about to be deleted) are skipped.
        """
        ctx = self.ctx
        categories = sorted(set(categories))
        if latest and (since is not None or until is not None):
            # A window would turn "the newest" into any point of the history (TX-13).
            raise InvalidValue("a read of the current position takes no time window")
        if not categories:
            return
        keys = ctx.keys.live(uow, [subject_id], categories, tiers)
        # PostgreSQL sessions run in UTC (`mexfi.db`): its datetimes need no converting, a
        # saving of ~3 µs a record on an export of ten thousand.
        raw_times = is_postgres(uow.records)
        policy_id = policy.id
        for tier in tiers:
            table = _table(tier)
            collected, updated = (
                (
                    type_coerce(table.collected_at, _UTC_TIME),
                    type_coerce(table.updated_at, _UTC_TIME),
                )
                if raw_times
                else (table.collected_at, table.updated_at)
            )
            query = select(
                table.id,
                table.category,
                collected,
                updated,
                table.key_id,
                table.format,
                table.payload,
            ).where(table.subject_id == subject_id)
            if since is not None:
                query = query.where(table.collected_at >= ctx.now(since))
            if until is not None:
                query = query.where(table.collected_at < ctx.now(until))
            queries = (
                [
                    # The same index, walked backwards from the newest point.
                    query.where(table.category == category)
                    .order_by(table.collected_at.desc(), table.id.desc())
                    .limit(1)
                    for category in categories
                ]
                if latest
                else [
                    query.where(table.category.in_(categories)).order_by(
                        table.subject_id, table.category, table.collected_at, table.id
                    )
                ]
            )
            # Core rows, not ORM ones: a record is never loaded as an object here.
            result = (
                row
                for each in queries
                for row in uow.records.connection().execute(
                    each.execution_options(yield_per=STREAM_CHUNK)
                )
            )
            types: dict[str, Any] = {}
            for row in result:
                aead = keys.get(row[4])
                if aead is None:
                    continue
                category_types = types.get(row[1])
                if category_types is None:
                    category_types = types[row[1]] = ctx.types(policy, row[1])
                plaintext = open_record(
                    aead,
                    row[6],
                    row[5],
                    (policy_id, subject_id, row[0], row[1], tier),
                    category_types,
                )
                yield tier, row, plaintext

    def decrypted(
        self,
        uow: UnitOfWork,
        policy: Policy,
        subject_id: str,
        categories: Collection[str],
        *,
        tiers: Collection[str] = (ACTIVE,),
        since: datetime | None = None,
        until: datetime | None = None,
        latest: bool = False,
    ) -> list[RecordRead]:
        """`rows` as Python values. No access check: callers check first."""
        types = self.ctx.types
        return [
            RecordRead(
                id=row.id,
                subject_id=subject_id,
                category=row.category,
                collected_at=row.collected_at,
                updated_at=row.updated_at,
                values=python_values(types(policy, row.category), plaintext),
                tier=tier,
            )
            for tier, row, plaintext in self.rows(
                uow,
                policy,
                subject_id,
                categories,
                tiers=tiers,
                since=since,
                until=until,
                latest=latest,
            )
        ]

    def read(
        self,
        uow: UnitOfWork,
        subject_id: str,
        categories: Collection[str],
        *,
        purpose: str,
        actor: Actor,
        since: datetime | None = None,
        until: datetime | None = None,
        tiers: Collection[str] = (ACTIVE,),
        request_id: str | None = None,
        demand_id: str | None = None,
    ) -> SubjectData:
        """Decrypt a subject's `categories` for `purpose`; a denial raises and is audited.

        `tiers` may add `"passive"`: only purposes that reach the passive tier get there.
        A request purpose cites the open request (`request_id`), a lawful request the
        recorded demand (`demand_id`); see `facts.py`.
        """
        categories = list(dict.fromkeys(categories))
        tiers = list(dict.fromkeys(tiers))
        subject, policy, clauses = self._check_read(
            uow,
            subject_id,
            categories,
            tiers,
            purpose,
            actor,
            request_id=request_id,
            demand_id=demand_id,
        )
        ctx = self.ctx
        records = self.decrypted(
            uow,
            policy,
            subject.id,
            categories,
            tiers=tiers,
            since=since,
            until=until,
            # TX-13: during an order the customer sees where the driver is, not where he was.
            latest=policy.purpose(purpose).requires_active_order,
        )
        ctx.audit.append(
            uow.records,
            ctx.event(
                AuditAction.READ,
                actor,
                subject=subject,
                purpose=purpose,
                categories=categories,
                clauses=clauses,
                count=len(records),
                reason="passive_tier" if PASSIVE in tiers else None,
            ),
        )
        return SubjectData(subject=subject_read(subject), purpose=purpose, records=records)

    def export(
        self,
        uow: UnitOfWork,
        subject_id: str,
        categories: Collection[str],
        *,
        purpose: str,
        actor: Actor,
        since: datetime | None = None,
        until: datetime | None = None,
        tiers: Collection[str] = (ACTIVE,),
        request_id: str | None = None,
        demand_id: str | None = None,
    ) -> Iterator[ExportedRecord]:
        """A subject's records for `purpose`, streamed: checked and audited now, rows as the
        iterator is consumed (inside this unit of work), values as JSON text. Facts are
        cited as for `read`."""
        categories = list(dict.fromkeys(categories))
        tiers = list(dict.fromkeys(tiers))
        subject, policy, clauses = self._check_read(
            uow,
            subject_id,
            categories,
            tiers,
            purpose,
            actor,
            request_id=request_id,
            demand_id=demand_id,
        )
        ctx = self.ctx
        if policy.purpose(purpose).requires_active_order:
            # TX-13: the current position is read, never streamed out as a history.
            with ctx.denials_audited(uow, actor, subject, purpose, categories):
                raise PurposeDenied(
                    f"purpose {purpose!r} shows the current position only: read it",
                    reason="current_position_only",
                    clauses=clauses,
                )
        count = 0
        for tier in tiers:
            table = _table(tier)
            query = select(func.count()).where(
                table.subject_id == subject.id, table.category.in_(categories)
            )
            if since is not None:
                query = query.where(table.collected_at >= ctx.now(since))
            if until is not None:
                query = query.where(table.collected_at < ctx.now(until))
            count += int(uow.records.scalar(query) or 0)
        # On record before a single value leaves.
        ctx.audit.append(
            uow.records,
            ctx.event(
                AuditAction.EXPORT,
                actor,
                subject=subject,
                purpose=purpose,
                categories=categories,
                clauses=clauses,
                count=count,
                reason="passive_tier" if PASSIVE in tiers else None,
            ),
        )
        rows = self.rows(uow, policy, subject.id, categories, tiers=tiers, since=since, until=until)
        return (
            ExportedRecord(row[0], row[1], tier, row[2], row[3], plaintext)
            for tier, row, plaintext in rows
        )

    def record_counts(self, uow: UnitOfWork, subject_id: str) -> dict[str, int]:
        """{category: records} of a subject in both tiers (no values)."""
        counts: Counter[str] = Counter()
        for table in (Record, PassiveRecord):
            rows = uow.records.execute(
                select(table.category, func.count())
                .where(table.subject_id == subject_id)
                .group_by(table.category)
            )
            for category, count in rows:
                counts[category] += int(count)
        return dict(sorted(counts.items()))

    def records_of(self, uow: UnitOfWork, subject_id: str, record_ids: Collection[str]) -> set[str]:
        """Which of `record_ids` are active records of this subject."""
        found: set[str] = set()
        for chunk in id_chunks(uow.records, set(record_ids)):
            found.update(
                uow.records.scalars(
                    select(Record.id).where(
                        one_of(uow.records, Record.id, chunk), Record.subject_id == subject_id
                    )
                )
            )
        return found

    def active_records(self, uow: UnitOfWork, subject_id: str, category: str) -> list[RecordRef]:
        """A subject's active records of one category, oldest first, without their values:
        which record a change by category name (`registration.phone`) means."""
        rows = uow.records.execute(
            select(Record.id, Record.collected_at, Record.updated_at)
            .where(Record.subject_id == subject_id, Record.category == category)
            .order_by(Record.collected_at, Record.id)
        )
        return [
            RecordRef(record_id, category, ACTIVE, utc(collected), updated and utc(updated))
            for record_id, collected, updated in rows
        ]

    # ------------------------------------------------------------------ rekeying

    def _reseal_scope(
        self,
        uow: UnitOfWork,
        subject: Subject,
        policy: Policy,
        category_id: str,
        *,
        replace: Mapping[str, bytes] | None = None,
        drop: Collection[str] = (),
        at: datetime,
        detected_by: str,
        actor: Actor,
    ) -> tuple[list[str], int]:
        """Seal the scope's active records under a fresh key, but `drop`, with `replace`d
        plaintexts; return the ids of the scope's old keys, now to be retired, and how many
        records were quarantined because they would not open.

        Whatever the old keys sealed (an old value, a dropped record, a quarantined one)
        becomes unreadable wherever a copy survives once they are shredded.
        """
        ctx = self.ctx
        replace = replace or {}
        scope = (subject.id, category_id, ACTIVE)
        old = ctx.keys.live(uow, [subject.id], [category_id], [ACTIVE])
        newest = ctx.keys.newest_created(uow, scope)
        # Strictly after the old key, so the new one is the scope's current key everywhere.
        made_at = max(at, newest + timedelta(microseconds=1)) if newest is not None else at
        new_key_id, new_aead = ctx.keys.create(uow, [scope], at=made_at)[scope]
        types = ctx.types(policy, category_id)
        changes = []
        suspects: list[Suspect] = []
        for row in uow.records.execute(
            select(
                Record.id,
                Record.key_id,
                Record.format,
                Record.payload,
                Record.updated_at,
                Record.collected_at,
            ).where(Record.subject_id == subject.id, Record.category == category_id)
        ):
            record_id, key_id, record_format, payload, updated_at, collected_at = row
            aead = old.get(key_id)
            if record_id in drop or aead is None:
                continue  # left under the old key: deleted when it is shredded
            place = (policy.id, subject.id, record_id, category_id, ACTIVE)
            plaintext = replace.get(record_id)
            if plaintext is None:
                plaintext = open_or_suspect(aead, payload, record_format, place, types)
            if plaintext is None:
                suspects.append(
                    Suspect(
                        record_id,
                        subject.id,
                        category_id,
                        collected_at,
                        key_id,
                        record_format,
                        payload,
                    )
                )
                continue
            changes.append(
                {
                    "id": record_id,
                    "key_id": new_key_id,
                    "format": FORMAT,
                    "payload": seal_record(new_aead, plaintext, place),
                    "updated_at": at if record_id in replace else updated_at,
                }
            )
        if changes:
            uow.records.execute(update(Record), changes)
        quarantined = self.quarantine.move(
            uow, policy.id, ACTIVE, suspects, detected_by=detected_by, actor=actor, at=at
        )
        return list(old), quarantined

    def rectify(
        self,
        uow: UnitOfWork,
        record_id: str,
        values: Mapping[str, Any],
        *,
        actor: Actor,
        purpose: str,
        request_id: str | None = None,
    ) -> None:
        """Change fields of an active record (TX-3.5): the scope is resealed under a fresh key
        and the old key shredded, so the old value is gone from backups too. The rectification
        request being answered is cited (`request_id`)."""
        ctx = self.ctx
        now = ctx.now()
        row = uow.records.get(Record, record_id)
        if row is None:
            raise RecordNotFound(f"no active record {record_id!r}")
        subject = ctx.subject(uow.records, row.subject_id, lock=True)
        policy = ctx.policy(subject.policy_id)
        category = policy.category(row.category)
        checked = ctx.authorize(
            uow,
            policy,
            subject,
            [category.id],
            purpose,
            actor,
            request_id=request_id,
            rectifying=True,
        )
        types = ctx.types(policy, category.id)
        keys = ctx.keys.live(uow, [subject.id], [category.id], [ACTIVE])
        aead = keys.get(row.key_id)
        if aead is None:
            raise RecordNotFound(f"record {record_id!r} can no longer be decrypted")
        place = (policy.id, subject.id, record_id, category.id, ACTIVE)
        before = python_values(types, open_record(aead, row.payload, row.format, place, types))
        after = normalise_record(category, {**before, **dict(values)}, policy_id=policy.id)
        self._move_phone_index(uow, policy, subject, category, before, after)
        old_keys, _ = self._reseal_scope(
            uow,
            subject,
            policy,
            category.id,
            replace={record_id: values_json(types, after)},
            at=now,
            detected_by="rectification",
            actor=actor,
        )
        self.shredder.retire(
            uow,
            subject,
            [category.id],
            old_keys,
            reason="rectification",
            actor=actor,
            clauses=checked.clauses,
            at=now,
        )
        ctx.audit.append(
            uow.records,
            ctx.event(
                AuditAction.UPDATE,
                actor,
                subject=subject,
                purpose=purpose,
                categories=[category.id],
                clauses=checked.clauses,
                reference=record_id,
                at=now,
            ),
        )

    def _move_phone_index(
        self,
        uow: UnitOfWork,
        policy: Policy,
        subject: Subject,
        category: Category,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
    ) -> None:
        """Rectifying the indexed phone moves the blind index; another subject's is refused."""
        if subject.phone_bucket is None or self.ctx.phone_category(policy, subject.kind) != (
            category.id
        ):
            return
        field = phone_field(policy, category.id)
        new_phone = after.get(field)
        if not new_phone or new_phone == before.get(field):
            return
        index = self.ctx.phone_index(new_phone)
        lock_index(uow, policy.id, index)
        if holders(self.ctx, uow, policy, new_phone, index=index, besides=subject.id):
            raise Conflict(
                f"another subject of {policy.id!r} is registered with this phone number",
                hint="a phone number identifies one subject; resolve the duplicate first",
            )
        subject.phone_bucket = index

    def destroy_records(
        self,
        uow: UnitOfWork,
        subject_id: str,
        category_id: str,
        record_ids: Collection[str],
        *,
        reason: str,
        actor: Actor,
        collected_before: datetime | None = None,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Collection[str] = (),
        at: datetime | None = None,
        on_quarantine: Callable[[int], None] | None = None,
    ) -> DestructionReport:
        """Destroy some active records of a scope, named or collected by `collected_before`:
        the rest is resealed under a fresh key and the old key shredded, so the destroyed
        ones are gone from backups too. A kept record that would not open is quarantined
        (and goes with the old key); `on_quarantine` hears how many."""
        ctx = self.ctx
        now = ctx.now(at)
        subject = ctx.subject(uow.records, subject_id, lock=True)
        policy = ctx.policy(subject.policy_id)
        ctx.category(policy, subject.kind, category_id)
        self.shredder.authorize(uow, [subject], actor, clauses)
        drop = self.records_of(uow, subject.id, record_ids)
        if collected_before is not None:
            drop.update(
                uow.records.scalars(
                    select(Record.id).where(
                        Record.subject_id == subject.id,
                        Record.category == category_id,
                        Record.collected_at <= collected_before,
                    )
                )
            )
        old_keys, quarantined = self._reseal_scope(
            uow,
            subject,
            policy,
            category_id,
            drop=drop,
            at=now,
            detected_by=rule_id or request_id or reason,
            actor=actor,
        )
        if quarantined and on_quarantine is not None:
            on_quarantine(quarantined)
        return self.shredder.retire(
            uow,
            subject,
            [category_id],
            old_keys,
            reason=reason,
            actor=actor,
            rule_id=rule_id,
            request_id=request_id,
            clauses=clauses,
            planned=len(drop),
            at=now,
        )

    # ------------------------------------------------------------------ format upgrade

    def records_pending_reseal(self, uow: UnitOfWork) -> int:
        """Records of either tier still in format 1 (one ciphertext per field)."""
        return sum(
            int(
                uow.records.scalar(
                    select(func.count()).select_from(table).where(table.format == FORMAT_V1)
                )
                or 0
            )
            for table in (Record, PassiveRecord)
        )

    def reseal(
        self, uow: UnitOfWork, *, batch_size: int, after: str | None = None
    ) -> tuple[int, str | None]:
        """Convert up to `batch_size` format-1 records to format 2 under the same keys.

        Pages by id (`after` is the cursor the previous batch returned, `tier:id`), so a
        record that cannot be converted (its key already shredded, its row about to go) is
        passed over, not read again; returns (converted, cursor), the cursor None when done.
        """
        ctx = self.ctx
        start_tier, _, last = (after or f"{ACTIVE}:").partition(":")
        if start_tier not in TIERS:
            raise InvalidValue(f"cursor {after!r} is not one `reseal` returned")
        for tier in TIERS[TIERS.index(start_tier) :]:
            table = _table(tier)
            query = (
                select(
                    table.id,
                    table.subject_id,
                    table.category,
                    table.key_id,
                    table.payload,
                    Subject.policy_id,
                )
                .join(Subject, Subject.id == table.subject_id)
                .where(table.format == FORMAT_V1)
                .order_by(table.id)
                .limit(batch_size)
            )
            if last:
                query = query.where(table.id > last)
            if is_postgres(uow.records):
                query = query.with_for_update(of=table, skip_locked=True)
            rows: list[Row[Any]] = list(uow.records.execute(query))
            last = ""
            if not rows:
                continue
            keys = ctx.keys.live(uow, {r.subject_id for r in rows}, tiers=[tier])
            changes = []
            for row in rows:
                aead = keys.get(row.key_id)
                if aead is None:
                    continue  # its key is shredded: the row goes with the pending destruction
                policy = ctx.policy(row.policy_id)
                place = (policy.id, row.subject_id, row.id, row.category, tier)
                types = ctx.types(policy, row.category)
                plaintext = open_record(aead, row.payload, FORMAT_V1, place, types)
                changes.append(
                    {"id": row.id, "format": FORMAT, "payload": seal_record(aead, plaintext, place)}
                )
            if changes:
                uow.records.execute(update(table), changes)
            return len(changes), f"{tier}:{rows[-1].id}"
        return 0, None
