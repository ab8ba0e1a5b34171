"""The audit log: append hash-chained entries, sign checkpoints, verify the chain (TX-4.2).

Each entry's `hash` is SHA-256 over its canonical form: compact JSON with sorted
keys, UTF-8, of `seq`, `at` (UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`), `actor_id`,
`actor_role`, `action`, `outcome`, `purpose`, `policy_id`, `subject`,
`categories` and `clauses` (their stored JSON text), `count`, `reason`,
`reference` and `prev_hash` (the previous entry's hash; 64 zeros for entry 1).
A checkpoint signs "mexfi-audit-checkpoint|seq|hash|at" with the audit key, so a
chain rewritten with fresh hashes still disagrees with what was signed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import (
    ColumnElement,
    Row,
    String,
    Table,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mexfi.audit.errors import AuditLogBroken, AuditValueRefused
from mexfi.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEntry, AuditHead
from mexfi.audit.schemas import (
    AuditAction,
    AuditCheckpointRead,
    AuditEntryRead,
    AuditEvent,
    TamperKind,
    TamperProblem,
    VerifyReport,
)
from mexfi.errors import Invalid

__all__ = [
    "AuditLog",
    "checkpoint_message",
    "entry_hash",
    "key_fingerprint",
    "read_entries",
    "verify_log",
]

_ENTRIES = cast(Table, AuditEntry.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)

#: The columns the hash covers, in no particular order (the JSON keys are sorted).
_HASHED = (
    "seq",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "outcome",
    "purpose",
    "policy_id",
    "subject",
    "categories",
    "clauses",
    "count",
    "reason",
    "reference",
    "prev_hash",
)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _codes(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


def entry_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an entry's canonical form; `values` holds the stored column values."""
    document = {name: values[name] for name in _HASHED}
    document["at"] = _iso(document["at"])
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def checkpoint_message(seq: int, entry_hash: str, at: datetime) -> bytes:
    """The bytes a checkpoint signs."""
    return f"mexfi-audit-checkpoint|{seq}|{entry_hash}|{_iso(at)}".encode()


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: names the key that signed a checkpoint."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _aware(at: datetime, name: str) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise Invalid(f"{name!r} must be a timezone-aware datetime")
    return at.astimezone(UTC)


def _lock_head(session: Session) -> tuple[int, str]:
    """The head's (seq, hash), locked until the transaction ends."""
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock before reading: a concurrent appender then waits
        # (busy_timeout) instead of reading a head that is about to move.
        session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq))
    query = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
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
    return int(row.seq), str(row.hash)


