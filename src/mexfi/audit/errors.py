"""Errors of the audit capability.

    MexfiError
    ├── Invalid
    │   └── AuditValueRefused   an audit field looks like it carries personal data
    └── Conflict
        └── AuditLogBroken      the log's head is gone or behind: appending would fork it

Messages name the field or the entry's sequence number, never a value.
"""

from __future__ import annotations

from mexfi.errors import Conflict, Invalid

__all__ = ["AuditLogBroken", "AuditValueRefused"]


class AuditValueRefused(Invalid):
    """An audit field is malformed or looks like personal data; the message names the field."""

    def __init__(self, message: str, *, field: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class AuditLogBroken(Conflict):
    """The audit log cannot be appended to safely: its head row is missing or disagrees."""
