"""The error tree every capability subclasses.

    MexfiError
    ├── NotFound        something named by id does not exist
    ├── Conflict        the request clashes with the current state
    ├── Invalid         input is malformed or breaks a declared rule
    ├── Denied          the policy forbids the operation
    └── Unavailable     a dependency (store, key) cannot be reached

Messages name ids, clause ids and field names, never personal values: an
exception travels into logs, HTTP responses and the audit trail.
"""

from __future__ import annotations

__all__ = ["Conflict", "Denied", "Invalid", "MexfiError", "NotFound", "Unavailable"]


class MexfiError(Exception):
    """Base of every error mexfi raises on purpose."""

    #: What the user can do about it; printed by the CLI and API after the message.
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class NotFound(MexfiError):
    """Something named by id does not exist."""


class Conflict(MexfiError):
    """The request clashes with the current state."""


class Invalid(MexfiError):
    """Input is malformed or breaks a declared rule."""


class Denied(MexfiError):
    """The policy forbids the operation."""


class Unavailable(MexfiError):
    """A dependency (store, key) cannot be reached."""
