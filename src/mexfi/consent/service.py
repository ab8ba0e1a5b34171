"""Recording choices in the ledger, reading the current state, the push-notification check.

`record_choices` checks every choice against the policy, appends one audit entry for the
call (see `mexfi.consent.chain` for how it anchors the ledger), then the ledger entries
under the ledger head's lock, and updates the current-state table in the same flush. The
caller commits. Reads of the current state go to `consent_state`; `rebuild_state` makes it
again from the ledger, `verify_ledger` walks the chain and the audit anchors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, delete, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mexfi.audit import AuditAction, AuditEntry, AuditEvent, AuditLog
from mexfi.clock import utc
from mexfi.consent.chain import (
    ANCHOR_PREFIX,
    anchor_reference,
    call_digest,
    entry_hash,
    parse_anchor,
)
from mexfi.consent.chain import content as entry_content
from mexfi.consent.errors import (
    ConsentLedgerBroken,
    ConsentNotAnchored,
    HolderNotPseudonymous,
    UnknownNotice,
)
from mexfi.consent.models import (
    GENESIS_HASH,
    ConsentHead,
    ConsentLedgerEntry,
    ConsentRefusal,
    ConsentStateRow,
)
from mexfi.consent.schemas import (
    Choice,
    ChoiceInput,
    ConsentEntry,
    ConsentState,
    HolderKind,
    LedgerProblem,
    LedgerProblemKind,
    LedgerVerification,
    Method,
    NoticeKind,
    RefusalCount,
    Source,
)
from mexfi.db import UnitOfWork, insert_rows, new_id
from mexfi.errors import Invalid
from mexfi.policy import LANGS, Policy

__all__ = [
    "GEOLOCATION_NOTICE",
    "NOTIFICATION_NOT_ALLOWED",
    "PushSender",
    "can_notify",
    "count_refusal",
    "current_choices",
    "current_state",
    "is_allowed",
    "ledger_entries",
    "notification_preferences",
    "rebuild_state",
    "record_acceptances",
    "record_choices",
    "refusal_counts",
    "send_notification",
    "verify_ledger",
]

#: The one notice of kind GEOLOCATION: collecting the driver's location (TX-12).
GEOLOCATION_NOTICE = "collection"
#: The refusal reason of a push of a type the subject does not allow (BK-6.1).
NOTIFICATION_NOT_ALLOWED = "notification_not_allowed"

_ENTRIES = cast(Table, ConsentLedgerEntry.__table__)
_HEAD = cast(Table, ConsentHead.__table__)
_STATE = cast(Table, ConsentStateRow.__table__)
_REFUSALS = cast(Table, ConsentRefusal.__table__)

_SUBJECT_HOLDER_RE = re.compile(r"ps_[0-9a-f]{24}")
#: `Vault.value_pseudonym(kind, value)`: the entity type, `_`, hex digits.
_DEVICE_HOLDER_RE = re.compile(r"[A-Z][A-Z0-9_]{0,30}_[0-9a-f]{8,64}")
_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,79}")
_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
#: Entries a SQLite `IN (…)` list takes at once (its variable limit is 32,766 since 3.32).
_CHUNK = 500

_COLUMNS = (
    "seq",
    "id",
    "policy_id",
    "policy_version",
    "holder",
    "holder_kind",
    "kind",
    "notice",
    "choice",
    "method",
    "source",
    "language",
    "served_notice_id",
    "actor_id",
    "recorded_at",
    "prev_hash",
    "hash",
)
_STATE_COLUMNS = ("policy_id", "holder", "kind", "notice", "choice", "entry_id", "recorded_at")

#: The role the audit entry names when the caller names none, by where the choice came from.
_ROLE_BY_SOURCE = {
    Source.BANNER: "subject",
    Source.PORTAL: "subject",
    Source.APP: "subject",
    Source.API: "service",
    Source.CONSOLE: "dpo",
}


# ------------------------------------------------------------------ checks


def _check_holder(holder: object, holder_kind: HolderKind) -> str:
    pattern = _SUBJECT_HOLDER_RE if holder_kind is HolderKind.SUBJECT else _DEVICE_HOLDER_RE
    if not isinstance(holder, str) or pattern.fullmatch(holder) is None:
        shape = "ps_ and 24 hex digits" if holder_kind is HolderKind.SUBJECT else "DEVICE_…"
        raise HolderNotPseudonymous(
            f"a {holder_kind.value} holder must be the vault's pseudonym ({shape})",
            hint="pass vault.pseudonym(subject_id) or vault.value_pseudonym('DEVICE', id), "
            "never the identity itself",
        )
    return holder


def _aware(at: object, name: str = "at") -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise Invalid(f"{name!r} must be a timezone-aware datetime")
    return utc(at)


def _notice_element(policy: Policy, kind: NoticeKind, notice: str) -> Any:
    """The policy element a notice names (None for a policy version); `UnknownNotice` else."""
    if kind is NoticeKind.POLICY:
        if _VERSION_RE.fullmatch(notice) is None:
            raise UnknownNotice("a policy notice is a policy version string")
        return None
    elements: list[Any]
    if kind is NoticeKind.COOKIE:
        elements = list(policy.cookies)
    elif kind is NoticeKind.NOTIFICATION:
        elements = list(policy.notifications)
    elif kind is NoticeKind.PURPOSE:
        elements = list(policy.purposes)
    else:
        if policy.geolocation is None or notice != GEOLOCATION_NOTICE:
            raise UnknownNotice(
                f"policy {policy.id!r} declares no geolocation notice {notice!r}"
                if _CODE_RE.fullmatch(notice)
                else f"policy {policy.id!r} declares no such geolocation notice",
                hint=f"the geolocation notice is {GEOLOCATION_NOTICE!r}, in policies with "
                "`geolocation`",
            )
        return policy.geolocation
    for element in elements:
        if element.id == notice:
            return element
    named = f" {notice!r}" if _CODE_RE.fullmatch(notice) else ""
    raise UnknownNotice(
        f"policy {policy.id!r} declares no {kind.value} notice{named}",
        hint=f"declared: {', '.join(e.id for e in elements) or 'none'}",
    )


def _default(policy: Policy, kind: NoticeKind, element: Any) -> bool:
    """What holds for a notice nobody has chosen on."""
    if kind is NoticeKind.COOKIE:
        return not element.consent_required
    if kind is NoticeKind.NOTIFICATION:
        return bool(element.default_on)
    if kind is NoticeKind.PURPOSE:
        return bool(element.legal_basis != "consent")
    # Geolocation: TX-2, installing the app is consent; the switch turns it off (TX-12).
    # A policy version is accepted only by an acknowledgement.
    return kind is NoticeKind.GEOLOCATION


def _check_choice(kind: NoticeKind, choice: Choice) -> None:
    if (kind is NoticeKind.POLICY) != (choice is Choice.ACKNOWLEDGE):
        raise Invalid(
            f"a {kind.value} notice takes "
            + ("'acknowledge'" if kind is NoticeKind.POLICY else "'opt_in' or 'opt_out'")
            + f", not {choice.value!r}"
        )


def _clauses(policy: Policy, kind: NoticeKind, element: Any) -> list[str]:
    if kind is NoticeKind.POLICY:
        return list(policy.consent.clauses)
    return list(element.clauses) if element is not None else []


def _audit_of(uow: UnitOfWork, audit: AuditLog | None) -> AuditLog:
    log = audit or AuditLog.of(uow)
    if log is None:
        raise ConsentNotAnchored(
            "no audit log to anchor the consent entries in",
            hint="open the unit of work with vault.unit_of_work(), or pass audit=vault.audit",
        )
    return log


# ------------------------------------------------------------------ the head


def _lock_head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the last entry, locked until the transaction ends."""
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock before reading (see mexfi.audit: the head cannot move).
        session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq))
    query = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
    row = session.execute(query).one_or_none()
    if row is None:
        if session.execute(select(_ENTRIES.c.seq).limit(1)).first() is not None:
            raise ConsentLedgerBroken(
                "the consent ledger's head row is missing while entries exist",
                hint="run `mexfi consent verify`; appending now could fork the chain",
            )
        values = {"id": 1, "seq": 0, "hash": GENESIS_HASH}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(pg_insert(_HEAD).values(values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            session.execute(sqlite_insert(_HEAD).values(values).on_conflict_do_nothing())
        else:  # pragma: no cover - mexfi runs on SQLite and PostgreSQL
            session.execute(insert(_HEAD).values(values))
        row = session.execute(query).one()
    return int(row.seq), str(row.hash)


# ------------------------------------------------------------------ recording


def _append(
    uow: UnitOfWork,
    *,
    content: list[dict[str, Any]],
    audit: AuditLog,
    event: Callable[[str], AuditEvent],
    new_holders: bool = False,
) -> list[dict[str, Any]]:
    """Anchor the entries in the audit log (`event(reference)` is the anchoring entry), then
    chain and insert them, then the state."""
    session = uow.records
    texts = [entry_content(values) for values in content]
    # The audit entry first: its head is locked before the ledger's, by every writer.
    audit.append(
        session, event(anchor_reference(content[0]["id"], len(content), call_digest(texts)))
    )
    seq, prev = _lock_head(session)
    first = seq + 1
    rows: list[dict[str, Any]] = []
    for values, text in zip(content, texts, strict=True):
        seq += 1
        row = {**values, "seq": seq, "prev_hash": prev}
        prev = row["hash"] = entry_hash(row, text)
        rows.append(row)
    try:
        _insert(session, _ENTRIES, _COLUMNS, [[r[c] for c in _COLUMNS] for r in rows])
    except IntegrityError as exc:
        raise ConsentLedgerBroken(
            f"consent entry {first} already exists although the head records entry "
            f"{first - 1} as the last",
            hint="entries were added without the consent service: run `mexfi consent verify`",
        ) from exc
    session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=prev))
    _put_state(session, rows, new_holders=new_holders)
    return rows


