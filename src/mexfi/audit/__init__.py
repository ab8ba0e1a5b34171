"""The audit log: append-only, hash-chained, signed (TX-1.7 – 1.11, TX-3.4, TX-4.2).

Every operation on personal data is recorded as an `AuditEvent` inside the
caller's records transaction, so data and audit commit together; each commit
ends with a signed checkpoint, chained to the previous one, and repeats it in an
anchor file outside the database. Entries carry pseudonyms and codes, never
personal values. `verify_log` needs only the public key and names any entry that
was edited, deleted, inserted, replaced, reordered or appended, a truncated or
rolled-back tail, deleted or forged checkpoints and anchor lines, and a subject
index that hides entries.

    MexfiError
    ├── Invalid
    │   └── AuditValueRefused
    └── Conflict
        └── AuditLogBroken

Modules: `schemas` (events, templates, reports), `models` (tables), `chain` (the
canonical forms hashed and signed), `service` (appending, checkpoints at commit,
reading), `anchor` (the anchor file), `verify` (verification).
"""

from mexfi.audit.anchor import AuditAnchor, default_anchor_path
from mexfi.audit.chain import checkpoint_digest, checkpoint_message, entry_hash, key_fingerprint
from mexfi.audit.errors import AuditLogBroken, AuditValueRefused
from mexfi.audit.models import (
    AuditCheckpoint,
    AuditEntry,
    AuditEntrySubject,
    AuditHead,
    protect_audit_tables,
)
from mexfi.audit.schemas import (
    AuditAction,
    AuditCheckpointRead,
    AuditEntryRead,
    AuditEvent,
    AuditOutcome,
    AuditTemplate,
    TamperKind,
    TamperProblem,
    VerifyReport,
    personal_data_kind,
)
from mexfi.audit.service import AuditLog, latest_checkpoint, read_entries
from mexfi.audit.verify import verify_log

__all__ = [
    "AuditAction",
    "AuditAnchor",
    "AuditCheckpoint",
    "AuditCheckpointRead",
    "AuditEntry",
    "AuditEntryRead",
    "AuditEntrySubject",
    "AuditEvent",
    "AuditHead",
    "AuditLog",
    "AuditLogBroken",
    "AuditOutcome",
    "AuditTemplate",
    "AuditValueRefused",
    "TamperKind",
    "TamperProblem",
    "VerifyReport",
    "checkpoint_digest",
    "checkpoint_message",
    "default_anchor_path",
    "entry_hash",
    "key_fingerprint",
    "latest_checkpoint",
    "personal_data_kind",
    "protect_audit_tables",
    "read_entries",
    "verify_log",
]
