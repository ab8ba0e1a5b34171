"""The audit log: append hash-chained entries, sign a checkpoint at every commit, read entries.

`AuditLog.append` / `append_many` write inside the caller's records transaction: one
INSERT of the entries (one more of a batch entry's subjects into the subject index), one
UPDATE of the head row, whose lock serializes appenders so the chain never forks. The
canonical forms hashed and signed are described in `mexfi.audit.chain`.

The unit of work is the caller's: service functions append and flush, the caller
commits once. The log joins in through SQLAlchemy session events, with its state in
`session.info`:

- `before_commit` of a session in which this log appended: sign a checkpoint over the
  head, stamped with the log's clock, unless the head is already signed. It is written
  in the same transaction, so entries and their checkpoint commit or vanish together.
  A session joined to an outer transaction through a savepoint
  (`join_transaction_mode="create_savepoint"`) gets it at `session.commit()` too.
- within one big unit of work, a checkpoint every `checkpoint_every` entries as well,
  so no stretch of the chain waits unsigned for a long transaction to end.
- `after_commit`: append that checkpoint to the anchor file, if the log has one (see
  `mexfi.audit.anchor`). A harness that rolls back an outer transaction after the
  session "committed" must pass `anchor=None`: the file would vouch for a head that
  never persisted.

Callers do nothing more than commit. Savepoints released inside a unit of work
(`begin_nested`) sign nothing; the outermost commit does.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import (
    Select,
    Table,
    event,
    insert,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from mexfi.audit.anchor import AuditAnchor
from mexfi.audit.chain import Checkpoint, compact, entry_hash, key_fingerprint
from mexfi.audit.errors import AuditLogBroken, AuditValueRefused
from mexfi.audit.models import (
    GENESIS_HASH,
    AuditCheckpoint,
    AuditEntry,
    AuditEntrySubject,
    AuditHead,
)
from mexfi.audit.schemas import (
    AuditAction,
    AuditCheckpointRead,
    AuditEntryRead,
    AuditEvent,
)
from mexfi.clock import Clock, SystemClock, utc
from mexfi.db import UnitOfWork, insert_rows
from mexfi.errors import Invalid

__all__ = ["AuditLog", "latest_checkpoint", "read_entries"]

_ENTRIES = cast(Table, AuditEntry.__table__)
_SUBJECTS = cast(Table, AuditEntrySubject.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)

#: The key of the log's per-session state in `session.info`.
_STATE = "mexfi.audit"
#: The key of the log bound to a unit of work in `uow.info` (`AuditLog.bind`).
_UOW_LOG = "mexfi.audit.log"


class _Head(NamedTuple):
    seq: int
    hash: str
    checkpoint_ordinal: int
    checkpoint_seq: int
    checkpoint_digest: str


def _aware(at: object, name: str) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise Invalid(f"{name!r} must be a timezone-aware datetime")
    return utc(at)


_HEAD_COLUMNS = (
    _HEAD.c.seq,
    _HEAD.c.hash,
    _HEAD.c.checkpoint_ordinal,
    _HEAD.c.checkpoint_seq,
    _HEAD.c.checkpoint_digest,
)


def _digest(checkpoint: Checkpoint) -> str:
    digest = checkpoint.digest()
    if digest is None:  # pragma: no cover - a checkpoint just signed is always readable
        raise AssertionError("unreadable checkpoint")
    return digest


def _lock_head(session: Session, *, held: bool = False) -> _Head:
    """The head, locked until the transaction ends (`held`: this transaction holds it)."""
    if not held and session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock before reading: a concurrent appender then waits
        # (busy_timeout) instead of reading a head that is about to move.
        session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq))
    query = select(*_HEAD_COLUMNS).where(_HEAD.c.id == 1).with_for_update()
    row = session.execute(query).one_or_none()
    if row is None:
        # Tables made without the create_all hook that seeds the head: seed it, but only
        # on an empty log; a missing head beside entries is tampering, not a fresh start.
        if session.execute(select(_ENTRIES.c.seq).limit(1)).first() is not None:
            raise AuditLogBroken(
                "the audit log's head row is missing while entries exist",
                hint="run `mexfi audit verify`; appending now could fork the chain",
            )
        dialect = session.get_bind().dialect.name
        values = {"id": 1, "seq": 0, "hash": GENESIS_HASH}
        if dialect == "postgresql":
            session.execute(pg_insert(_HEAD).values(values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            session.execute(sqlite_insert(_HEAD).values(values).on_conflict_do_nothing())
        else:
            session.execute(insert(_HEAD).values(values))
        row = session.execute(query).one()
    return _Head(
        int(row.seq),
        str(row.hash),
        int(row.checkpoint_ordinal),
        int(row.checkpoint_seq),
        str(row.checkpoint_digest),
    )


@dataclass
class _SessionState:
    """What the audit logs did in one session's current transaction."""

    #: Logs that appended since the last commit: they sign at the next one.
    pending: dict[int, AuditLog] = field(default_factory=dict)
    #: The last checkpoint signed in this transaction, and by which log.
    signed: tuple[AuditLog, Checkpoint] | None = None
    #: The checkpoint to anchor once the commit has happened.
    anchor_due: tuple[AuditLog, Checkpoint] | None = None


