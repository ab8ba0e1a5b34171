"""Errors of the data-subject requests. Messages name ids, kinds and clauses, never values.

MexfiError
├── NotFound
│   └── RequestNotFound
├── Conflict
│   └── RequestStateConflict   the request is not in a state that allows the step
├── Invalid
│   └── InvalidRequest         a request that lacks what its kind needs
├── Denied
│   └── RightNotOffered        the subject's policy does not list the right
└── Unavailable
    └── LetterUnavailable      the PDF library or its fonts are missing
"""

from __future__ import annotations

from mexfi.errors import Conflict, Denied, Invalid, NotFound, Unavailable

__all__ = [
    "InvalidRequest",
    "LetterUnavailable",
    "RequestNotFound",
    "RequestStateConflict",
    "RightNotOffered",
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
