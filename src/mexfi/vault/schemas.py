"""What the vault takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

__all__ = [
    "Actor",
    "CategorySummary",
    "DestroyedCandidate",
    "DestructionReport",
    "DisclosureRead",
    "ExportedRecord",
    "QuarantineRead",
    "RecordCreate",
    "RecordRead",
    "RecordRef",
    "SubjectData",
    "SubjectRead",
    "VerificationContact",
]


@dataclass(frozen=True)
class Actor:
    """Who acts: an id (never personal data), a role the policy declares, and for a subject
    or counterpart role, the subject it is."""

    id: str
    role: str
    subject_id: str | None = None


@dataclass(frozen=True)
class RecordCreate:
    subject_id: str
    category: str
    values: dict[str, Any]
    collected_at: datetime | None = None


@dataclass(frozen=True)
class RecordRead:
    id: str
    subject_id: str
    category: str
    collected_at: datetime
    updated_at: datetime | None
    values: dict[str, Any]
    tier: str = "active"


@dataclass(frozen=True)
class RecordRef:
    """A record by its place and times, without its values (nothing decrypted)."""

    id: str
    category: str
    tier: str
    collected_at: datetime
    updated_at: datetime | None


class ExportedRecord(NamedTuple):
    """One record of a streamed export: its place and its values as JSON text, unparsed.

    `values_json` is a JSON object {field: value} in the export's form (dates ISO 8601,
    amounts as strings, bytes as {"base64": …}); it is written out as it is.
    """

    id: str
    category: str
    tier: str
    collected_at: datetime
    updated_at: datetime | None
    values_json: bytes


@dataclass(frozen=True)
class SubjectRead:
    id: str
    policy_id: str
    kind: str
    pseudonym: str
    status: str
    registered_at: datetime


@dataclass(frozen=True)
class CategorySummary:
    """What a subject holds of one category in one tier, counted without decrypting."""

    category: str
    tier: str
    records: int
    first_collected_at: datetime
    last_collected_at: datetime


@dataclass(frozen=True)
class DestroyedCandidate:
    """A subject whose phone was destroyed and whose blind-index value a looked-up phone
    shares: one of the thousand-odd numbers of that value, a candidate, never a match."""

    subject_id: str
    pseudonym: str
    policy_id: str
    kind: str
    evidence_id: str
    rule_id: str | None
    request_id: str | None
    destroyed_at: datetime


@dataclass(frozen=True)
class SubjectData:
    subject: SubjectRead
    purpose: str
    records: list[RecordRead] = field(default_factory=list)

    def by_category(self, category: str) -> list[RecordRead]:
        return [r for r in self.records if r.category == category]


@dataclass(frozen=True)
class DestructionReport:
    """Evidence of one destruction: ids and counts, never values."""

    evidence_id: str
    subject_pseudonym: str
    categories: tuple[str, ...]
    key_ids: tuple[str, ...]
    records_destroyed: int
    reason: str
    rule_id: str | None
    request_id: str | None
    clauses: tuple[str, ...]
    at: datetime
    status: str
    hold_id: str | None = None


@dataclass(frozen=True)
class QuarantineRead:
    """A record moved aside because it would not open: ids and evidence, never values."""

    record_id: str
    policy_id: str
    subject_id: str
    category: str
    tier: str
    key_id: str
    payload_sha256: str
    reason: str
    detected_by: str
    collected_at: datetime
    quarantined_at: datetime


@dataclass(frozen=True)
class DisclosureRead:
    id: str
    subject_pseudonym: str
    recipient: str
    purpose: str
    basis: str
    law: str | None
    reference: str
    categories: tuple[str, ...]
    records: int
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class VerificationContact:
    """Where a request's one-time code goes: the subject's registered phone (never shown in a
    `repr`, a log or an error) and its blind-index bucket (for rate limits, never the phone)."""

    phone: str = field(repr=False)
    phone_bucket: int
