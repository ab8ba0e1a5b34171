"""What the requests capability takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from mexfi.policy import RequestRequirement, RightKind

__all__ = [
    "TERMINAL_STATES",
    "Answer",
    "DestructionPreview",
    "RequestCheck",
    "RequestKind",
    "RequestRead",
    "RequestState",
    "WrittenDetails",
]


class RequestKind(StrEnum):
    """One kind of request per right of TX-3, TX-4.1, TX-11 and BK-3.2."""

    EXISTENCE = "existence"  # TX-3.1
    LEGAL_BASIS = "legal_basis"  # TX-3.2
    ACCESS = "access"  # TX-3.3, BK-3.2
    PROCESSING_INFO = "processing_info"  # TX-3.4
    RECTIFICATION = "rectification"  # TX-3.5
    DESTRUCTION = "destruction"  # TX-3.5, TX-1.11
    PROHIBITION = "prohibition"  # TX-3.6
    SOURCES = "sources"  # TX-3.7
    BLOCKING = "blocking"  # TX-1.10, TX-11
    UNBLOCKING = "unblocking"  # TX-1.10, TX-11
    WITHDRAW_CONSENT = "withdraw_consent"  # TX-11
    OPERATOR_INFO = "operator_info"  # TX-4.1

    @property
    def right(self) -> RightKind:
        """The right of the policy this request exercises."""
        if self is RequestKind.UNBLOCKING:
            return RightKind.BLOCKING
        return RightKind(self.value)


class RequestState(StrEnum):
    RECEIVED = "received"
    VERIFYING = "verifying"
    #: Three wrong codes: no more codes or attempts. Open: the DPO verifies out of band
    #: (`verify_out_of_band`) or rejects it; the subject may also make a new request.
    LOCKED = "locked"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    REJECTED = "rejected"
    #: A destruction a legal hold blocks (all or some of its categories): open, its due
    #: date suspended until the hold is lifted.
    ON_HOLD = "on_hold"
    #: Entered by mistake and withdrawn by the DPO with a reason: closed, neither a refusal
    #: nor ever overdue.
    WITHDRAWN = "withdrawn"


TERMINAL_STATES = frozenset({RequestState.ANSWERED, RequestState.REJECTED, RequestState.WITHDRAWN})


def _given(*values: str | None) -> bool:
    return all(v is not None and str(v).strip() != "" for v in values)


@dataclass(frozen=True)
class WrittenDetails:
    """What a written request carries to identify its author (TX-11).

    Used for the check on intake, then dropped: only which requirements were met is
    kept. Values never appear in `repr`, so they cannot leak into a log or a traceback.
    """

    id_document_series: str | None = field(default=None, repr=False)
    id_document_number: str | None = field(default=None, repr=False)
    id_issue_date: str | None = field(default=None, repr=False)
    id_issue_authority: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)
    fin: str | None = field(default=None, repr=False)
    contract_number: str | None = field(default=None, repr=False)
    contract_date: str | None = field(default=None, repr=False)
    relationship_other: str | None = field(default=None, repr=False)
    signed: bool = False
    #: Not TX-11 requirements, but on the identity document the request cites: compared with
    #: what the store still holds (match / mismatch / not held), then dropped.
    full_name: str | None = field(default=None, repr=False)
    date_of_birth: str | None = field(default=None, repr=False)

    def present(self) -> dict[RequestRequirement, bool]:
        """Which of TX-11's requirements this request meets."""
        return {
            RequestRequirement.ID_DOCUMENT: _given(
                self.id_document_series, self.id_document_number
            ),
            RequestRequirement.ID_ISSUE: _given(self.id_issue_date, self.id_issue_authority),
            RequestRequirement.ADDRESS_OR_FIN: _given(self.address) or _given(self.fin),
            RequestRequirement.RELATIONSHIP_PROOF: _given(self.contract_number)
            or _given(self.relationship_other),
            RequestRequirement.SIGNATURE: bool(self.signed),
        }


