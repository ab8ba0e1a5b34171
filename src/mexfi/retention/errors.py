"""Errors of the retention engine.

MexfiError
├── NotFound
│   └── HoldNotFound
└── Conflict
    └── UnderLegalHold     data a request or rule would destroy is held
"""

from __future__ import annotations

from mexfi.errors import Conflict, NotFound

__all__ = ["HoldNotFound", "UnderLegalHold"]


class HoldNotFound(NotFound):
    """No legal hold with that id."""


class UnderLegalHold(Conflict):
    """The data is under a legal hold: it is neither destroyed nor tiered until lifted."""
