"""Consent and choices (issue 13): the consent ledger, its current state, push preferences.

Every choice a person makes about a notice of a policy (accepting a policy version, a
cookie category, a notification type, a purpose, the geolocation switch) is appended to
the ledger: append-only, hash-chained, each call anchored by one entry in the signed
audit log (`chain` says how). Identities are pseudonyms the vault makes (`ps_…` for a
subject, `DEVICE_…` for a device): this capability never sees a plain identity and does
not import the vault. A withdrawal is a new entry. The current state of every holder is
kept in `consent_state` for fast reads and can be rebuilt from the ledger at any time.

    MexfiError
    ├── Invalid
    │   ├── UnknownNotice         a notice the policy does not declare
    │   ├── HolderNotPseudonymous a holder that is not the vault's pseudonym
    │   └── ConsentNotAnchored    no audit log to anchor the entries in
    └── Conflict
        └── ConsentLedgerBroken   the ledger's head row is missing while entries exist

Modules: `schemas` (the vocabulary, entries, reports), `models` (tables), `chain` (the
canonical forms hashed, the audit anchor), `service` (recording, reading, push checks,
refusal counts, rebuilding, verifying), `versions` and `version_models` (every version
of each policy, who has not accepted the current one and telling them, the notices served;
its subject lists take the vault as an argument). The HTTP router is `views` (not imported
here).
"""

from mexfi.consent.errors import (
    ConsentLedgerBroken,
    ConsentNotAnchored,
    HolderNotPseudonymous,
    UnknownNotice,
)
from mexfi.consent.models import (
    ConsentHead,
    ConsentLedgerEntry,
    ConsentRefusal,
    ConsentStateRow,
)
from mexfi.consent.schemas import (
    Choice,
    ChoiceInput,
    ConsentEntry,
    ConsentState,
    HolderKind,
    LedgerProblem,
    LedgerProblemKind,
    LedgerVerification,
    Method,
    NoticeKind,
    RefusalCount,
    Source,
)
from mexfi.consent.service import (
    GEOLOCATION_NOTICE,
    NOTIFICATION_NOT_ALLOWED,
    PushSender,
    can_notify,
    count_refusal,
    current_choices,
    current_state,
    is_allowed,
    ledger_entries,
    notification_preferences,
    rebuild_state,
    record_acceptances,
    record_choices,
    refusal_counts,
    send_notification,
    verify_ledger,
)
from mexfi.consent.version_models import (
    NoticeText,
    PolicyChangeNotification,
    PolicyVersion,
    PolicyVersionNotice,
    ServedNotice,
)
from mexfi.consent.versions import (
    NOTICE_SENDER_VARIABLE,
    POLICY_SECTIONS,
    VERSION_PATTERN,
    ConsoleNoticeSender,
    ElementChange,
    NoticeNotSent,
    NoticeSender,
    NotifyReport,
    PendingReport,
    PendingSubject,
    PolicyChangeMessage,
    PolicyDiff,
    PolicyVersionConflict,
    PolicyVersionNotFound,
    PolicyVersionRead,
    SectionDiff,
    ServedNoticeKind,
    ServedNoticeNotFound,
    ServedNoticeRead,
    ToldSubject,
    UnknownNoticeSender,
    accept_version,
    canonical_policy,
    cookie_revision,
    current_version,
    diff_versions,
    get_version,
    governing_version,
    list_versions,
    notice_sender,
    notify_pending,
    pending_subjects,
    register_policy_version,
    register_policy_versions,
    serve_notice,
    served_notice,
    served_notice_text,
    version_notice,
)

__all__ = [
    "GEOLOCATION_NOTICE",
    "NOTICE_SENDER_VARIABLE",
    "NOTIFICATION_NOT_ALLOWED",
    "POLICY_SECTIONS",
    "VERSION_PATTERN",
    "Choice",
    "ChoiceInput",
    "ConsentEntry",
    "ConsentHead",
    "ConsentLedgerBroken",
    "ConsentLedgerEntry",
    "ConsentNotAnchored",
    "ConsentRefusal",
    "ConsentState",
    "ConsentStateRow",
    "ConsoleNoticeSender",
    "ElementChange",
    "HolderKind",
    "HolderNotPseudonymous",
    "LedgerProblem",
    "LedgerProblemKind",
    "LedgerVerification",
    "Method",
    "NoticeKind",
    "NoticeNotSent",
    "NoticeSender",
    "NoticeText",
    "NotifyReport",
    "PendingReport",
    "PendingSubject",
    "PolicyChangeMessage",
    "PolicyChangeNotification",
    "PolicyDiff",
    "PolicyVersion",
    "PolicyVersionConflict",
    "PolicyVersionNotFound",
    "PolicyVersionNotice",
    "PolicyVersionRead",
    "PushSender",
    "RefusalCount",
    "SectionDiff",
    "ServedNotice",
    "ServedNoticeKind",
    "ServedNoticeNotFound",
    "ServedNoticeRead",
    "Source",
    "ToldSubject",
    "UnknownNotice",
    "UnknownNoticeSender",
    "accept_version",
    "can_notify",
    "canonical_policy",
    "cookie_revision",
    "count_refusal",
    "current_choices",
    "current_state",
    "current_version",
    "diff_versions",
    "get_version",
    "governing_version",
    "is_allowed",
    "ledger_entries",
    "list_versions",
    "notice_sender",
    "notification_preferences",
    "notify_pending",
    "pending_subjects",
    "rebuild_state",
    "record_acceptances",
    "record_choices",
    "refusal_counts",
    "register_policy_version",
    "register_policy_versions",
    "send_notification",
    "serve_notice",
    "served_notice",
    "served_notice_text",
    "verify_ledger",
    "version_notice",
]