def _insert(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows (value tuples in `columns` order) with the least work a row: COPY on
    PostgreSQL (`insert_rows`), else the driver's executemany on values bound by the
    columns' own SQLAlchemy processors (what an ORM insert would store, without its
    per-row bookkeeping: registration writes one entry per new subject)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        insert_rows(session, table, columns, rows)
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    processors = [
        (index, process)
        for index, name in enumerate(columns)
        if (process := table.c[name].type._cached_bind_processor(dialect)) is not None
    ]
    converted: list[tuple[Any, ...]] = []
    cache: dict[tuple[int, Any], Any] = {}
    for values in rows:
        row = list(values)
        for index, process in processors:
            value = row[index]
            if value is not None:
                key = (index, value)
                bound = cache.get(key)
                if bound is None:  # a call's entries share their time: bind it once
                    bound = cache[key] = process(value)
                row[index] = bound
        converted.append(tuple(row))
    names = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES ({marks})",
        converted,
    )


def _insert_state(session: Session, latest: Iterable[Mapping[str, Any]]) -> None:
    """The current-state rows of the newest entries, one per (policy, holder, notice)."""
    _insert(
        session,
        _STATE,
        _STATE_COLUMNS,
        [
            (r["policy_id"], r["holder"], r["kind"], r["notice"], r["choice"], r["id"],
             r["recorded_at"])
            for r in latest
        ],
    )  # fmt: skip


