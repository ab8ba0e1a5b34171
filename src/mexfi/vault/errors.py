"""Errors of the vault. Messages name ids, categories, fields and clauses, never values.

MexfiError
├── NotFound
│   ├── SubjectNotFound
│   └── RecordNotFound
├── Invalid
│   ├── UndeclaredData      a field or category the policy does not declare
│   ├── InvalidValue        a value of the wrong shape for its declared type
│   ├── CardDataRefused     a card number or security code in the input (TX-14, TX-15)
│   └── DecryptionFailed    (crypto.py)
└── Denied
    ├── PurposeDenied       a read or write outside what the policy allows
    │   └── LocationRefused     a location ping outside what TX-12 allows (geolocation.py)
    │       ├── NoAppSession            no open app session covers it
    │       ├── NoActiveOrder           no open order covers it (window `order`)
    │       └── LocationCollectionOff   the subject's geolocation switch is off
    ├── DisclosureDenied    a disclosure outside the recipient register
    └── ActionDenied        an action (block, destroy, consent, order) the role is not granted
"""

from __future__ import annotations

from mexfi.errors import Denied, Invalid, NotFound

__all__ = [
    "ActionDenied",
    "CardDataRefused",
    "DisclosureDenied",
    "InvalidValue",
    "LocationCollectionOff",
    "LocationRefused",
    "NoActiveOrder",
    "NoAppSession",
    "PurposeDenied",
    "RecordNotFound",
    "SubjectNotFound",
    "UndeclaredData",
]


class SubjectNotFound(NotFound):
    """No subject with that id in that policy."""


class RecordNotFound(NotFound):
    """No record with that id."""


class UndeclaredData(Invalid):
    """A category or field that the subject's policy does not declare."""


class InvalidValue(Invalid):
    """A value that does not fit its declared field type."""


class CardDataRefused(Invalid):
    """Input carrying a payment card number or security code; it is never stored."""

    clauses = ("TX-14", "TX-15")


class PurposeDenied(Denied):
    """The policy does not allow this purpose, role, category or subject state."""

    def __init__(self, message: str, *, reason: str, clauses: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.clauses = clauses


class LocationRefused(PurposeDenied):
    """A location ping outside the window or the switch of the policy's `geolocation`
    (TX-12): nothing of the write is stored. The code names which; never a coordinate."""


class NoAppSession(LocationRefused):
    """No app session of the subject was open when the ping was taken (window `app_in_use`)."""


class NoActiveOrder(LocationRefused):
    """No order of the driver was open when the ping was taken (window `order`)."""


class LocationCollectionOff(LocationRefused):
    """The subject has switched location collection off in the app (TX-12)."""


class DisclosureDenied(Denied):
    """The recipient, purpose or basis is outside the policy's register of recipients."""

    def __init__(self, message: str, *, reason: str, clauses: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.clauses = clauses


class ActionDenied(Denied):
    """The actor's role is not granted this action on a subject by the policy."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        clauses: tuple[str, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
        self.clauses = clauses
