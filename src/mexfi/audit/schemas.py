"""What goes into the audit log (`AuditEvent`) and what comes out (`AuditEntryRead`, reports).

An audit event records an operation on personal data (TX-1.7 – 1.11) without
carrying any: the subject appears only as a pseudonym, and every free-text
field is screened for e-mail addresses, phone numbers, card numbers and long
blobs. A refused field is named in the error, its value never.

A batch entry (one per batch and rule, written by the retention engine) names its
subjects in `subjects`, pseudonym → records, instead of one entry per subject.

System-generated events share everything but their time, subjects, count and
reference: an `AuditTemplate` screens the shared part once, and its `event()` checks
only the shape of the rest (an aware time, pseudonyms, counts, an id), which costs a
few microseconds instead of the full screen's ~50.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from mexfi.audit.errors import AuditValueRefused
from mexfi.scan import default_scanner, find_card_numbers

__all__ = [
    "AuditAction",
    "AuditCheckpointRead",
    "AuditEntryRead",
    "AuditEvent",
    "AuditOutcome",
    "AuditTemplate",
    "SubjectCounts",
    "TamperKind",
    "TamperProblem",
    "VerifyReport",
    "personal_data_kind",
]


class AuditAction(StrEnum):
    """The operations the audit log records (TX-1.7 – 1.11 and the workflows around them)."""

    CREATE = "create"  # recording
    READ = "read"
    UPDATE = "update"  # clarifying, changing, rectifying
    BLOCK = "block"  # TX-1.10: temporary stop of processing
    UNBLOCK = "unblock"
    DELETE = "delete"
    DEPERSONALIZE = "depersonalize"
    DESTROY = "destroy"  # TX-1.11: irreversible (crypto-shredding)
    DISCLOSE = "disclose"  # transferring to a recipient
    EXPORT = "export"  # an access request answered with the subject's data
    DENY = "deny"  # an operation the policy forbids
    REFUSE = "refuse"  # input refused (undeclared field, card number, …)
    TIER = "tier"  # moved to the passive tier (BK-3.3)
    QUARANTINE = "quarantine"  # a record that would not open, moved aside with its evidence
    RESTORE = "restore"
    REQUEST = "request"  # a data-subject request received or answered
    CONSENT = "consent"
    WITHDRAW = "withdraw"  # consent withdrawn
    KEY_ROTATE = "key_rotate"  # a master key added, the data keys rewrapped under it
    KEY_RETIRE = "key_retire"  # a superseded master key destroyed (removed from the key file)
    REGISTER = "register"
    ORDER_OPEN = "order_open"  # TX-13: an order starts; its customer may see the driver
    ORDER_CLOSE = "order_close"
    API_KEY_CREATE = "api_key_create"  # an API key made (its id, never the key)
    API_KEY_REVOKE = "api_key_revoke"
    SESSION = "session"  # a data subject's sign-in: code sent, wrong, locked, started, ended


class AuditOutcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    REFUSED = "refused"


# --- the personal-data screen -------------------------------------------------------------

#: Longest value of an id-like field (actor, role, purpose, policy, subject, reference, category).
MAX_ID_LENGTH = 255
#: Longest `reason`: a code or a short fixed sentence.
MAX_REASON_LENGTH = 1000
#: Longest whitespace-separated run anywhere: longer is a blob (a document, a base64 photo).
MAX_RUN_LENGTH = 200

_EMAIL_RE = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[A-Za-z]{2,}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Masked before the phone check: ids and timestamps are digit-rich but not personal.
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# mexfi's own ids (`new_id()`: 32 lowercase hex digits) and hex digests standing alone;
# one id in ~3.4 million is all decimal digits, and that is still an id, not a phone.
_ID_RE = re.compile(r"(?<![0-9A-Za-z_])(?:[0-9a-f]{32}|[0-9a-f]{64})(?![0-9A-Za-z_])")
# The vault's master-key ids (`mexfi.secrets`): "mk-", the day it was made, 8 hex digits.
# Exactly that: a real date (2000-2099) and nothing glued on either side, so a phone number
# cannot pass for one.
_MASTER_KEY_ID_RE = re.compile(
    r"(?<![0-9A-Za-z_-])mk-20\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-[0-9a-f]{8}"
    r"(?![0-9A-Za-z_-])"
)
_ISO_TIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
# A run of 7+ digits standing on its own: digits glued to letters or `_` belong to an id
# (hex digests, base32 pseudonyms, `rec_1234567`) and are left alone.
_DIGIT_RUN_RE = re.compile(r"(?<![A-Za-z0-9_])\d{7,}(?![A-Za-z0-9_])")
# Three or more short digit groups split by spaces, dashes or parentheses: +994 (50) 123-45-67.
_GROUPED_RE = re.compile(
    r"(?<![A-Za-z0-9_])(?:\+\s?)?\(?\d{1,4}\)?(?:(?:[ \-]{1,2}|\)\s?|\s?\()\(?\d{1,4}\)?){2,}"
    r"(?![A-Za-z0-9_])"
)


def _in_hex_id(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] lies inside a hex id (a digest, a uuid.hex, a pseudonym's tail)."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    token = text[start:end].lower()
    return len(token) >= 16 and not token.isdigit() and all(c in "0123456789abcdef" for c in token)


def _card_like(text: str) -> bool:
    # A hex digest holds a Luhn-valid 13+ digit run now and then: that is no card number.
    masked = _MASTER_KEY_ID_RE.sub(" ", _ID_RE.sub(" ", _UUID_RE.sub(" ", text)))
    return any(not _in_hex_id(masked, hit.start, hit.end) for hit in find_card_numbers(masked))


def _phone_like(text: str) -> bool:
    masked = _ISO_TIME_RE.sub(
        " ", _MASTER_KEY_ID_RE.sub(" ", _ID_RE.sub(" ", _UUID_RE.sub(" ", text)))
    )
    if _DIGIT_RUN_RE.search(masked):
        return True
    return any(
        sum(c.isdigit() for c in match.group(0)) >= 7 for match in _GROUPED_RE.finditer(masked)
    )


def personal_data_kind(text: str) -> str | None:
    """What kind of personal data `text` seems to carry ("e-mail address", …), or None."""
    if any(len(run) > MAX_RUN_LENGTH for run in text.split()):
        return f"a run of more than {MAX_RUN_LENGTH} characters"
    if _EMAIL_RE.search(text):
        return "an e-mail address"
    if _card_like(text):
        return "a card number"
    if _phone_like(text):
        return "a phone-like number of 7 or more digits"
    return None


@functools.lru_cache(maxsize=4096)
def scanned_types(text: str) -> tuple[str, ...]:
    """The entity types the project's scanner (all twelve) finds in `text`; memoised, since
    reasons and actors repeat."""
    return tuple(sorted({entity.type for entity in default_scanner().scan(text)}))


def _check_text(
    name: str, value: object, *, required: bool, max_length: int, scan: bool = False
) -> str | None:
    if value is None:
        if required:
            raise AuditValueRefused(f"audit field {name!r} is required", field=name)
        return None
    if not isinstance(value, str):
        raise AuditValueRefused(f"audit field {name!r} must be a string", field=name)
    if required and not value.strip():
        raise AuditValueRefused(f"audit field {name!r} must not be empty", field=name)
    if len(value) > max_length:
        raise AuditValueRefused(
            f"audit field {name!r} is longer than {max_length} characters", field=name
        )
    if _CONTROL_RE.search(value):
        raise AuditValueRefused(f"audit field {name!r} contains control characters", field=name)
    kind = personal_data_kind(value)
    if kind is not None:
        raise AuditValueRefused(
            f"audit field {name!r} looks like it carries personal data ({kind})",
            field=name,
            hint="the audit log takes codes and ids only: put the subject's pseudonym in "
            "'subject', an id in 'reference' and a fixed reason code in 'reason'",
        )
    # Free text (a reason, an actor) also goes through the scanner: names, FINs, plates…
    found = scanned_types(value) if scan else ()
    if found:
        raise AuditValueRefused(
            f"audit field {name!r} carries personal data ({', '.join(found)})",
            field=name,
            hint="the audit log is never erased: give ids and reason codes, not names, "
            "numbers or plates",
        )
    return value


def _check_codes(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise AuditValueRefused(f"audit field {name!r} must be a tuple of strings", field=name)
    for item in value:
        _check_text(name, item, required=True, max_length=MAX_ID_LENGTH)
    return tuple(value)


#: The vault's pseudonyms (`mexfi.vault.crypto.pseudonym`): "ps_" and 24 hex digits.
PSEUDONYM_RE = re.compile(r"ps_[0-9a-f]{24}")


class SubjectCounts(Mapping[str, int]):
    """A read-only {pseudonym: records} mapping with sorted keys; hashable, like the event."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, int] | None = None) -> None:
        self._items: dict[str, int] = dict(sorted(items.items())) if items else {}

    def __getitem__(self, key: str) -> int:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"SubjectCounts({len(self._items)} subjects)"