def _put_state(
    session: Session, rows: Sequence[dict[str, Any]], *, new_holders: bool = False
) -> None:
    """Make each row the current choice on its notice (the last row wins within a call);
    `new_holders`: none of them has any state yet (just registered), nothing to replace."""
    latest: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        latest[(row["policy_id"], row["holder"], row["kind"], row["notice"])] = row
    keys = list(latest)
    columns = (_STATE.c.policy_id, _STATE.c.holder, _STATE.c.kind, _STATE.c.notice)
    for start in range(0, 0 if new_holders else len(keys), _CHUNK):
        # Serialized by the ledger head's lock: nobody else changes these rows meanwhile.
        session.execute(delete(_STATE).where(tuple_(*columns).in_(keys[start : start + _CHUNK])))
    _insert_state(session, latest.values())


def _read(row: dict[str, Any]) -> ConsentEntry:
    return ConsentEntry.model_validate(row)


def record_choices(
    uow: UnitOfWork,
    *,
    policy: Policy,
    holder: str,
    holder_kind: HolderKind,
    choices: Sequence[ChoiceInput],
    method: Method,
    source: Source,
    language: str,
    actor_id: str,
    at: datetime,
    served_notice_id: str | None = None,
    actor_role: str | None = None,
    audit: AuditLog | None = None,
) -> list[ConsentEntry]:
    """Append one ledger entry per choice (a withdrawal is an opt-out entry), anchored by one
    audit entry, and make them the holder's current choices; flushed, not committed.

    `actor_role` names the actor's role in the audit entry (default: by `source`); `audit`
    is the log to anchor in (default: the one bound to `uow`, as `Vault.unit_of_work` does).
    """
    holder_kind = HolderKind(holder_kind)
    method, source = Method(method), Source(source)
    _check_holder(holder, holder_kind)
    at = _aware(at)
    if language not in LANGS:
        raise Invalid(f"language must be one of {', '.join(LANGS)}")
    if served_notice_id is not None and _ID_RE.fullmatch(served_notice_id) is None:
        raise Invalid("served_notice_id must be an id (letters, digits, _ . : -; at most 64)")
    if not actor_id or len(actor_id) > 255:
        raise Invalid("actor_id must be a non-empty id of at most 255 characters")
    if not choices:
        return []
    log = _audit_of(uow, audit)
    clauses: list[str] = []
    content: list[dict[str, Any]] = []
    for item in choices:
        kind, choice = NoticeKind(item.kind), Choice(item.choice)
        element = _notice_element(policy, kind, item.notice)
        _check_choice(kind, choice)
        clauses.extend(_clauses(policy, kind, element))
        content.append(
            {
                "id": new_id(),
                "policy_id": policy.id,
                "policy_version": policy.policy.version,
                "holder": holder,
                "holder_kind": holder_kind.value,
                "kind": kind.value,
                "notice": item.notice,
                "choice": choice.value,
                "method": method.value,
                "source": source.value,
                "language": language,
                "served_notice_id": served_notice_id,
                "actor_id": actor_id,
                "recorded_at": at,
            }
        )
    withdrawal = all(c["choice"] == Choice.OPT_OUT.value for c in content)

    def event(reference: str) -> AuditEvent:
        return AuditEvent(
            action=AuditAction.WITHDRAW if withdrawal else AuditAction.CONSENT,
            at=at,
            actor_id=actor_id,
            actor_role=actor_role or _ROLE_BY_SOURCE[source],
            policy_id=policy.id,
            subject=holder if holder_kind is HolderKind.SUBJECT else None,
            clauses=tuple(sorted(set(clauses))),
            count=len(content),
            reason=method.value,
            reference=reference,
        )

    rows = _append(uow, content=content, audit=log, event=event)
    return [_read(row) for row in rows]