class AuditLog:
    """Appends events to the hash chain inside the caller's transaction; never updates or deletes.

    Appends are serialized by the head row's lock (`SELECT … FOR UPDATE` on
    PostgreSQL, the database write lock on SQLite), so concurrent writers never
    fork the chain. Every `checkpoint_every`-th entry is signed automatically
    (0 turns that off).
    """

    def __init__(self, *, signing_key: Ed25519PrivateKey, checkpoint_every: int = 1000) -> None:
        if isinstance(checkpoint_every, bool) or checkpoint_every < 0:
            raise Invalid("checkpoint_every must be a non-negative integer (0: no automatic ones)")
        self._signing_key = signing_key
        self.public_key = signing_key.public_key()
        self.key_fingerprint = key_fingerprint(self.public_key)
        self.checkpoint_every = checkpoint_every

    def append(self, session: Session, event: AuditEvent) -> int:
        """Record one event; return its sequence number."""
        return self.append_many(session, [event])[0]

    def append_many(self, session: Session, events: Sequence[AuditEvent]) -> list[int]:
        """Record events in order with one INSERT; return their sequence numbers."""
        if not events:
            return []
        for event in events:
            if not isinstance(event, AuditEvent):
                raise AuditValueRefused("audit events must be AuditEvent instances", field="event")
        head_seq, prev = _lock_head(session)
        seq = head_seq
        rows: list[dict[str, Any]] = []
        checkpoints: list[dict[str, Any]] = []
        for event in events:
            seq += 1
            row: dict[str, Any] = {
                "seq": seq,
                "at": event.at,
                "actor_id": event.actor_id,
                "actor_role": event.actor_role,
                "action": event.action.value,
                "outcome": event.outcome.value,
                "purpose": event.purpose,
                "policy_id": event.policy_id,
                "subject": event.subject,
                "categories": _codes(event.categories),
                "clauses": _codes(event.clauses),
                "count": event.count,
                "reason": event.reason,
                "reference": event.reference,
                "prev_hash": prev,
            }
            prev = row["hash"] = entry_hash(row)
            rows.append(row)
            if self.checkpoint_every and seq % self.checkpoint_every == 0:
                checkpoints.append(self._sign(seq, prev, event.at))
        try:
            session.execute(insert(_ENTRIES), rows)
        except IntegrityError as exc:
            raise AuditLogBroken(
                f"audit entry {head_seq + 1} already exists although the head records "
                f"entry {head_seq} as the last",
                hint="entries were added without the audit service: run `mexfi audit verify`",
            ) from exc
        if checkpoints:
            session.execute(insert(_CHECKPOINTS), checkpoints)
        session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=prev))
        return list(range(head_seq + 1, seq + 1))

    def checkpoint(self, session: Session, *, at: datetime) -> AuditCheckpointRead | None:
        """Sign the current head; None on an empty log. An existing checkpoint is returned as is."""
        at = _aware(at, "at")
        seq, head_hash = _lock_head(session)
        if seq == 0:
            return None
        existing = session.execute(select(_CHECKPOINTS).where(_CHECKPOINTS.c.seq == seq)).first()
        if existing is not None:
            return AuditCheckpointRead.model_validate(dict(existing._mapping))
        values = self._sign(seq, head_hash, at)
        session.execute(insert(_CHECKPOINTS).values(values))
        return AuditCheckpointRead.model_validate(values)

    def entries(
        self,
        session: Session,
        *,
        subject: str | None = None,
        actions: Collection[AuditAction] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntryRead]:
        """Entries oldest first; with `limit`, the newest `limit` of those that match."""
        return read_entries(session, subject=subject, actions=actions, since=since, limit=limit)

    def _sign(self, seq: int, entry_hash: str, at: datetime) -> dict[str, Any]:
        signature = self._signing_key.sign(checkpoint_message(seq, entry_hash, at))
        return {
            "seq": seq,
            "entry_hash": entry_hash,
            "at": at.astimezone(UTC),
            "signature": signature.hex(),
            "key_fingerprint": self.key_fingerprint,
        }


def read_entries(
    session: Session,
    *,
    subject: str | None = None,
    actions: Collection[AuditAction] | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntryRead]:
    """Entries oldest first; with `limit`, the newest `limit` that match. Needs no key."""
    query = select(_ENTRIES)
    if subject is not None:
        query = query.where(_ENTRIES.c.subject == subject)
    if actions is not None:
        query = query.where(_ENTRIES.c.action.in_([AuditAction(a).value for a in actions]))
    if since is not None:
        query = query.where(_ENTRIES.c.at >= _aware(since, "since"))
    if limit is None:
        rows = list(session.execute(query.order_by(_ENTRIES.c.seq)))
    else:
        if limit < 1:
            raise Invalid("limit must be at least 1")
        newest = query.order_by(_ENTRIES.c.seq.desc()).limit(limit)
        rows = list(reversed(list(session.execute(newest))))
    return [AuditEntryRead.model_validate(dict(row._mapping)) for row in rows]


# --- verification -----------------------------------------------------------------------------

#: Beyond this many self-inconsistent entries, look for swapped pairs no more.
_PAIR_SEARCH_LIMIT = 256
#: Beyond this many, self-inconsistent entries are reported as edited without further study.
_DETAIL_LIMIT = 50_000
_LOOKUP_CHUNK = 500


