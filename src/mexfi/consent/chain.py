"""The canonical forms the consent ledger hashes, and how a call is anchored in the audit log.

Entry content
    Compact JSON (sorted keys, UTF-8, no ASCII escaping) of what an entry records: `id`,
    `policy_id`, `policy_version`, `holder`, `holder_kind`, `kind`, `notice`, `choice`,
    `method`, `source`, `language`, `served_notice_id`, `actor_id` and `recorded_at`
    (UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`).

Entry hash
    SHA-256 (hex) of ``mexfi-consent/1|seq|prev_hash|content``, `prev_hash` being the
    previous entry's hash (64 zeros for entry 1). With `seq` and `prev_hash` inside the
    hash an entry can be neither moved nor relinked.

Call digest (the anchor)
    Each call that records choices appends one audit entry whose `reference` is
    ``consent:<id of the call's first entry>:<entries>:<digest>``: `digest` is SHA-256
    (hex) of the call's entries' contents, in order, joined by newlines. The entry is
    `consent` (or `withdraw` when every choice is an opt-out); a registration's acceptance
    is anchored by the `register` entry itself, so registering stays one audit entry. The
    content leaves out `seq` and `prev_hash` on purpose: the audit entry is appended first
    (every writer takes the audit head's lock before the ledger's, so registration, which
    audits as it goes, cannot deadlock against a plain choice), before the entries have a
    place in the chain. The audit log is signed and anchored outside the database, so a
    ledger rewritten wholesale, its chain recomputed, still disagrees with the audit log;
    `verify_ledger` compares each call with its audit entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ANCHOR_PREFIX",
    "anchor_reference",
    "call_digest",
    "content",
    "entry_hash",
    "parse_anchor",
]

#: The prefix of the audit `reference` that anchors a call of `record_choices`.
ANCHOR_PREFIX = "consent:"

_CONTENT = (
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
)

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_ISO_CACHE: dict[datetime, str] = {}


def iso(at: datetime) -> str:
    """The one textual form of a time in the hashes: UTC, microseconds, `Z`."""
    text = _ISO_CACHE.get(at)
    if text is None:
        # The entries of one call share their time: format it once.
        if len(_ISO_CACHE) >= 1024:
            _ISO_CACHE.clear()
        text = _ISO_CACHE[at] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return text


def content(values: Mapping[str, Any]) -> str:
    """The canonical content of an entry (its stored values), hashed by both forms."""
    document = {name: values[name] for name in _CONTENT}
    document["recorded_at"] = iso(values["recorded_at"])
    return _ENCODER.encode(document)


def entry_hash(values: Mapping[str, Any], text: str | None = None) -> str:
    """SHA-256 (hex) of an entry's canonical form; `values` holds the stored column values
    (`text`: its `content`, when already made)."""
    text = content(values) if text is None else text
    form = f"mexfi-consent/1|{values['seq']}|{values['prev_hash']}|{text}"
    return hashlib.sha256(form.encode("utf-8")).hexdigest()


def call_digest(contents: Sequence[str]) -> str:
    """SHA-256 (hex) of one call's entries' contents, in order: what the audit log holds."""
    return hashlib.sha256("\n".join(contents).encode("utf-8")).hexdigest()


def anchor_reference(first_id: str, count: int, digest: str) -> str:
    """The audit `reference` of a call: its first entry's id, its entries, the call digest."""
    return f"{ANCHOR_PREFIX}{first_id}:{count}:{digest}"


def parse_anchor(reference: str | None) -> tuple[str, int, str] | None:
    """(first entry id, entries, digest) of an anchoring reference; None for another one."""
    if reference is None or not reference.startswith(ANCHOR_PREFIX):
        return None
    parts = reference[len(ANCHOR_PREFIX) :].split(":")
    if len(parts) != 3 or len(parts[0]) != 32 or len(parts[2]) != 64 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]