def record_acceptances(
    uow: UnitOfWork,
    *,
    policy: Policy,
    holders: Sequence[str],
    method: Method,
    source: Source,
    actor_id: str,
    actor_role: str,
    at: datetime,
    language: str | None = None,
    audit: AuditLog | None = None,
    new_holders: bool = False,
    audit_event: Callable[[str], AuditEvent] | None = None,
) -> int:
    """Record that each subject (a pseudonym) accepted the policy's current version: one
    `(policy, version) acknowledge` entry each, one audit entry for all; returns how many.

    The batch form registration uses (TX-2, BK-1.2): one INSERT (COPY on PostgreSQL) for the
    entries and one for their state, whatever the number of subjects. `new_holders` says
    the subjects were registered in this unit of work, so no earlier state is looked for.
    `audit_event(reference)` makes the anchoring audit entry instead of a `consent` one:
    registration's own `register` entry carries the anchor, so it stays one entry.
    """
    if not holders:
        return 0
    method, source = Method(method), Source(source)
    at = _aware(at)
    language = language or policy.policy.language
    for holder in holders:
        _check_holder(holder, HolderKind.SUBJECT)
    log = _audit_of(uow, audit)
    version = policy.policy.version
    shared = {
        "policy_id": policy.id,
        "policy_version": version,
        "holder_kind": HolderKind.SUBJECT.value,
        "kind": NoticeKind.POLICY.value,
        "notice": version,
        "choice": Choice.ACKNOWLEDGE.value,
        "method": method.value,
        "source": source.value,
        "language": language,
        "served_notice_id": None,
        "actor_id": actor_id,
        "recorded_at": at,
    }
    content = [{"id": new_id(), "holder": holder, **shared} for holder in holders]

    def event(reference: str) -> AuditEvent:
        return AuditEvent(
            action=AuditAction.CONSENT,
            at=at,
            actor_id=actor_id,
            actor_role=actor_role,
            policy_id=policy.id,
            subject=holders[0] if len(holders) == 1 else None,
            clauses=tuple(policy.consent.clauses),
            count=len(content),
            reason=method.value,
            reference=reference,
        )

    _append(uow, content=content, audit=log, event=audit_event or event, new_holders=new_holders)
    return len(content)


