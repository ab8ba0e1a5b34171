"""The audit log: append-only, hash-chained, signed (TX-1.7 – 1.11, TX-3.4, TX-4.2).

Every operation on personal data is recorded as an `AuditEvent` inside the
caller's records transaction, so data and audit commit together. Entries carry
pseudonyms and codes, never personal values; `verify_log` names any entry that
was edited, deleted, inserted, replaced or reordered, a truncated tail, and a
chain rewritten after a signed checkpoint.

    MexfiError
    ├── Invalid
    │   └── AuditValueRefused
    └── Conflict
        └── AuditLogBroken
"""

from mexfi.audit.errors import AuditLogBroken, AuditValueRefused
from mexfi.audit.models import (
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    protect_audit_tables,
)
from mexfi.audit.schemas import (
    AuditAction,
    AuditCheckpointRead,
    AuditEntryRead,
    AuditEvent,
    AuditOutcome,
    TamperKind,
    TamperProblem,
    VerifyReport,
    personal_data_kind,
)
from mexfi.audit.service import (
    AuditLog,
    checkpoint_message,
    entry_hash,
    key_fingerprint,
    read_entries,
    verify_log,
)

__all__ = [
    "AuditAction",
    "AuditCheckpoint",
    "AuditCheckpointRead",
    "AuditEntry",
    "AuditEntryRead",
    "AuditEvent",
    "AuditHead",
    "AuditLog",
    "AuditLogBroken",
    "AuditOutcome",
    "AuditValueRefused",
    "TamperKind",
    "TamperProblem",
    "VerifyReport",
    "checkpoint_message",
    "entry_hash",
    "key_fingerprint",
    "personal_data_kind",
    "protect_audit_tables",
    "read_entries",
    "verify_log",
]