@dataclass
class _Mismatch:
    """An entry whose stored hash does not match its contents."""

    seq: int
    pred_seq: int  # the stored seq of the entry before it in the walk (0: none)
    values: dict[str, Any]


def _hash_as(values: Mapping[str, Any], seq: int | None = None) -> str | None:
    """The entry's hash recomputed (as if numbered `seq`), or None if a value is unreadable."""
    try:
        return entry_hash(values if seq is None else {**values, "seq": seq})
    except (TypeError, ValueError, AttributeError):
        return None


def _sqlite_at(value: object) -> datetime | None:
    # Read raw on SQLite, so a garbled timestamp is an edited entry rather than a crash.
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _when(at: datetime | None) -> str:
    return _iso(at) if at is not None else "at an unreadable time"


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first} to {last}"


def _ranges(seqs: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def _stored_hashes(session: Session, column: ColumnElement[Any], keys: set[Any]) -> list[Row[Any]]:
    found: list[Row[Any]] = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start : start + _LOOKUP_CHUNK]
        query = select(_ENTRIES.c.seq, _ENTRIES.c.hash).where(column.in_(chunk))
        found.extend(session.execute(query))
    return found


def verify_log(
    session: Session,
    *,
    public_key: Ed25519PublicKey,
    checkpoint_every: int | None = None,
) -> VerifyReport:
    """Walk the log in seq order and report every sign of tampering, naming the entry.

    `checkpoint_every`, when given, also reports automatic checkpoints that were
    removed (a rewrite's attempt to hide from them).
    """
    is_sqlite = session.get_bind().dialect.name == "sqlite"
    head = session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).first()
    head_seq = int(head.seq) if head is not None else None
    cp_at = type_coerce(_CHECKPOINTS.c.at, String).label("at") if is_sqlite else _CHECKPOINTS.c.at
    cp_columns = [cp_at if c.name == "at" else c for c in _CHECKPOINTS.c]
    checkpoints = [
        {**row._mapping, "at": _sqlite_at(row.at) if is_sqlite else row.at}
        for row in session.execute(select(*cp_columns).order_by(_CHECKPOINTS.c.seq))
    ]
    watched = {int(cp["seq"]) for cp in checkpoints} | ({head_seq} if head_seq else set())

    problems: list[TamperProblem] = []

    def report(seq: int | None, kind: TamperKind, message: str) -> None:
        problems.append(TamperProblem(seq=seq, kind=kind, message=message))

    # --- the walk: O(1) memory, facts only; judgement after ---
    mismatched: list[_Mismatch] = []
    gaps: list[tuple[int, int]] = []
    breaks: dict[int, int] = {}  # p -> r: r follows p but r.prev_hash is not p's hash
    stored_at: dict[int, str] = {}  # the stored hash at watched seqs
    beyond_head: list[int] = []
    overflow: set[int] = set()
    checked = 0
    prev_seq, prev_hash = 0, GENESIS_HASH
    at_column = type_coerce(_ENTRIES.c.at, String).label("at") if is_sqlite else _ENTRIES.c.at
    columns = [at_column if c.name == "at" else c for c in _ENTRIES.c]
    walk = select(*columns).order_by(_ENTRIES.c.seq).execution_options(yield_per=2000)
    for row in session.execute(walk):
        values = dict(row._mapping)
        seq = int(values["seq"])
        checked += 1
        if is_sqlite:
            values["at"] = _sqlite_at(values["at"])
        if seq < 1:
            report(seq, TamperKind.INSERTED, f"entry {seq} was inserted: the log numbers from 1")
            continue
        if _hash_as(values) != values["hash"]:
            if len(mismatched) < _DETAIL_LIMIT:
                mismatched.append(_Mismatch(seq, prev_seq, values))
            else:
                report(seq, TamperKind.EDITED, f"entry {seq} was edited after it was written")
                overflow.add(seq)
        if seq > prev_seq + 1:
            gaps.append((prev_seq + 1, seq - 1))
        elif values["prev_hash"] != prev_hash:
            breaks[prev_seq] = seq
        if seq in watched:
            stored_at[seq] = values["hash"]
        if head_seq is not None and seq > head_seq:
            beyond_head.append(seq)
        prev_seq, prev_hash = seq, values["hash"]
    last_seq = prev_seq

    # --- entries whose contents no longer match their hash ---
    # Try the seqs an entry may have been written under: after its predecessor's original
    # place, next to where it sits, or in the place of another such entry (a swap).
    original: dict[int, int] = {}
    pool = [m.seq for m in mismatched] if len(mismatched) <= _PAIR_SEARCH_LIMIT else []
    for m in mismatched:
        start = original.get(m.pred_seq, m.pred_seq) + 1
        for candidate in (start, m.seq - 1, m.seq + 1, *pool):
            if (
                candidate >= 1
                and candidate != m.seq
                and _hash_as(m.values, candidate) == m.values["hash"]
            ):
                original[m.seq] = candidate
                break
    mismatched_seqs = {m.seq for m in mismatched}
    at_original = {
        int(found.seq): str(found.hash)
        for found in _stored_hashes(session, _ENTRIES.c.seq, set(original.values()))
    }
    unresolved: dict[str, list[int]] = {}
    for m in mismatched:
        if m.seq not in original:
            unresolved.setdefault(str(m.values["hash"]), []).append(m.seq)
    copies: dict[int, int] = {}  # a copy's seq -> the seq of the entry it copies
    for found in _stored_hashes(session, _ENTRIES.c.hash, set(unresolved)):
        for copy_seq in unresolved[str(found.hash)]:
            if int(found.seq) != copy_seq and int(found.seq) not in mismatched_seqs:
                copies.setdefault(copy_seq, int(found.seq))

    explained = mismatched_seqs | overflow
    for m in mismatched:
        written_as = original.get(m.seq)
        if written_as is not None and at_original.get(written_as) == m.values["hash"]:
            copies[m.seq] = written_as
        if m.seq in copies:
            report(
                m.seq,
                TamperKind.INSERTED,
                f"entry {m.seq} was inserted: it is a copy of entry {copies[m.seq]}",
            )
        elif written_as is not None:
            report(
                m.seq,
                TamperKind.REORDERED,
                f"entry {m.seq} was moved: it was written as entry {written_as} "
                "(entries were reordered or renumbered)",
            )
            occupant = at_original.get(written_as)
            if occupant is not None and written_as not in explained:
                # A self-consistent entry sits where the moved one belongs: it was slipped in.
                explained.add(written_as)
                report(
                    written_as,
                    TamperKind.INSERTED,
                    f"entry {written_as} was inserted: the entry written as {written_as} "
                    f"now sits at {m.seq}, the entries after it renumbered",
                )
        else:
            report(
                m.seq,
                TamperKind.EDITED,
                f"entry {m.seq} was edited after it was written: "
                "its hash does not match its contents",
            )

    # --- gaps ---
    for first, last in gaps:
        after = "the log starts at" if first == 1 else f"entry {first - 1} is followed by"
        verb = "was" if first == last else "were"
        report(
            first,
            TamperKind.DELETED,
            f"{_span(first, last)} {verb} deleted: {after} entry {last + 1}",
        )

    # --- broken links between self-consistent neighbours ---
    # One break between p and r: p was swapped for an entry with a recomputed hash (r still
    # points at the original). Breaks on both sides of r: r fits nowhere, it was inserted.
    blamed: set[int] = set()
    for p, r in sorted(breaks.items()):
        if {p, r} & (explained | blamed) or (head_seq is not None and r > head_seq):
            continue
        successor = breaks.get(r)
        if successor is not None and successor not in explained:
            blamed.add(r)
            report(
                r,
                TamperKind.INSERTED,
                f"entry {r} was inserted: it is chained neither to entry {p} before it "
                f"nor to entry {successor} after it",
            )
        elif p == 0:
            blamed.add(r)
            report(
                r,
                TamperKind.INSERTED,
                f"entry {r} was inserted or replaced: it does not start the chain "
                "(its prev_hash is not the genesis hash)",
            )
        else:
            blamed.add(p)
            report(
                p,
                TamperKind.REPLACED,
                f"entry {p} was replaced or edited with a recomputed hash: entry {r} "
                f"was chained to a different entry {p}",
            )

    # --- the head and the tail ---
    if head_seq is None:
        if checked:
            report(
                None,
                TamperKind.HEAD_MISMATCH,
                "the audit log's head row is missing: deletions at the end cannot be ruled out",
            )
    else:
        extra = [seq for seq in beyond_head if seq not in explained]
        for first, last in _ranges(extra):
            report(
                first,
                TamperKind.INSERTED,
                f"{_span(first, last)} {'lies' if first == last else 'lie'} beyond the head, "
                f"which records entry {head_seq} as the last: added without the audit "
                "service, or the head was set back",
            )
        if head is not None and head_seq in stored_at and stored_at[head_seq] != head.hash:
            report(
                head_seq,
                TamperKind.HEAD_MISMATCH,
                f"entry {head_seq} is not the entry the head recorded as the last: "
                f"the log was rewritten up to entry {head_seq}, or the head was edited",
            )

    evidence: list[str] = []
    tail_end = last_seq
    if head_seq is not None and head_seq > last_seq:
        tail_end = head_seq
        evidence.append(f"the head records entry {head_seq} as the last")
    beyond_checkpoints = [cp for cp in checkpoints if int(cp["seq"]) > last_seq]
    if beyond_checkpoints:
        furthest = beyond_checkpoints[-1]
        tail_end = max(tail_end, int(furthest["seq"]))
        evidence.append(
            f"a checkpoint signed at {_when(furthest['at'])} vouches for entry {furthest['seq']}"
        )
    if tail_end > last_seq:
        verb = "was" if tail_end == last_seq + 1 else "were"
        report(
            last_seq + 1,
            TamperKind.TRUNCATED,
            f"{_span(last_seq + 1, tail_end)} {verb} deleted from the end of the log: "
            + "; ".join(evidence),
        )

    # --- checkpoints ---
    fingerprint = key_fingerprint(public_key)
    last_good: int | None = None
    for cp in checkpoints:
        seq = int(cp["seq"])
        signed = f"the checkpoint at entry {seq} (signed {_when(cp['at'])})"
        try:
            message = checkpoint_message(seq, cp["entry_hash"], cp["at"])
            public_key.verify(bytes.fromhex(cp["signature"]), message)
            signature_ok = True
        except (InvalidSignature, ValueError, TypeError, AttributeError):
            signature_ok = False
        if not signature_ok:
            if cp["key_fingerprint"] != fingerprint:
                why = (
                    f"it was signed by key {cp['key_fingerprint'][:16]}…, not by the key given "
                    f"({fingerprint[:16]}…): it is forged, or the audit key was rotated"
                )
            else:
                why = "its signature does not verify: it was altered after signing"
            report(seq, TamperKind.BAD_SIGNATURE, f"{signed} has a bad signature: {why}")
        stored = stored_at.get(seq)
        if stored is None:
            continue  # past the end or deleted: reported above
        if stored != cp["entry_hash"]:
            since = (
                f", after entry {last_good}, the last checkpoint that matches" if last_good else ""
            )
            report(
                seq,
                TamperKind.CHECKPOINT_MISMATCH,
                f"entry {seq} is not the entry signed in {signed}: the chain was rewritten "
                f"at or before entry {seq}{since}",
            )
        elif signature_ok:
            last_good = seq
    if checkpoint_every:
        have = {int(cp["seq"]) for cp in checkpoints}
        for seq in range(checkpoint_every, last_seq + 1, checkpoint_every):
            if seq not in have:
                report(
                    seq,
                    TamperKind.CHECKPOINT_MISSING,
                    f"the automatic checkpoint at entry {seq} was removed",
                )

    problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return VerifyReport(
        ok=not problems,
        checked=checked,
        checkpoints=len(checkpoints),
        head_seq=head_seq,
        problems=problems,
    )
