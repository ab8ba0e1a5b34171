"""Verifying the audit log: every sign of tampering, named by entry, with a public key alone.

`verify_log` needs the records database and the audit public key, nothing else: an
auditor holds no master key and no signing key. It reads, in order:

1. the entries, walked in `seq` order with O(1) memory: hashes that no longer match
   their contents (edited, moved, copied), gaps (deleted), broken links (inserted,
   replaced);
2. the checkpoints: signatures, the chain of ordinals and digests (a checkpoint deleted
   in the middle), the entry each one signs (a chain rewritten after it was signed);
3. the head row: missing, set back, naming another entry or another checkpoint;
4. the tail: entries after the last checkpoint (every committed unit of work ends with
   one, so none should be there), entries or checkpoints missing at the end;
5. the anchor file, if given: its lines are checkpoints signed by the same key, kept
   outside the database, so a store cut back or restored from an older copy, with its
   head and checkpoints made to agree, is still older than its anchor;
6. the subject index of batch entries, against the subjects each entry's hash covers.

A log written before checkpoints were chained has no checkpoint at its end; that is
reported as a note, not as tampering, until the first chained checkpoint is written.
Memory grows with the number of checkpoints and anchor lines (one per commit), not
with the number of entries.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import ColumnElement, Row, String, Table, select, type_coerce
from sqlalchemy.orm import Session

from mexfi.audit.anchor import AnchorRead, AuditAnchor
from mexfi.audit.chain import Checkpoint, entry_hash, iso, key_fingerprint
from mexfi.audit.models import (
    GENESIS_HASH,
    AuditCheckpoint,
    AuditEntry,
    AuditEntrySubject,
    AuditHead,
)
from mexfi.audit.schemas import TamperKind, TamperProblem, VerifyReport

__all__ = ["verify_log"]

_ENTRIES = cast(Table, AuditEntry.__table__)
_SUBJECTS = cast(Table, AuditEntrySubject.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)

#: Beyond this many self-inconsistent entries, look for swapped pairs no more.
_PAIR_SEARCH_LIMIT = 256
#: Beyond this many, self-inconsistent entries are reported as edited without further study.
_DETAIL_LIMIT = 50_000
_LOOKUP_CHUNK = 500
#: Batch entries compared with the subject index per query.
_INDEX_CHUNK = 200


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
    return iso(at) if at is not None else "at an unreadable time"


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first} to {last}"


def _checkpoints_span(first: int, last: int) -> str:
    return f"checkpoint {first}" if first == last else f"checkpoints {first} to {last}"


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


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


class _Verifier:
    def __init__(
        self, session: Session, public_key: Ed25519PublicKey, anchor: AuditAnchor | None
    ) -> None:
        self.session = session
        self.public_key = public_key
        self.fingerprint = key_fingerprint(public_key)
        self.anchor = anchor
        self.is_sqlite = session.get_bind().dialect.name == "sqlite"
        self.problems: list[TamperProblem] = []
        self.notes: list[str] = []
        # Entries whose finding is made: later stages do not report them again.
        self.explained: set[int] = set()
        self.anchor_read: AnchorRead | None = None
        self.anchored: dict[int, list[Checkpoint]] = defaultdict(list)
        self.latest_anchor: Checkpoint | None = None
        self.signed_seq: int | None = None

    def report(self, seq: int | None, kind: TamperKind, message: str) -> None:
        self.problems.append(TamperProblem(seq=seq, kind=kind, message=message))

    # --- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        head = self.session.execute(
            select(
                _HEAD.c.seq,
                _HEAD.c.hash,
                _HEAD.c.checkpoint_ordinal,
                _HEAD.c.checkpoint_seq,
                _HEAD.c.checkpoint_digest,
            ).where(_HEAD.c.id == 1)
        ).first()
        self.head = head
        self.head_seq = int(head.seq) if head is not None else None

        at = type_coerce(_CHECKPOINTS.c.at, String) if self.is_sqlite else _CHECKPOINTS.c.at
        rows = self.session.execute(
            select(
                _CHECKPOINTS.c.seq,
                _CHECKPOINTS.c.entry_hash,
                at.label("at"),
                _CHECKPOINTS.c.signature,
                _CHECKPOINTS.c.key_fingerprint,
                _CHECKPOINTS.c.ordinal,
                _CHECKPOINTS.c.prev_digest,
                _CHECKPOINTS.c.max_gap,
            ).order_by(_CHECKPOINTS.c.seq)
        )
        self.checkpoints: list[Checkpoint] = [
            Checkpoint(
                seq=int(row.seq),
                entry_hash=str(row.entry_hash),
                at=_sqlite_at(row.at) if self.is_sqlite else row.at,
                signature=str(row.signature),
                key_fingerprint=str(row.key_fingerprint),
                ordinal=_int_or_none(row.ordinal),
                prev_digest=row.prev_digest,
                max_gap=_int_or_none(row.max_gap),
            )
            for row in rows
        ]
        self.valid: dict[int, bool] = {
            cp.seq: cp.verifies(self.public_key) for cp in self.checkpoints
        }
        self.chained = sorted(
            (cp for cp in self.checkpoints if cp.ordinal is not None),
            key=lambda cp: cast(int, cp.ordinal),
        )
        self.by_ordinal = {cast(int, cp.ordinal): cp for cp in self.chained}
        self.max_ordinal = max(self.by_ordinal, default=0)

        if self.anchor is not None:
            try:
                self.anchor_read = self.anchor.read()
            except FileNotFoundError:
                self.notes.append(
                    f"no anchor file at {self.anchor.path}: a store cut back or restored "
                    "together with its head and checkpoints could not be compared with it"
                )
            except OSError as exc:
                self.notes.append(
                    f"the anchor file {self.anchor.path} cannot be read "
                    f"({exc.strerror or type(exc).__name__})"
                )
        else:
            self.notes.append(
                "no anchor file was given: a store cut back or restored together with its "
                "head and checkpoints cannot be told from an untouched one"
            )

    # --- the anchor file's lines -----------------------------------------------------------

    def check_anchor_lines(self) -> None:
        """Sort the anchor's lines into valid (by ordinal) and forged."""
        read = self.anchor_read
        if read is None:
            return
        for number, line in read.lines:
            twin = self.by_ordinal.get(cast(int, line.ordinal))
            # A copy of a stored checkpoint verifies exactly when that checkpoint does.
            valid = self.valid[twin.seq] if twin == line and twin is not None else None
            if valid is None:
                valid = line.verifies(self.public_key)
            if not valid:
                if line.key_fingerprint != self.fingerprint:
                    why = (
                        f"it was signed by key {line.key_fingerprint[:16]}…, not by the key "
                        f"given ({self.fingerprint[:16]}…): it is forged, or the audit key "
                        "was rotated"
                    )
                else:
                    why = "its signature does not verify: it was forged or altered"
                self.report(
                    None,
                    TamperKind.BAD_ANCHOR,
                    f"line {number} of the anchor file, for checkpoint {line.ordinal} at "
                    f"entry {line.seq}, has a bad signature: {why}",
                )
                continue
            copies = self.anchored[cast(int, line.ordinal)]
            if line not in copies:
                copies.append(line)
        for numbers, what in (
            (read.unreadable, "hold no checkpoint (damaged, or torn by a crash): skipped"),
            (read.fragments, "begin with the fragment of a write torn by a crash"),
        ):
            if numbers:
                listed = ", ".join(str(n) for n in numbers[:10])
                more = "" if len(numbers) <= 10 else f" and {len(numbers) - 10} more"
                self.notes.append(f"anchor file lines {listed}{more} {what}")
        if read.torn_tail:
            self.notes.append(
                "the anchor file's last line is incomplete (a write torn by a crash): skipped"
            )
        if self.anchored:
            self.latest_anchor = self.anchored[max(self.anchored)][-1]

    # --- the walk --------------------------------------------------------------------------

    def walk(self) -> None:
        watched = {cp.seq for cp in self.checkpoints}
        watched.update(line.seq for lines in self.anchored.values() for line in lines)
        if self.head_seq:
            watched.add(self.head_seq)
        self.mismatched: list[_Mismatch] = []
        self.gaps: list[tuple[int, int]] = []
        self.breaks: dict[int, int] = {}  # p -> r: r follows p but r.prev_hash is not p's hash
        self.stored_at: dict[int, str] = {}  # the stored hash at watched seqs
        self.beyond_head: list[int] = []
        self.checked = 0
        prev_seq, prev_hash = 0, GENESIS_HASH
        at_column = type_coerce(_ENTRIES.c.at, String).label("at") if self.is_sqlite else None
        columns = [at_column if c.name == "at" and at_column is not None else c for c in _ENTRIES.c]
        query = select(*columns).order_by(_ENTRIES.c.seq).execution_options(yield_per=2000)
        for row in self.session.execute(query):
            values = dict(row._mapping)
            seq = int(values["seq"])
            self.checked += 1
            if self.is_sqlite:
                values["at"] = _sqlite_at(values["at"])
            if seq < 1:
                self.report(
                    seq, TamperKind.INSERTED, f"entry {seq} was inserted: the log numbers from 1"
                )
                self.explained.add(seq)
                continue
            if _hash_as(values) != values["hash"]:
                if len(self.mismatched) < _DETAIL_LIMIT:
                    self.mismatched.append(_Mismatch(seq, prev_seq, values))
                else:
                    self.report(
                        seq, TamperKind.EDITED, f"entry {seq} was edited after it was written"
                    )
                    self.explained.add(seq)
            if seq > prev_seq + 1:
                self.gaps.append((prev_seq + 1, seq - 1))
            elif values["prev_hash"] != prev_hash:
                self.breaks[prev_seq] = seq
            if seq in watched:
                self.stored_at[seq] = values["hash"]
            if self.head_seq is not None and seq > self.head_seq:
                self.beyond_head.append(seq)
            prev_seq, prev_hash = seq, values["hash"]
        self.last_seq = prev_seq

    # --- entries ---------------------------------------------------------------------------

    def judge_mismatches(self) -> None:
        # Try the seqs an entry may have been written under: after its predecessor's original
        # place, next to where it sits, or in the place of another such entry (a swap).
        mismatched = self.mismatched
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
            for found in _stored_hashes(self.session, _ENTRIES.c.seq, set(original.values()))
        }
        unresolved: dict[str, list[int]] = {}
        for m in mismatched:
            if m.seq not in original:
                unresolved.setdefault(str(m.values["hash"]), []).append(m.seq)
        copies: dict[int, int] = {}  # a copy's seq -> the seq of the entry it copies
        for found in _stored_hashes(self.session, _ENTRIES.c.hash, set(unresolved)):
            for copy_seq in unresolved[str(found.hash)]:
                if int(found.seq) != copy_seq and int(found.seq) not in mismatched_seqs:
                    copies.setdefault(copy_seq, int(found.seq))

        explained = self.explained
        explained |= mismatched_seqs
        for m in mismatched:
            written_as = original.get(m.seq)
            if written_as is not None and at_original.get(written_as) == m.values["hash"]:
                copies[m.seq] = written_as
            if m.seq in copies:
                self.report(
                    m.seq,
                    TamperKind.INSERTED,
                    f"entry {m.seq} was inserted: it is a copy of entry {copies[m.seq]}",
                )
            elif written_as is not None:
                self.report(
                    m.seq,
                    TamperKind.REORDERED,
                    f"entry {m.seq} was moved: it was written as entry {written_as} "
                    "(entries were reordered or renumbered)",
                )
                occupant = at_original.get(written_as)
                if occupant is not None and written_as not in explained:
                    # A self-consistent entry sits where the moved one belongs: it was slipped in.
                    explained.add(written_as)
                    self.report(
                        written_as,
                        TamperKind.INSERTED,
                        f"entry {written_as} was inserted: the entry written as {written_as} "
                        f"now sits at {m.seq}, the entries after it renumbered",
                    )
            else:
                self.report(
                    m.seq,
                    TamperKind.EDITED,
                    f"entry {m.seq} was edited after it was written: "
                    "its hash does not match its contents",
                )

    def judge_gaps_and_links(self) -> None:
        for first, last in self.gaps:
            after = "the log starts at" if first == 1 else f"entry {first - 1} is followed by"
            verb = "was" if first == last else "were"
            self.report(
                first,
                TamperKind.DELETED,
                f"{_span(first, last)} {verb} deleted: {after} entry {last + 1}",
            )
        # One break between p and r: p was swapped for an entry with a recomputed hash (r still
        # points at the original). Breaks on both sides of r: r fits nowhere, it was inserted.
        blamed: set[int] = set()
        explained = self.explained
        for p, r in sorted(self.breaks.items()):
            if {p, r} & (explained | blamed) or (self.head_seq is not None and r > self.head_seq):
                continue
            successor = self.breaks.get(r)
            if successor is not None and successor not in explained:
                blamed.add(r)
                self.report(
                    r,
                    TamperKind.INSERTED,
                    f"entry {r} was inserted: it is chained neither to entry {p} before it "
                    f"nor to entry {successor} after it",
                )
            elif p == 0:
                blamed.add(r)
                self.report(
                    r,
                    TamperKind.INSERTED,
                    f"entry {r} was inserted or replaced: it does not start the chain "
                    "(its prev_hash is not the genesis hash)",
                )
            else:
                blamed.add(p)
                self.report(
                    p,
                    TamperKind.REPLACED,
                    f"entry {p} was replaced or edited with a recomputed hash: entry {r} "
                    f"was chained to a different entry {p}",
                )
        explained |= blamed

    # --- checkpoints -----------------------------------------------------------------------

    def judge_checkpoints(self) -> None:
        for cp in self.checkpoints:
            if self.valid[cp.seq]:
                continue
            name = (
                f"checkpoint {cp.ordinal} at entry {cp.seq}"
                if cp.chained
                else (f"the checkpoint at entry {cp.seq}")
            )
            signed = f"{name} (signed {_when(cp.at)})"
            if cp.key_fingerprint != self.fingerprint:
                why = (
                    f"it was signed by key {cp.key_fingerprint[:16]}…, not by the key given "
                    f"({self.fingerprint[:16]}…): it is forged, or the audit key was rotated"
                )
            else:
                why = "its signature does not verify: it was altered after signing"
            self.report(cp.seq, TamperKind.BAD_SIGNATURE, f"{signed} has a bad signature: {why}")

        # The chain of checkpoints: ordinals without a gap, each signing its predecessor.
        previous: Checkpoint | None = None
        for cp in self.chained:
            ordinal = cast(int, cp.ordinal)
            expected = 1 if previous is None else cast(int, previous.ordinal) + 1
            if ordinal > expected:
                where = (
                    f"checkpoint {ordinal} (entry {cp.seq}) is the first in the store"
                    if previous is None
                    else f"checkpoint {ordinal} (entry {cp.seq}) follows checkpoint "
                    f"{previous.ordinal} (entry {previous.seq})"
                )
                held = [n for n in range(expected, ordinal) if n in self.anchored]
                also = (
                    f"; the anchor file still holds {_checkpoints_span(held[0], held[-1])}"
                    if held
                    else ""
                )
                verb = "was" if ordinal - 1 == expected else "were"
                self.report(
                    previous.seq + 1 if previous is not None else 1,
                    TamperKind.CHECKPOINT_MISSING,
                    f"{_checkpoints_span(expected, ordinal - 1)} {verb} deleted: {where}{also}",
                )
            elif (
                previous is not None
                and self.valid[previous.seq]
                and self.valid[cp.seq]
                and ordinal == expected
            ):
                if cp.prev_digest != previous.digest():
                    self.report(
                        cp.seq,
                        TamperKind.CHECKPOINT_MISMATCH,
                        f"checkpoint {ordinal} (entry {cp.seq}) is not chained to checkpoint "
                        f"{previous.ordinal} (entry {previous.seq}) as stored: one of them was "
                        "replaced, or the head's record of the last checkpoint was edited",
                    )
                elif cp.max_gap and cp.seq - previous.seq > cp.max_gap:
                    self.report(
                        cp.seq,
                        TamperKind.CHECKPOINT_MISSING,
                        f"checkpoint {ordinal} (entry {cp.seq}) comes {cp.seq - previous.seq} "
                        f"entries after checkpoint {previous.ordinal}, more than the "
                        f"{cp.max_gap} its writer allowed",
                    )
            previous = cp

        # The entry each checkpoint signs.
        self.mismatch_seqs: set[int] = set()
        last_good: int | None = None
        for cp in self.checkpoints:
            stored = self.stored_at.get(cp.seq)
            if stored is None:
                continue  # past the end or deleted: reported with the entries
            if stored != cp.entry_hash:
                self.mismatch_seqs.add(cp.seq)
                name = f"checkpoint {cp.ordinal}" if cp.chained else "the checkpoint"
                since = (
                    f", after entry {last_good}, the last checkpoint that matches"
                    if last_good
                    else ""
                )
                self.report(
                    cp.seq,
                    TamperKind.CHECKPOINT_MISMATCH,
                    f"entry {cp.seq} is not the entry signed in {name} at entry {cp.seq} "
                    f"(signed {_when(cp.at)}): the chain was rewritten at or before entry "
                    f"{cp.seq}{since}",
                )
            elif self.valid[cp.seq]:
                last_good = cp.seq
        self.signed_seq = last_good

        # The anchor's checkpoints: the same as the store's, or standing in for lost ones.
        diverged: tuple[Checkpoint, Checkpoint] | None = None
        for ordinal in sorted(self.anchored):
            twin = self.by_ordinal.get(ordinal)
            for line in self.anchored[ordinal]:
                if twin is not None and twin == line:
                    continue
                if twin is not None and self.valid[twin.seq]:
                    # Two valid checkpoints with one ordinal: the store forked from the file.
                    if diverged is None:
                        diverged = (twin, line)
                    continue
                stored = self.stored_at.get(line.seq)
                if stored is not None and stored != line.entry_hash:
                    if line.seq in self.mismatch_seqs:
                        continue
                    self.mismatch_seqs.add(line.seq)
                    self.report(
                        line.seq,
                        TamperKind.CHECKPOINT_MISMATCH,
                        f"entry {line.seq} is not the entry signed in checkpoint {ordinal} "
                        f"(signed {_when(line.at)}) as the anchor file holds it: the chain "
                        f"was rewritten at or before entry {line.seq}",
                    )
        if diverged is not None:
            stored_cp, line = diverged
            self.report(
                stored_cp.seq,
                TamperKind.ROLLED_BACK,
                f"checkpoint {line.ordinal} in the store (entry {stored_cp.seq}, signed "
                f"{_when(stored_cp.at)}) is not the checkpoint {line.ordinal} the anchor file "
                f"recorded (entry {line.seq}, signed {_when(line.at)}): the store was rolled "
                "back to before it and written to again",
            )

    # --- the head, the tail, the anchor ----------------------------------------------------

    def judge_head_and_tail(self) -> None:
        head, head_seq, last_seq = self.head, self.head_seq, self.last_seq
        explained = self.explained
        signed_seq = self.signed_seq or 0

        if head is None:
            if self.checked:
                self.report(
                    None,
                    TamperKind.HEAD_MISMATCH,
                    "the audit log's head row is missing: deletions at the end cannot be "
                    "ruled out by the head",
                )
        else:
            beyond = [seq for seq in self.beyond_head if seq not in explained]
            vouched = [seq for seq in beyond if seq <= signed_seq]
            if vouched:
                explained.update(vouched)
                self.report(
                    head_seq,
                    TamperKind.HEAD_MISMATCH,
                    f"the head was set back to entry {head_seq}: "
                    f"{_span(vouched[0], vouched[-1])} after it "
                    f"{'is' if len(vouched) == 1 else 'are'} signed by a checkpoint",
                )
            extra = [seq for seq in beyond if seq > signed_seq]
            explained.update(extra)
            for first, last in _ranges(extra):
                self.report(
                    first,
                    TamperKind.INSERTED,
                    f"{_span(first, last)} {'lies' if first == last else 'lie'} beyond the "
                    f"head, which records entry {head_seq} as the last: added without the "
                    "audit service, or the head was set back",
                )
            if head_seq in self.stored_at and self.stored_at[head_seq] != head.hash:
                self.report(
                    head_seq,
                    TamperKind.HEAD_MISMATCH,
                    f"entry {head_seq} is not the entry the head recorded as the last: "
                    f"the log was rewritten up to entry {head_seq}, or the head was edited",
                )
            head_ordinal = int(head.checkpoint_ordinal)
            recorded = self.by_ordinal.get(head_ordinal)
            if (
                recorded is not None
                and self.valid[recorded.seq]
                and (recorded.seq, recorded.digest())
                != (int(head.checkpoint_seq), head.checkpoint_digest)
            ):
                self.report(
                    head_seq,
                    TamperKind.HEAD_MISMATCH,
                    f"the head's record of checkpoint {head_ordinal} does not match the "
                    "stored checkpoint: the head was edited",
                )

        # What says the log went further than it does: the head, a checkpoint, the anchor.
        latest = self.latest_anchor
        evidence: list[str] = []
        tail_end = last_seq
        if head_seq is not None and head_seq > last_seq:
            tail_end = head_seq
            evidence.append(f"the head records entry {head_seq} as the last")
        beyond_checkpoints = [cp for cp in self.checkpoints if cp.seq > last_seq]
        if beyond_checkpoints:
            furthest = beyond_checkpoints[-1]
            tail_end = max(tail_end, furthest.seq)
            evidence.append(
                f"a checkpoint signed at {_when(furthest.at)} vouches for entry {furthest.seq}"
            )
        if head is not None and int(head.checkpoint_seq) > last_seq:
            tail_end = max(tail_end, int(head.checkpoint_seq))
            evidence.append(
                f"the head records checkpoint {head.checkpoint_ordinal} at entry "
                f"{head.checkpoint_seq}"
            )
        anchored_beyond = latest is not None and latest.seq > last_seq
        if latest is not None and anchored_beyond:
            tail_end = max(tail_end, latest.seq)
            evidence.append(
                f"the anchor file records checkpoint {latest.ordinal} at entry {latest.seq}, "
                f"signed {_when(latest.at)}"
            )
        within = [cp.seq for cp in self.checkpoints if cp.seq <= last_seq]
        last_cp_seq = max(within, default=0)

        # The checkpoints that should follow the store's last one.
        missing_to, missing_why = self.max_ordinal, []
        if latest is not None and cast(int, latest.ordinal) > self.max_ordinal:
            missing_to = cast(int, latest.ordinal)
            missing_why.append(
                f"the anchor file holds checkpoint {latest.ordinal} (entry {latest.seq}, "
                f"signed {_when(latest.at)})"
            )
        if head is not None and int(head.checkpoint_ordinal) > self.max_ordinal:
            missing_to = max(missing_to, int(head.checkpoint_ordinal))
            missing_why.append(
                f"the head records checkpoint {head.checkpoint_ordinal} (entry "
                f"{head.checkpoint_seq}) as the last"
            )
        # Entries the missing checkpoints covered are not appended: they lost their checkpoint.
        covered_to = 0
        if latest is not None and cast(int, latest.ordinal) > self.max_ordinal:
            covered_to = latest.seq
        if head is not None and int(head.checkpoint_ordinal) > self.max_ordinal:
            covered_to = max(covered_to, int(head.checkpoint_seq))

        rolled_back = (
            anchored_beyond
            and len(evidence) == 1
            and last_cp_seq == last_seq
            and (head_seq is None or head_seq == last_seq)
        )
        if tail_end > last_seq and rolled_back and latest is not None:
            kept = f"checkpoint {self.max_ordinal}" if self.max_ordinal else "no checkpoint"
            holds = f"it ends at entry {last_seq} and {kept}" if last_seq else "it holds no entry"
            self.report(
                last_seq + 1,
                TamperKind.ROLLED_BACK,
                f"the store is older than its anchor file: {holds}, the anchor file records "
                f"checkpoint {latest.ordinal} at entry "
                f"{latest.seq}, signed {_when(latest.at)}: the store was restored from an "
                "older copy, or cut back together with its head and checkpoints",
            )
        else:
            if tail_end > last_seq:
                verb = "was" if tail_end == last_seq + 1 else "were"
                self.report(
                    last_seq + 1,
                    TamperKind.TRUNCATED,
                    f"{_span(last_seq + 1, tail_end)} {verb} deleted from the end of the log: "
                    + "; ".join(evidence),
                )
            if missing_to > self.max_ordinal:
                first = self.max_ordinal + 1
                verb = "was" if first == missing_to else "were"
                self.report(
                    last_cp_seq + 1 if last_cp_seq < last_seq else None,
                    TamperKind.CHECKPOINT_MISSING,
                    f"{_checkpoints_span(first, missing_to)} {verb} deleted from the store: "
                    + "; ".join(missing_why),
                )

        # Entries after the last checkpoint: every committed unit of work ends with one.
        chained_mode = bool(self.chained) or (head is not None and head.checkpoint_ordinal > 0)
        chained_mode = chained_mode or bool(self.anchored)
        if tail_end > last_seq:
            return  # the tail was cut: what is left of it lost its checkpoint with it
        # The first and last entry no checkpoint covers, without listing those between: a
        # log written before checkpoints were chained may hold millions of them.
        first, last = max(last_cp_seq, covered_to) + 1, last_seq
        while first <= last and first in explained:
            first += 1
        while last >= first and last in explained:
            last -= 1
        if first > last:
            return
        one = first == last
        if chained_mode:
            self.report(
                first,
                TamperKind.APPENDED,
                f"{_span(first, last)} after the last checkpoint {'is' if one else 'are'} "
                "signed by no checkpoint: every commit of the audit service ends with one, so "
                f"{'it was' if one else 'they were'} appended without it (or the checkpoint "
                f"after {'it' if one else 'them'} was deleted)",
            )
        else:
            self.notes.append(
                f"{_span(first, last)} {'was' if one else 'were'} written before checkpoints "
                f"were signed at every commit and no checkpoint covers {'it' if one else 'them'} "
                "yet: the next commit, or `mexfi audit checkpoint`, signs them"
            )

    # --- the subject index -----------------------------------------------------------------

    def judge_subject_index(self) -> None:
        """Compare the subject index with the subjects each batch entry's hash covers."""
        skip = self.explained
        after = 0
        while True:
            entries = list(
                self.session.execute(
                    select(_ENTRIES.c.seq, _ENTRIES.c.subjects)
                    .where(_ENTRIES.c.subjects.is_not(None), _ENTRIES.c.seq > after)
                    .order_by(_ENTRIES.c.seq)
                    .limit(_INDEX_CHUNK)
                )
            )
            upto = int(entries[-1].seq) if len(entries) == _INDEX_CHUNK else None
            query = select(_SUBJECTS.c.seq, _SUBJECTS.c.subject, _SUBJECTS.c.count).where(
                _SUBJECTS.c.seq > after
            )
            if upto is not None:
                query = query.where(_SUBJECTS.c.seq <= upto)
            indexed: dict[int, dict[str, int]] = defaultdict(dict)
            for row in self.session.execute(query):
                # `count` by position: a Row's `.count` is tuple.count.
                indexed[int(row[0])][str(row[1])] = int(row[2])
            for entry in entries:
                seq = int(entry.seq)
                rows = indexed.pop(seq, {})
                if seq in skip:
                    continue
                try:
                    hashed = json.loads(entry.subjects)
                except ValueError:
                    continue  # unreadable: the entry's hash already says it was edited
                if not isinstance(hashed, dict) or rows == hashed:
                    continue
                lost = sum(1 for s in hashed if s not in rows)
                added = sum(1 for s in rows if s not in hashed)
                changed = sum(1 for s in hashed if s in rows and rows[s] != hashed[s])
                parts = []
                if lost:
                    parts.append(
                        f"{lost} of its {len(hashed)} subjects are missing from it (rows "
                        "deleted: the entry no longer shows in those subjects' access logs)"
                    )
                if added:
                    parts.append(f"{added} subjects it does not name were added")
                if changed:
                    parts.append(f"{changed} record counts differ")
                self.report(
                    seq,
                    TamperKind.INDEX_MISMATCH,
                    f"the subject index disagrees with entry {seq}: " + "; ".join(parts),
                )
            for seq in sorted(indexed):
                if seq in skip:
                    continue
                self.report(
                    seq,
                    TamperKind.INDEX_MISMATCH,
                    f"the subject index lists {len(indexed[seq])} subjects for entry {seq}, "
                    "which names none of them: rows were added",
                )
            if upto is None:
                return
            after = upto

    # --- all -------------------------------------------------------------------------------

    def run(self) -> VerifyReport:
        self.load()
        self.check_anchor_lines()
        self.walk()
        self.judge_mismatches()
        self.judge_gaps_and_links()
        self.judge_checkpoints()
        self.judge_head_and_tail()
        self.judge_subject_index()
        problems = sorted(self.problems, key=lambda p: (p.seq is None, p.seq or 0))
        latest = self.latest_anchor
        return VerifyReport(
            ok=not problems,
            checked=self.checked,
            checkpoints=len(self.checkpoints),
            head_seq=self.head_seq,
            signed_seq=self.signed_seq,
            anchor_lines=len(self.anchor_read.lines) if self.anchor_read else 0,
            anchor_ordinal=latest.ordinal if latest else None,
            anchored_seq=latest.seq if latest else None,
            problems=problems,
            notes=self.notes,
        )


def verify_log(
    session: Session,
    *,
    public_key: Ed25519PublicKey,
    anchor: AuditAnchor | str | os.PathLike[str] | None = None,
) -> VerifyReport:
    """Walk the log and report every sign of tampering, naming the entry; needs no secret.

    `anchor` (a path or `AuditAnchor`) is compared with the store: without it, a store
    cut back or restored together with its head and checkpoints looks untouched.
    """
    if anchor is not None and not isinstance(anchor, AuditAnchor):
        anchor = AuditAnchor(anchor)
    return _Verifier(session, public_key, anchor).run()
