"""Errors of the consent ledger.

MexfiError
├── Invalid
│   ├── UnknownNotice          a notice (notification type, cookie category, purpose) the
│   │                          policy does not declare
│   ├── HolderNotPseudonymous  a holder given that is not the vault's pseudonym
│   └── ConsentNotAnchored     no audit log to anchor the ledger entries in
└── Conflict
    └── ConsentLedgerBroken    the ledger's head row is missing while entries exist
"""

from __future__ import annotations

from mexfi.errors import Conflict, Invalid

__all__ = [
    "ConsentLedgerBroken",
    "ConsentNotAnchored",
    "HolderNotPseudonymous",
    "UnknownNotice",
]


class UnknownNotice(Invalid):
    """The policy declares no such notice."""


class HolderNotPseudonymous(Invalid):
    """A holder must be the vault's pseudonym: the ledger never holds an identity."""


class ConsentNotAnchored(Invalid):
    """A choice was to be recorded with no audit log to anchor it in."""


class ConsentLedgerBroken(Conflict):
    """The ledger cannot be appended to safely (its head row is gone while entries exist)."""
