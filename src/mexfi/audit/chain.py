"""The canonical forms the audit log hashes and signs, and why each is shaped as it is.

Entry hash
    SHA-256 (hex) of compact JSON (sorted keys, UTF-8, no ASCII escaping) of the entry's
    stored values: `action`, `actor_id`, `actor_role`, `at` (UTC,
    `YYYY-MM-DDTHH:MM:SS.ffffffZ`), `categories` and `clauses` (their stored JSON text),
    `count`, `outcome`, `policy_id`, `prev_hash` (the previous entry's hash; 64 zeros for
    entry 1), `purpose`, `reason`, `reference`, `seq` and `subject`; and `subjects` (a batch
    entry's stored JSON text, `{"ps_…":records}` with sorted keys) only when the entry has
    any, so every entry written before batch entries existed keeps its hash. `seq` and
    `prev_hash` are inside the hash, so an entry can be neither moved nor relinked.

Checkpoint message (chained checkpoints)
    ``mexfi-audit-checkpoint/2|ordinal|prev_digest|seq|entry_hash|signed_at|max_gap``,
    signed with Ed25519. A checkpoint is written at the end of every unit of work that
    appended entries, and inside one at most `max_gap` entries after the previous one
    (0: no bound was set). `ordinal` numbers the checkpoints 1, 2, …; `prev_digest` is
    the digest (SHA-256 hex of the message bytes) of checkpoint `ordinal - 1` (64 zeros
    for the first). The checkpoints thus form a signed chain of their own: removing one
    in the middle breaks the chain, removing the last ones leaves the head row and the
    anchor file naming an ordinal the store no longer has. `signed_at` is the signer's
    clock, not the event's time, and says when the log last stood at that state.

Legacy checkpoint message
    ``mexfi-audit-checkpoint|seq|entry_hash|at`` with the entry's own time: the format
    written every 1,000th entry before checkpoints were chained (`ordinal` is NULL). They
    still verify; they prove the chain up to their entry but say nothing of deletions.

Anchor line
    A chained checkpoint repeated outside the database, one JSON line with sorted keys:
    ``{"hash":…,"key":…,"max_gap":…,"ordinal":…,"prev":…,"seq":…,"sig":…,"signed_at":…}``.
    `sig` is the checkpoint's own signature over its message, so a line proves itself
    with the public key alone, and a line identical to its stored checkpoint needs no
    second check. Compact and sorted, the same checkpoint is the same bytes whoever writes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mexfi.audit.models import GENESIS_HASH

__all__ = [
    "Checkpoint",
    "checkpoint_digest",
    "checkpoint_message",
    "entry_hash",
    "key_fingerprint",
]


def iso(at: datetime) -> str:
    """The one textual form of a time in hashes and signatures: UTC, microseconds, `Z`."""
    at = at.astimezone(UTC)
    if at.year < 1000:  # strftime's %Y does not pad: keep its exact text for such years
        return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # `YYYY-MM-DDTHH:MM:SS.ffffffZ`; isoformat is several times faster than strftime.
    return at.isoformat(timespec="microseconds")[:-6] + "Z"


# One encoder for every call: `json.dumps` with options builds a new one each time.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compact(value: Any) -> str:
    """Compact JSON, keys sorted: the stored text of list and mapping columns."""
    return _ENCODER.encode(value)


def entry_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an entry's canonical form; `values` holds the stored column values."""
    document = {
        "action": values["action"],
        "actor_id": values["actor_id"],
        "actor_role": values["actor_role"],
        "at": iso(values["at"]),
        "categories": values["categories"],
        "clauses": values["clauses"],
        "count": values["count"],
        "outcome": values["outcome"],
        "policy_id": values["policy_id"],
        "prev_hash": values["prev_hash"],
        "purpose": values["purpose"],
        "reason": values["reason"],
        "reference": values["reference"],
        "seq": values["seq"],
        "subject": values["subject"],
    }
    subjects = values.get("subjects")
    if subjects:
        document["subjects"] = subjects
    return hashlib.sha256(compact(document).encode("utf-8")).hexdigest()


def checkpoint_message(
    seq: int,
    entry_hash: str,
    at: datetime,
    *,
    ordinal: int | None = None,
    prev_digest: str | None = None,
    max_gap: int | None = None,
) -> bytes:
    """The bytes a checkpoint signs: the chained form with `ordinal`, else the legacy one."""
    if ordinal is None:
        return f"mexfi-audit-checkpoint|{seq}|{entry_hash}|{iso(at)}".encode()
    if prev_digest is None or max_gap is None:
        raise TypeError("a chained checkpoint needs prev_digest and max_gap")
    return (
        f"mexfi-audit-checkpoint/2|{ordinal}|{prev_digest}|{seq}|{entry_hash}|{iso(at)}|{max_gap}"
    ).encode()


