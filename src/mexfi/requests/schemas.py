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
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    REJECTED = "rejected"


TERMINAL_STATES = frozenset({RequestState.ANSWERED, RequestState.REJECTED})


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

    def overdue(self, now: datetime) -> bool:
        """Open past its due instant, or answered after it."""
        if self.state is RequestState.REJECTED:
            return False
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
        }
        if now is not None:
            data["overdue"] = self.overdue(now)
        return data


@dataclass(frozen=True)
class Answer:
    """The answer to a request: machine-readable `data` (JSON-ready) for the letter."""

    request: RequestRead
    data: dict[str, Any]