def _state(session: Session) -> _SessionState:
    state = session.info.get(_STATE)
    if state is None:
        state = session.info[_STATE] = _SessionState()
        event.listen(session, "before_commit", _before_commit)
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_transaction_end", _after_transaction_end)
    return cast(_SessionState, state)


def _before_commit(session: Session) -> None:
    state: _SessionState | None = session.info.get(_STATE)
    # A released savepoint is not the end of the unit of work: sign at the outermost commit.
    if state is None or not state.pending or session.in_nested_transaction():
        return
    logs = list(state.pending.values())
    state.pending.clear()
    for log in logs:
        log._seal(session, state)
    state.anchor_due = state.signed


def _after_commit(session: Session) -> None:
    state: _SessionState | None = session.info.get(_STATE)
    if state is None or state.anchor_due is None:
        return
    log, checkpoint = state.anchor_due
    state.anchor_due = None
    if log.anchor is not None:
        log.anchor.append(checkpoint)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: what it did stays pending in the outer transaction
    state: _SessionState | None = session.info.get(_STATE)
    if state is not None:
        # Committed (and anchored) or rolled back: either way nothing is left to sign.
        state.pending.clear()
        state.signed = None
        state.anchor_due = None


class AuditLog:
    """Appends events to the hash chain inside the caller's transaction; never updates or deletes.

    Appends are serialized by the head row's lock (`SELECT … FOR UPDATE` on
    PostgreSQL, the database write lock on SQLite), so concurrent writers never
    fork the chain. A checkpoint is signed when the session commits, and every
    `checkpoint_every` entries inside one unit of work (0: only at the commit);
    `clock` stamps them; `anchor` (a path or `AuditAnchor`, None for none) receives
    each commit's checkpoint.
    """

    def __init__(
        self,
        *,
        signing_key: Ed25519PrivateKey,
        checkpoint_every: int = 1000,
        clock: Clock | None = None,
        anchor: AuditAnchor | str | os.PathLike[str] | None = None,
    ) -> None:
        every: object = checkpoint_every  # checked as callers may pass anything
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise Invalid("checkpoint_every must be a non-negative integer (0: only at commit)")
        self._signing_key = signing_key
        self.public_key = signing_key.public_key()
        self.key_fingerprint = key_fingerprint(self.public_key)
        self.checkpoint_every = checkpoint_every
        self.clock: Clock = clock or SystemClock()
        self.anchor = (
            anchor if isinstance(anchor, AuditAnchor) or anchor is None else AuditAnchor(anchor)
        )

    def __repr__(self) -> str:
        return (
            f"AuditLog(key={self.key_fingerprint[:16]}…, "
            f"checkpoint_every={self.checkpoint_every}, anchor={self.anchor!r})"
        )

    def bind(self, uow: UnitOfWork) -> UnitOfWork:
        """Make this the log of `uow`, for capabilities that append to the log of the unit of
        work they are given rather than hold one (consent); `Vault.unit_of_work` binds its
        own. A rollback clears the binding with the rest of `uow.info`."""
        uow.info[_UOW_LOG] = self
        return uow

    @staticmethod
    def of(uow: UnitOfWork) -> AuditLog | None:
        """The log bound to `uow` (`bind`), if any."""
        log = uow.info.get(_UOW_LOG)
        return log if isinstance(log, AuditLog) else None

    def append(self, session: Session, event: AuditEvent) -> int:
        """Record one event; return its sequence number."""
        return self.append_many(session, [event])[0]

    def append_many(self, session: Session, events: Sequence[AuditEvent]) -> list[int]:
        """Record events in order with one INSERT; return their sequence numbers."""
        if not events:
            return []
        for event_ in events:
            if not isinstance(event_, AuditEvent):
                raise AuditValueRefused("audit events must be AuditEvent instances", field="event")
        state = _state(session)
        head = _lock_head(session)
        seq, prev = head.seq, head.hash
        ordinal, signed_seq, digest = (
            head.checkpoint_ordinal,
            head.checkpoint_seq,
            head.checkpoint_digest,
        )
        every = self.checkpoint_every
        rows: list[dict[str, Any]] = []
        subject_rows: list[tuple[int, str, int]] = []
        checkpoints: list[Checkpoint] = []
        signed_at: datetime | None = None
        # Events of one batch share their code tuples: encode each tuple once.
        codes: dict[tuple[str, ...], str] = {}
        for event_ in events:
            seq += 1
            subjects = event_.subjects
            categories = codes.get(event_.categories)
            if categories is None:
                categories = codes[event_.categories] = compact(list(event_.categories))
            clauses = codes.get(event_.clauses)
            if clauses is None:
                clauses = codes[event_.clauses] = compact(list(event_.clauses))
            row: dict[str, Any] = {
                "seq": seq,
                "at": event_.at,
                "actor_id": event_.actor_id,
                "actor_role": event_.actor_role,
                "action": event_.action.value,
                "outcome": event_.outcome.value,
                "purpose": event_.purpose,
                "policy_id": event_.policy_id,
                "subject": event_.subject,
                "categories": categories,
                "clauses": clauses,
                "count": event_.count,
                "reason": event_.reason,
                "reference": event_.reference,
                "prev_hash": prev,
                "subjects": compact(dict(subjects)) if subjects else None,
            }
            prev = row["hash"] = entry_hash(row)
            rows.append(row)
            if subjects:
                subject_rows.extend((seq, subject, count) for subject, count in subjects.items())
            if every and seq - signed_seq >= every:
                signed_at = signed_at or self.clock.now()
                checkpoint = self._sign(ordinal + 1, digest, seq, prev, signed_at, signed_seq)
                checkpoints.append(checkpoint)
                ordinal, signed_seq, digest = ordinal + 1, seq, _digest(checkpoint)
        try:
            session.execute(insert(_ENTRIES), rows)
        except IntegrityError as exc:
            raise AuditLogBroken(
                f"audit entry {head.seq + 1} already exists although the head records "
                f"entry {head.seq} as the last",
                hint="entries were added without the audit service: run `mexfi audit verify`",
            ) from exc
        # A batch entry names up to thousands of subjects: COPY on PostgreSQL.
        insert_rows(session, _SUBJECTS, ("seq", "subject", "count"), subject_rows)
        if checkpoints:
            self._insert_checkpoints(session, checkpoints)
            state.signed = (self, checkpoints[-1])
        session.execute(
            update(_HEAD)
            .where(_HEAD.c.id == 1)
            .values(
                seq=seq,
                hash=prev,
                checkpoint_ordinal=ordinal,
                checkpoint_seq=signed_seq,
                checkpoint_digest=digest,
            )
        )
        state.pending[id(self)] = self
        return list(range(head.seq + 1, seq + 1))

    def checkpoint(self, session: Session) -> AuditCheckpointRead | None:
        """Sign the head now (None on an empty log); a head already signed is returned as is.

        The commit anchors it. Needed only to seal a log written before checkpoints were
        signed at every commit: appends sign at commit by themselves.
        """
        state = _state(session)
        head = _lock_head(session)
        if head.seq == 0:
            return None
        if head.seq == head.checkpoint_seq:
            existing = session.execute(
                select(_CHECKPOINTS).where(_CHECKPOINTS.c.seq == head.checkpoint_seq)
            ).first()
            if existing is not None:
                return AuditCheckpointRead.model_validate(dict(existing._mapping))
        checkpoint = self._seal(session, state, head)
        state.pending[id(self)] = self  # so that the commit anchors it
        return AuditCheckpointRead.model_validate(checkpoint.row()) if checkpoint else None

    def entries(
        self,
        session: Session,
        *,
        subject: str | None = None,
        actions: Collection[AuditAction] | None = None,
        actor: str | None = None,
        purpose: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntryRead]:
        """Entries oldest first; with `limit`, the newest `limit` of those that match."""
        return read_entries(
            session,
            subject=subject,
            actions=actions,
            actor=actor,
            purpose=purpose,
            since=since,
            until=until,
            limit=limit,
        )

    # --- signing ---

    def _sign(
        self,
        ordinal: int,
        prev_digest: str,
        seq: int,
        entry_hash_: str,
        at: datetime,
        previous_seq: int,
    ) -> Checkpoint:
        # The interval this writer keeps; longer only when it found a longer unsigned run
        # (entries of a release that signed every 1,000th, or of another log in this session).
        max_gap = max(self.checkpoint_every, seq - previous_seq) if self.checkpoint_every else 0
        return Checkpoint.sign(
            self._signing_key,
            self.key_fingerprint,
            ordinal=ordinal,
            prev_digest=prev_digest,
            seq=seq,
            entry_hash=entry_hash_,
            at=at,
            max_gap=max_gap,
        )

    def _insert_checkpoints(self, session: Session, checkpoints: Sequence[Checkpoint]) -> None:
        try:
            session.execute(insert(_CHECKPOINTS), [c.row() for c in checkpoints])
        except IntegrityError as exc:
            raise AuditLogBroken(
                f"audit checkpoint {checkpoints[0].ordinal} (entry {checkpoints[0].seq}) "
                "already exists although the head records an earlier one as the last",
                hint="checkpoints were added or the head was edited without the audit "
                "service: run `mexfi audit verify`",
            ) from exc

    def _seal(
        self, session: Session, state: _SessionState, head: _Head | None = None
    ) -> Checkpoint | None:
        """Sign the head unless it is signed already; remember what to anchor."""
        head = head or _lock_head(session, held=True)
        if head.seq <= head.checkpoint_seq:
            # Signed inside this unit of work already, or nothing new. What this session
            # signed may have gone with a rolled-back savepoint: anchor it only if it is
            # still the head's checkpoint.
            if state.signed is not None:
                signed = state.signed[1]
                if (signed.ordinal, signed.seq) != (head.checkpoint_ordinal, head.checkpoint_seq):
                    state.signed = None
            return None
        checkpoint = self._sign(
            head.checkpoint_ordinal + 1,
            head.checkpoint_digest,
            head.seq,
            head.hash,
            self.clock.now(),
            head.checkpoint_seq,
        )
        self._insert_checkpoints(session, [checkpoint])
        session.execute(
            update(_HEAD)
            .where(_HEAD.c.id == 1)
            .values(
                checkpoint_ordinal=checkpoint.ordinal,
                checkpoint_seq=checkpoint.seq,
                checkpoint_digest=_digest(checkpoint),
            )
        )
        state.signed = (self, checkpoint)
        return checkpoint