def checkpoint_digest(message: bytes) -> str:
    """What the next checkpoint signs as `prev_digest`: SHA-256 (hex) of the message."""
    return hashlib.sha256(message).hexdigest()


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: names the key that signed a checkpoint."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


#: Keys of an anchor line, and the type each must have.
_LINE_FIELDS: dict[str, type] = {
    "hash": str,
    "key": str,
    "max_gap": int,
    "ordinal": int,
    "prev": str,
    "seq": int,
    "sig": str,
    "signed_at": str,
}


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint as stored or anchored; `ordinal` None marks the legacy format."""

    seq: int
    entry_hash: str
    at: datetime | None  # None: unreadable in the store (a garbled SQLite value)
    signature: str
    key_fingerprint: str
    ordinal: int | None = None
    prev_digest: str | None = None
    max_gap: int | None = None

    @classmethod
    def sign(
        cls,
        key: Ed25519PrivateKey,
        fingerprint: str,
        *,
        ordinal: int,
        prev_digest: str,
        seq: int,
        entry_hash: str,
        at: datetime,
        max_gap: int,
    ) -> Checkpoint:
        at = at.astimezone(UTC)
        message = checkpoint_message(
            seq, entry_hash, at, ordinal=ordinal, prev_digest=prev_digest, max_gap=max_gap
        )
        return cls(
            seq=seq,
            entry_hash=entry_hash,
            at=at,
            signature=key.sign(message).hex(),
            key_fingerprint=fingerprint,
            ordinal=ordinal,
            prev_digest=prev_digest,
            max_gap=max_gap,
        )

    @property
    def chained(self) -> bool:
        return self.ordinal is not None

    def message(self) -> bytes | None:
        """The signed bytes, or None when a stored value cannot be read."""
        if self.at is None:
            return None
        try:
            return checkpoint_message(
                self.seq,
                self.entry_hash,
                self.at,
                ordinal=self.ordinal,
                prev_digest=self.prev_digest,
                max_gap=self.max_gap,
            )
        except (TypeError, ValueError, AttributeError):
            return None

    def digest(self) -> str | None:
        message = self.message()
        return checkpoint_digest(message) if message is not None else None

    def verifies(self, public_key: Ed25519PublicKey) -> bool:
        message = self.message()
        if message is None:
            return False
        try:
            public_key.verify(bytes.fromhex(self.signature), message)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True

    def row(self) -> dict[str, Any]:
        """The `audit_checkpoints` row."""
        return {
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "at": self.at,
            "signature": self.signature,
            "key_fingerprint": self.key_fingerprint,
            "ordinal": self.ordinal,
            "prev_digest": self.prev_digest,
            "max_gap": self.max_gap,
        }

    def anchor_line(self) -> bytes:
        """The anchor file's line for this (chained) checkpoint, newline included."""
        if self.at is None or self.ordinal is None:
            raise ValueError("only a readable chained checkpoint has an anchor line")
        document = {
            "hash": self.entry_hash,
            "key": self.key_fingerprint,
            "max_gap": self.max_gap,
            "ordinal": self.ordinal,
            "prev": self.prev_digest,
            "seq": self.seq,
            "sig": self.signature,
            "signed_at": iso(self.at),
        }
        return (compact(document) + "\n").encode("utf-8")

    @classmethod
    def from_anchor_line(cls, text: str) -> Checkpoint | None:
        """The checkpoint an anchor line holds, or None when the line is not one."""
        try:
            document = json.loads(text)
        except ValueError:
            return None
        if not isinstance(document, dict) or set(document) != set(_LINE_FIELDS):
            return None
        for name, kind in _LINE_FIELDS.items():
            value = document[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                return None
        try:
            at = datetime.strptime(document["signed_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        except ValueError:
            return None
        return cls(
            seq=document["seq"],
            entry_hash=document["hash"],
            at=at.replace(tzinfo=UTC),
            signature=document["sig"],
            key_fingerprint=document["key"],
            ordinal=document["ordinal"],
            prev_digest=document["prev"],
            max_gap=document["max_gap"],
        )


#: The `prev_digest` of checkpoint 1.
FIRST_PREV_DIGEST = GENESIS_HASH