# ------------------------------------------------------------------ reading


def current_state(uow: UnitOfWork, *, policy_id: str, holder: str) -> list[ConsentState]:
    """The holder's explicit current choices with the entries that made them, by notice."""
    rows = uow.records.execute(
        select(_STATE)
        .where(_STATE.c.policy_id == policy_id, _STATE.c.holder == holder)
        .order_by(_STATE.c.kind, _STATE.c.notice)
    )
    return [ConsentState.model_validate(dict(row._mapping)) for row in rows]


def current_choices(
    uow: UnitOfWork, *, policy_id: str, holder: str
) -> dict[tuple[NoticeKind, str], Choice]:
    """The holder's explicit current choices, {(kind, notice): choice}; defaults not included."""
    return {
        (state.kind, state.notice): state.choice
        for state in current_state(uow, policy_id=policy_id, holder=holder)
    }


def is_allowed(
    uow: UnitOfWork, *, policy: Policy, holder: str, kind: NoticeKind, notice: str
) -> bool:
    """Whether the holder allows the notice: the explicit choice, else the policy's default.

    For a policy notice: whether that version was acknowledged.
    """
    kind = NoticeKind(kind)
    element = _notice_element(policy, kind, notice)
    choice = uow.records.scalar(
        select(_STATE.c.choice).where(
            _STATE.c.policy_id == policy.id,
            _STATE.c.holder == holder,
            _STATE.c.kind == kind.value,
            _STATE.c.notice == notice,
        )
    )
    if choice is None:
        return _default(policy, kind, element)
    return choice in (Choice.OPT_IN.value, Choice.ACKNOWLEDGE.value)