def _subject_query(subject: str) -> Select[Any]:
    """The entries about `subject`: its own, and the batch entries that name it."""
    # Two index lookups (the entries' subject, the subject index), then by primary key; an
    # OR across the two tables would scan the whole log.
    about = union(
        select(_ENTRIES.c.seq).where(_ENTRIES.c.subject == subject),
        select(_SUBJECTS.c.seq).where(_SUBJECTS.c.subject == subject),
    ).subquery()
    return select(_ENTRIES).where(_ENTRIES.c.seq.in_(select(about.c.seq)))


def read_entries(
    session: Session,
    *,
    subject: str | None = None,
    actions: Collection[AuditAction | str] | None = None,
    actor: str | None = None,
    purpose: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    before: int | None = None,
    policy: str | None = None,
) -> list[AuditEntryRead]:
    """Entries oldest first; with `limit`, the newest `limit` that match. Needs no key.

    `subject` (a pseudonym) matches an entry's `subject` and a batch entry's `subjects`
    alike (TX-3.4); `actor` an actor id, `purpose` a purpose id; the time range is
    `since` <= at < `until`; `before` keeps entries whose sequence number is below it (the
    cursor of the page after: its oldest entry's `seq`); `policy` keeps that policy's entries
    and the store's own (key rotations: no policy). Every filter given must match.
    """
    query = select(_ENTRIES) if subject is None else _subject_query(subject)
    if before is not None:
        query = query.where(_ENTRIES.c.seq < before)
    if actions is not None:
        try:
            codes = [AuditAction(a).value for a in actions]
        except ValueError:
            raise Invalid(
                f"unknown audit action among {', '.join(map(str, actions))}",
                hint=f"actions: {', '.join(a.value for a in AuditAction)}",
            ) from None
        query = query.where(_ENTRIES.c.action.in_(codes))
    if actor is not None:
        query = query.where(_ENTRIES.c.actor_id == actor)
    if purpose is not None:
        query = query.where(_ENTRIES.c.purpose == purpose)
    if policy is not None:
        query = query.where(or_(_ENTRIES.c.policy_id == policy, _ENTRIES.c.policy_id.is_(None)))
    if since is not None:
        query = query.where(_ENTRIES.c.at >= _aware(since, "since"))
    if until is not None:
        query = query.where(_ENTRIES.c.at < _aware(until, "until"))
    if limit is None:
        rows = list(session.execute(query.order_by(_ENTRIES.c.seq)))
    else:
        if limit < 1:
            raise Invalid("limit must be at least 1")
        newest = query.order_by(_ENTRIES.c.seq.desc()).limit(limit)
        rows = list(reversed(list(session.execute(newest))))
    return [AuditEntryRead.model_validate(dict(row._mapping)) for row in rows]


def latest_checkpoint(session: Session) -> AuditCheckpointRead | None:
    """The newest signed checkpoint (None on a log never signed). Needs no key."""
    row = session.execute(
        select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.seq.desc(), _CHECKPOINTS.c.at.desc()).limit(1)
    ).first()
    return AuditCheckpointRead.model_validate(dict(row._mapping)) if row is not None else None