NO_SUBJECTS = SubjectCounts()


def _refuse_subjects(message: str) -> AuditValueRefused:
    return AuditValueRefused(
        f"audit field 'subjects' {message}",
        field="subjects",
        hint="'subjects' maps the vault's pseudonyms (ps_ and 24 hex digits) to record counts",
    )


def _check_subjects(value: object) -> SubjectCounts:
    if isinstance(value, SubjectCounts):
        return value
    if not isinstance(value, Mapping):
        raise _refuse_subjects("must map pseudonyms to record counts")
    for subject, count in value.items():
        if not isinstance(subject, str) or PSEUDONYM_RE.fullmatch(subject) is None:
            raise _refuse_subjects("holds a key that is not a pseudonym")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise _refuse_subjects("holds a count that is not a non-negative integer")
    return SubjectCounts(value) if value else NO_SUBJECTS


def _aware_utc(at: object) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise AuditValueRefused("audit field 'at' must be a timezone-aware datetime", field="at")
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def _check_count(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise AuditValueRefused("audit field 'count' must be a non-negative integer", field="count")
    return count


def _check_pseudonym(subject: object) -> str:
    if not isinstance(subject, str) or PSEUDONYM_RE.fullmatch(subject) is None:
        raise AuditValueRefused(
            "audit field 'subject' must be a pseudonym (ps_ and 24 hex digits)", field="subject"
        )
    return subject


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One operation to record; validated on construction, so a bad event never reaches the log."""

    action: AuditAction
    at: datetime
    actor_id: str
    actor_role: str
    outcome: AuditOutcome = AuditOutcome.OK
    purpose: str | None = None
    policy_id: str | None = None
    #: The subject's pseudonym, never the raw id or any personal value.
    subject: str | None = None
    categories: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    #: How many records the operation touched.
    count: int = 1
    #: A code or a short fixed sentence, e.g. "purpose_not_declared".
    reason: str | None = None
    #: An id: request id, rule id, record id, recipient id.
    reference: str | None = None
    #: A batch entry's subjects: pseudonym → how many of their records it touched.
    subjects: Mapping[str, int] = NO_SUBJECTS

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        try:
            put("action", AuditAction(self.action))
        except ValueError:
            raise AuditValueRefused(
                "audit field 'action' is not a known action", field="action"
            ) from None
        try:
            put("outcome", AuditOutcome(self.outcome))
        except ValueError:
            raise AuditValueRefused(
                "audit field 'outcome' is not a known outcome", field="outcome"
            ) from None
        put("at", _aware_utc(self.at))
        _check_text("actor_id", self.actor_id, required=True, max_length=MAX_ID_LENGTH, scan=True)
        _check_text("actor_role", self.actor_role, required=True, max_length=MAX_ID_LENGTH)
        for name in ("purpose", "policy_id", "subject", "reference"):
            _check_text(name, getattr(self, name), required=False, max_length=MAX_ID_LENGTH)
        _check_text("reason", self.reason, required=False, max_length=MAX_REASON_LENGTH, scan=True)
        put("categories", _check_codes("categories", self.categories))
        put("clauses", _check_codes("clauses", self.clauses))
        _check_count(self.count)
        put("subjects", _check_subjects(self.subjects))


# --- templates: system events screened once ------------------------------------------------

_new_event = AuditEvent.__new__
_set = object.__setattr__
_UNSET: Any = object()
#: An id that certainly carries no personal data: no space or `@`, at most 200 characters
#: (one run, below the blob limit), no 7 digits in a row, no digits split by separators
#: (a phone, a card, a date). Anything else goes through the full screen.
_PLAIN_ID_RE = re.compile(r"[A-Za-z0-9_.:/-]{1,200}")
_SUSPECT_DIGITS_RE = re.compile(r"\d{7}|\d[-.:/]+\d")
#: Also certainly an id: a hex digest (a letter among its digits) after an optional word
#: prefix (`rec_…`), or a uuid; the full screen exempts both, whatever digits they hold.
_HEX_ID_RE = re.compile(r"(?:[A-Za-z]{1,16}_)?([0-9a-f]{16,64})")


def _plainly_an_id(value: str) -> bool:
    """True only for values the full screen accepts too; False means: screen it in full."""
    if _PLAIN_ID_RE.fullmatch(value) is not None and _SUSPECT_DIGITS_RE.search(value) is None:
        return True
    hexed = _HEX_ID_RE.fullmatch(value)
    if hexed is not None and not hexed.group(1).isdigit():
        return True
    return _UUID_RE.fullmatch(value) is not None


#: References screened by a template are remembered, up to this many.
_REFERENCE_MEMO = 4096


@dataclass(frozen=True, slots=True)
class AuditTemplate:
    """The fixed part of system-generated events, screened once; `event()` adds the rest.

    Events made by `event()` are the same as `AuditEvent(...)` with these fields, but
    only their time, subject(s), count and reference are checked, and by shape.
    """

    action: AuditAction
    actor_id: str
    actor_role: str
    outcome: AuditOutcome = AuditOutcome.OK
    purpose: str | None = None
    policy_id: str | None = None
    categories: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    reason: str | None = None
    #: The events' reference unless `event()` is given another.
    reference: str | None = None
    _screened: dict[str, None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        # The full screen, once: a probe event normalises and checks every shared field.
        probe = AuditEvent(
            action=self.action,
            at=datetime(2000, 1, 1, tzinfo=UTC),
            actor_id=self.actor_id,
            actor_role=self.actor_role,
            outcome=self.outcome,
            purpose=self.purpose,
            policy_id=self.policy_id,
            categories=self.categories,
            clauses=self.clauses,
            reason=self.reason,
            reference=self.reference,
        )
        for name in ("action", "outcome", "categories", "clauses"):
            _set(self, name, getattr(probe, name))

    def _reference(self, value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise AuditValueRefused("audit field 'reference' must be a string", field="reference")
        if value in self._screened:
            return value
        if not _plainly_an_id(value):
            _check_text("reference", value, required=False, max_length=MAX_ID_LENGTH)
        if len(self._screened) >= _REFERENCE_MEMO:
            self._screened.clear()
        self._screened[value] = None
        return value

    def event(
        self,
        *,
        at: datetime,
        subject: str | None = None,
        subjects: Mapping[str, int] | None = None,
        count: int = 1,
        reference: str | None = _UNSET,
    ) -> AuditEvent:
        """An event of this template at `at`; refused (by field name) if a value is malformed."""
        at = _aware_utc(at)
        if subject is not None:
            _check_pseudonym(subject)
        counts = _check_subjects(subjects) if subjects else NO_SUBJECTS
        _check_count(count)
        ref = self.reference if reference is _UNSET else self._reference(reference)
        event = _new_event(AuditEvent)
        _set(event, "action", self.action)
        _set(event, "at", at)
        _set(event, "actor_id", self.actor_id)
        _set(event, "actor_role", self.actor_role)
        _set(event, "outcome", self.outcome)
        _set(event, "purpose", self.purpose)
        _set(event, "policy_id", self.policy_id)
        _set(event, "subject", subject)
        _set(event, "categories", self.categories)
        _set(event, "clauses", self.clauses)
        _set(event, "count", count)
        _set(event, "reason", self.reason)
        _set(event, "reference", ref)
        _set(event, "subjects", counts)
        return event


# --- what comes out -------------------------------------------------------------------------


class _ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class AuditEntryRead(_ReadModel):
    """One stored entry of the log, with its place in the hash chain."""

    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    action: AuditAction
    outcome: AuditOutcome
    purpose: str | None = None
    policy_id: str | None = None
    subject: str | None = None
    categories: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    count: int = 1
    reason: str | None = None
    reference: str | None = None
    prev_hash: str
    hash: str
    #: A batch entry's subjects, pseudonym → records; empty for other entries.
    subjects: dict[str, int] = {}

    @field_validator("categories", "clauses", mode="before")
    @classmethod
    def _decode_codes(cls, value: Any) -> Any:
        # Stored as compact JSON text: the hash covers exactly that text.
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("subjects", mode="before")
    @classmethod
    def _decode_subjects(cls, value: Any) -> Any:
        if value is None:
            return {}
        return json.loads(value) if isinstance(value, str) else value


class AuditCheckpointRead(_ReadModel):
    """A signed statement that entry `seq` had hash `entry_hash`, signed at `at`.

    `ordinal`, `prev_digest` and `max_gap` are None for legacy checkpoints, whose `at` is
    the entry's time.
    """

    seq: int
    entry_hash: str
    at: datetime
    signature: str
    key_fingerprint: str
    ordinal: int | None = None
    prev_digest: str | None = None
    max_gap: int | None = None


class TamperKind(StrEnum):
    """How the stored log departs from what the audit service wrote."""

    EDITED = "edited"  # contents no longer match the entry's hash
    DELETED = "deleted"  # a gap in the sequence
    INSERTED = "inserted"  # an entry the chain does not lead to (or a copy, or past the head)
    REPLACED = "replaced"  # an entry swapped for another with a recomputed hash
    REORDERED = "reordered"  # an entry hashed under another sequence number
    TRUNCATED = "truncated"  # entries missing at the end (head, checkpoint or anchor goes further)
    APPENDED = "appended"  # entries after the last checkpoint: no commit of the service made them
    BAD_SIGNATURE = "bad_signature"  # a checkpoint not signed by the given key
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # a signed hash the chain no longer has
    CHECKPOINT_MISSING = "checkpoint_missing"  # a checkpoint removed from the store
    HEAD_MISMATCH = "head_mismatch"  # the head row is missing, set back, or names another hash
    ROLLED_BACK = "rolled_back"  # the store is older than, or forked from, the anchor file
    BAD_ANCHOR = "bad_anchor"  # an anchor line not signed by the given key
    INDEX_MISMATCH = "index_mismatch"  # the subject index disagrees with the hashed subjects


class TamperProblem(BaseModel):
    """One finding of `verify_log`: the entry it concerns, its kind, a sentence for a DPO."""

    model_config = ConfigDict(frozen=True)

    seq: int | None
    kind: TamperKind
    message: str


class VerifyReport(BaseModel):
    """The outcome of walking the whole log; `ok` is true only when nothing was found.

    `notes` say what the check could not cover (no anchor file, a torn anchor line,
    entries written before checkpoints were chained); they are not tampering.
    """

    ok: bool
    checked: int
    checkpoints: int = 0
    head_seq: int | None = None
    #: The last entry a checkpoint signed with the given key vouches for.
    signed_seq: int | None = None
    #: The anchor file's checkpoint lines, and the latest that verifies: ordinal and entry.
    anchor_lines: int = 0
    anchor_ordinal: int | None = None
    anchored_seq: int | None = None
    problems: list[TamperProblem] = []
    notes: list[str] = []