@dataclass(frozen=True)
class RequestRead:
    """A request as stored: ids, codes, dates and flags."""

    id: str
    policy_id: str
    subject_id: str | None
    subject_pseudonym: str | None
    kind: RequestKind
    channel: str
    language: str
    state: RequestState
    received_at: datetime
    due_at: datetime
    due_date: date
    answered_at: datetime | None
    categories: tuple[str, ...]
    include_passive: bool
    requirements: dict[str, bool]
    reasons: tuple[str, ...]
    outcome: dict[str, Any]
    #: On hold: {category: id of the legal hold that keeps it}.
    holds: dict[str, str] = field(default_factory=dict)
    #: On hold: when its due date was suspended, and how many days of it were left then.
    suspended_at: datetime | None = None
    days_left: int | None = None
    amended_at: datetime | None = None
    #: How the requester was proven to be the subject (`code`, `out_of_band_<method>`), when;
    #: wrong codes entered; a written request's details against the store (match, mismatch,
    #: not_held).
    verification: str | None = None
    verified_at: datetime | None = None
    failed_attempts: int = 0
    identity_checks: dict[str, str] = field(default_factory=dict)

    def overdue(self, now: datetime) -> bool:
        """Open past its due instant, or answered after it; on hold, only if it was late
        when the hold suspended it. Rejected and withdrawn requests are never overdue."""
        if self.state in (RequestState.REJECTED, RequestState.WITHDRAWN):
            return False
        if self.state is RequestState.ON_HOLD:
            return self.suspended_at is not None and self.suspended_at > self.due_at
        if self.answered_at is not None:
            return self.answered_at > self.due_at
        return now > self.due_at

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "policy_id": self.policy_id,
            "subject_pseudonym": self.subject_pseudonym,
            "kind": self.kind.value,
            "channel": self.channel,
            "language": self.language,
            "state": self.state.value,
            "received_at": self.received_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "due_date": self.due_date.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "categories": list(self.categories),
            "include_passive": self.include_passive,
            "requirements": self.requirements,
            "reasons": list(self.reasons),
            "outcome": self.outcome,
            "holds": self.holds,
            "suspended_at": self.suspended_at.isoformat() if self.suspended_at else None,
            "days_left": self.days_left,
            "amended_at": self.amended_at.isoformat() if self.amended_at else None,
            "verification": self.verification,
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
            "failed_attempts": self.failed_attempts,
            "identity_checks": self.identity_checks,
        }
        if now is not None:
            data["overdue"] = self.overdue(now)
        return data


@dataclass(frozen=True)
class Answer:
    """The answer to a request: machine-readable `data` (JSON-ready) for the letter."""

    request: RequestRead
    data: dict[str, Any]


@dataclass(frozen=True)
class RequestCheck:
    """What intake would decide about a request, with nothing stored (`requests add --check`):
    the reason codes it would be rejected for (none: it passes) and its due date."""

    policy_id: str
    kind: RequestKind
    channel: str
    language: str
    received_at: datetime
    due_at: datetime
    due_date: date
    subject_pseudonym: str | None
    requirements: dict[str, bool]
    reasons: tuple[str, ...]

    @property
    def passes(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "kind": self.kind.value,
            "channel": self.channel,
            "language": self.language,
            "received_at": self.received_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "due_date": self.due_date.isoformat(),
            "subject_pseudonym": self.subject_pseudonym,
            "requirements": self.requirements,
            "reasons": list(self.reasons),
            "passes": self.passes,
        }


@dataclass(frozen=True)
class DestructionPreview:
    """What answering a destruction request would destroy: counts, never values.

    `counts` has every category the request reaches (records in both tiers, 0 included);
    `holds` the categories a live legal hold keeps ({category: hold id}), with each hold's
    reason in `hold_reasons`; the rest is destroyed.
    """

    request_id: str
    policy_id: str
    subject_pseudonym: str
    counts: dict[str, int]
    holds: dict[str, str] = field(default_factory=dict)
    hold_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def to_destroy(self) -> tuple[str, ...]:
        return tuple(c for c in self.counts if c not in self.holds)

    @property
    def records(self) -> int:
        """Records that would be destroyed now."""
        return sum(self.counts[c] for c in self.to_destroy)

    @property
    def records_held(self) -> int:
        return sum(n for c, n in self.counts.items() if c in self.holds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "policy_id": self.policy_id,
            "subject_pseudonym": self.subject_pseudonym,
            "categories": [
                {"category": c, "records": n, "hold": self.holds.get(c)}
                for c, n in self.counts.items()
            ],
            "records_destroyed": self.records,
            "records_held": self.records_held,
            "holds": {h: self.hold_reasons.get(h, "") for h in sorted(set(self.holds.values()))},
        }
