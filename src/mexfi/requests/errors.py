"""Errors of the data-subject requests. Messages name ids, kinds and clauses, never values.

MexfiError
├── NotFound
│   └── RequestNotFound
├── Conflict
│   ├── RequestStateConflict   the request is not in a state that allows the step
│   └── NoPhoneOnRecord        no registered phone to send a code to: verify out of band
├── Invalid
│   ├── InvalidRequest         a request that lacks what its kind needs
│   └── UnknownCodeSender      MEXFI_CODE_SENDER names no sender
├── Denied
│   ├── RightNotOffered        the subject's policy does not list the right
│   ├── VerificationFailed     a wrong or expired code, or none sent (the attempt is kept)
│   ├── VerificationDenied     the actor's role may not verify (out of band: the DPO only)
│   └── TooManyCodes           the codes a subject or phone may get an hour are spent
└── Unavailable
    ├── LetterUnavailable      the PDF library or its fonts are missing
    └── CodeNotSent            the sender (an SMS gateway) did not take the code
"""

from __future__ import annotations

from datetime import datetime

from mexfi.errors import Conflict, Denied, Invalid, NotFound, Unavailable

__all__ = [
    "CodeNotSent",
    "InvalidRequest",
    "LetterUnavailable",
    "NoPhoneOnRecord",
    "RequestNotFound",
    "RequestStateConflict",
    "RightNotOffered",
    "TooManyCodes",
    "UnknownCodeSender",
    "VerificationDenied",
    "VerificationFailed",
]


class RequestNotFound(NotFound):
    """No request with that id."""


class RequestStateConflict(Conflict):
    """The request's state does not allow the step (e.g. answering a rejected request)."""


class InvalidRequest(Invalid):
    """A request that lacks what its kind needs (a record to rectify, a language, ...)."""


class RightNotOffered(Denied):
    """The subject's policy does not list the right this request exercises."""

    def __init__(
        self, message: str, *, policy_id: str, right: str, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.policy_id = policy_id
        self.right = right


class LetterUnavailable(Unavailable):
    """A letter cannot be rendered as PDF: fpdf2 or the DejaVu fonts are missing."""


class NoPhoneOnRecord(Conflict):
    """The store holds no phone of the subject (none registered, or destroyed): no code can be
    sent, and the request is verified out of band."""


class UnknownCodeSender(Invalid):
    """`MEXFI_CODE_SENDER` (or the sender asked for) names no known sender."""


class VerificationFailed(Denied):
    """A code that does not verify the request: wrong, expired, or none sent.

    `reason` is a code (`code_wrong`, `code_expired`, `no_code`); `attempts_left` the wrong
    codes the request may still take (0: it is locked). The attempt is on record even when
    the caller's unit of work rolls back.
    """

    def __init__(
        self, message: str, *, reason: str, attempts_left: int, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
        self.attempts_left = attempts_left


class VerificationDenied(Denied):
    """The actor's role may not take this verification step: codes are sent and entered by
    the roles of the subject-request purpose; an out-of-band check is the DPO's."""


class TooManyCodes(Denied):
    """A subject, or a phone's blind-index bucket, has had all the codes it may have in the
    window; `retry_at` is when the next one may go."""

    def __init__(self, message: str, *, retry_at: datetime, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_at = retry_at


class CodeNotSent(Unavailable):
    """The sender did not take the code (an SMS gateway down, refusing): nothing is stored."""