def ledger_entries(
    uow: UnitOfWork,
    *,
    policy_id: str | None = None,
    holder: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[ConsentEntry]:
    """Ledger entries oldest first (`after`: those with a greater `seq`; `limit`: at most that
    many), of one policy and holder if given."""
    query = select(_ENTRIES).order_by(_ENTRIES.c.seq)
    if policy_id is not None:
        query = query.where(_ENTRIES.c.policy_id == policy_id)
    if holder is not None:
        query = query.where(_ENTRIES.c.holder == holder)
    if after is not None:
        query = query.where(_ENTRIES.c.seq > after)
    if limit is not None:
        if limit < 1:
            raise Invalid("limit must be at least 1")
        query = query.limit(limit)
    return [_read(dict(row._mapping)) for row in uow.records.execute(query)]


# ------------------------------------------------------------------ push notifications (BK-6.1)


class PushSender(Protocol):
    """What sends a push: the operator's gateway. Gets a pseudonym and a type, never a value."""

    def __call__(self, *, holder: str, notification: str) -> None: ...


def notification_preferences(uow: UnitOfWork, *, policy: Policy, holder: str) -> dict[str, bool]:
    """{notification type: allowed} for every type the policy declares (BK-6.1)."""
    explicit = current_choices(uow, policy_id=policy.id, holder=holder)
    return {
        n.id: (
            explicit[(NoticeKind.NOTIFICATION, n.id)] is Choice.OPT_IN
            if (NoticeKind.NOTIFICATION, n.id) in explicit
            else n.default_on
        )
        for n in policy.notifications
    }


def can_notify(uow: UnitOfWork, *, policy: Policy, holder: str, notification: str) -> bool:
    """The one check every sender makes: may this subject get a push of this type? An
    unknown type is `UnknownNotice` (Invalid) naming it; personalized is off until opt-in."""
    return is_allowed(
        uow, policy=policy, holder=holder, kind=NoticeKind.NOTIFICATION, notice=notification
    )


def send_notification(
    uow: UnitOfWork,
    *,
    policy: Policy,
    holder: str,
    notification: str,
    at: datetime,
    sender: PushSender | Callable[..., None] | None = None,
) -> bool:
    """Send a push through `sender` if the subject allows its type; otherwise send nothing,
    count the refusal (`notification_not_allowed`) and return False."""
    if not can_notify(uow, policy=policy, holder=holder, notification=notification):
        count_refusal(
            uow,
            policy_id=policy.id,
            kind=NoticeKind.NOTIFICATION,
            notice=notification,
            reason=NOTIFICATION_NOT_ALLOWED,
            at=at,
        )
        return False
    if sender is not None:
        sender(holder=holder, notification=notification)
    return True


# ------------------------------------------------------------------ refusal counts


def count_refusal(
    uow: UnitOfWork,
    *,
    policy_id: str,
    kind: NoticeKind,
    notice: str,
    reason: str,
    at: datetime,
) -> None:
    """Count one refusal on the day of `at` (UTC): per policy, notice and reason, never who."""
    kind = NoticeKind(kind)
    for name, value in (("reason", reason), ("notice", notice)):
        if _ID_RE.fullmatch(value) is None:
            raise Invalid(f"a refusal's {name} is a code (letters, digits, _ . : -)")
    day = _aware(at).date()
    values = {
        "policy_id": policy_id,
        "kind": kind.value,
        "notice": notice,
        "reason": reason,
        "day": day,
        "count": 1,
    }
    session = uow.records
    keys = ["policy_id", "kind", "notice", "reason", "day"]
    if session.get_bind().dialect.name == "postgresql":
        pg = pg_insert(_REFUSALS).values(values)
        session.execute(
            pg.on_conflict_do_update(index_elements=keys, set_={"count": _REFUSALS.c.count + 1})
        )
    else:
        lite = sqlite_insert(_REFUSALS).values(values)
        session.execute(
            lite.on_conflict_do_update(index_elements=keys, set_={"count": _REFUSALS.c.count + 1})
        )


def refusal_counts(uow: UnitOfWork, *, policy_id: str | None = None) -> list[RefusalCount]:
    """The refusal counters, oldest day first."""
    query = select(_REFUSALS).order_by(
        _REFUSALS.c.day,
        _REFUSALS.c.policy_id,
        _REFUSALS.c.kind,
        _REFUSALS.c.notice,
        _REFUSALS.c.reason,
    )
    if policy_id is not None:
        query = query.where(_REFUSALS.c.policy_id == policy_id)
    return [RefusalCount.model_validate(dict(row._mapping)) for row in uow.records.execute(query)]


# ------------------------------------------------------------------ rebuilding, verifying


def rebuild_state(uow: UnitOfWork) -> int:
    """Make the current-state table again from the ledger; returns how many rows it holds."""
    session = uow.records
    _lock_head(session)  # no choice is recorded meanwhile
    latest: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    query = select(
        _ENTRIES.c.policy_id,
        _ENTRIES.c.holder,
        _ENTRIES.c.kind,
        _ENTRIES.c.notice,
        _ENTRIES.c.choice,
        _ENTRIES.c.id,
        _ENTRIES.c.recorded_at,
    ).order_by(_ENTRIES.c.seq)
    for row in session.execute(query.execution_options(yield_per=5000)):
        latest[(row.policy_id, row.holder, row.kind, row.notice)] = {
            "policy_id": row.policy_id,
            "holder": row.holder,
            "kind": row.kind,
            "notice": row.notice,
            "choice": row.choice,
            "id": row.id,
            "recorded_at": row.recorded_at,
        }
    session.execute(delete(_STATE))
    _insert_state(session, latest.values())
    return len(latest)


def _anchors(session: Session) -> dict[str, tuple[int, str, int]]:
    """{first entry id: (entries, digest, audit seq)} of the audit entries anchoring calls."""
    found: dict[str, tuple[int, str, int]] = {}
    query = (
        select(AuditEntry.seq, AuditEntry.reference)
        .where(AuditEntry.reference.like(f"{ANCHOR_PREFIX}%"))
        .order_by(AuditEntry.seq)
    )
    for seq, reference in session.execute(query):
        parsed = parse_anchor(reference)
        if parsed is not None:
            first_id, count, digest = parsed
            found[first_id] = (count, digest, int(seq))
    return found


def verify_ledger(uow: UnitOfWork) -> LedgerVerification:
    """Walk the ledger in `seq` order: hashes, links, gaps, the head, and the audit entries
    that anchor each call; report every problem and the first broken entry."""
    session = uow.records
    problems: list[LedgerProblem] = []

    def problem(seq: int | None, kind: LedgerProblemKind, message: str) -> None:
        problems.append(LedgerProblem(seq=seq, kind=kind, message=message))

    anchors = _anchors(session)
    compared = 0
    expected_seq, prev_hash = 1, GENESIS_HASH
    checked = 0
    # The call being compared with its anchor: (first seq, count, digest, audit seq, entries).
    call: tuple[int, int, str, int, list[str]] | None = None

    def close_call() -> None:
        nonlocal call, compared
        if call is None:
            return
        first, count, digest, audit_seq, entries = call
        call = None
        compared += 1
        if len(entries) != count or call_digest(entries) != digest:
            problem(
                first,
                LedgerProblemKind.ANCHOR_MISMATCH,
                f"the entries from {first} are not those audit entry {audit_seq} vouches for",
            )

    query = select(_ENTRIES).order_by(_ENTRIES.c.seq).execution_options(yield_per=5000)
    for row in session.execute(query):
        values = dict(row._mapping)
        seq = int(values["seq"])
        checked += 1
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            problem(expected_seq, LedgerProblemKind.DELETED, f"entries {missing} are missing")
        text = entry_content(values)
        if entry_hash(values, text) != values["hash"]:
            problem(seq, LedgerProblemKind.EDITED, f"entry {seq} no longer matches its hash")
        if values["prev_hash"] != prev_hash:
            problem(
                seq,
                LedgerProblemKind.RELINKED,
                f"entry {seq} does not link to the entry before it",
            )
        anchor = anchors.pop(values["id"], None)
        if anchor is not None:
            close_call()
            call = (seq, anchor[0], anchor[1], anchor[2], [])
        if call is not None and len(call[4]) < call[1]:
            call[4].append(text)
            if len(call[4]) == call[1]:
                close_call()
        else:
            if call is not None:
                close_call()
            problem(seq, LedgerProblemKind.UNANCHORED, f"no audit entry vouches for entry {seq}")
        expected_seq, prev_hash = seq + 1, str(values["hash"])
    close_call()
    for count, _digest, audit_seq in anchors.values():
        problem(
            None,
            LedgerProblemKind.DELETED,
            f"audit entry {audit_seq} vouches for {count} consent entries the ledger lacks",
        )
    head = session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).first()
    last_seq = expected_seq - 1
    head_seq: int | None = None
    if head is None:
        if checked:
            problem(None, LedgerProblemKind.HEAD_MISMATCH, "the ledger's head row is missing")
    else:
        head_seq = int(head.seq)
        if head_seq > last_seq:
            problem(
                last_seq + 1,
                LedgerProblemKind.TRUNCATED,
                f"the head names entry {head_seq} but the ledger ends at {last_seq}",
            )
        elif head_seq != last_seq or head.hash != prev_hash:
            problem(
                head_seq or None,
                LedgerProblemKind.HEAD_MISMATCH,
                f"the head names entry {head_seq}, not the last entry {last_seq}",
            )
    # The first entry broken in the chain itself; an anchor mismatch names its call's first
    # entry, so it counts only when the chain holds (a ledger rewritten with its hashes).
    seqs = [
        p.seq
        for p in problems
        if p.seq is not None and p.kind is not LedgerProblemKind.ANCHOR_MISMATCH
    ] or [p.seq for p in problems if p.seq is not None]
    return LedgerVerification(
        ok=not problems,
        checked=checked,
        head_seq=head_seq,
        first_broken_seq=min(seqs) if seqs else None,
        anchors=compared,
        problems=problems,
    )
