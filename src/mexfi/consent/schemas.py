"""What the consent ledger takes and gives: the choice vocabulary, one ledger entry, counts.

The vocabulary is the issue's (13, point 1): who (`holder`, a pseudonym), which policy and
version, which notice (`kind` and `notice`), the choice, how (`method`), where it came from
(`source`), when, the language shown and the served notice text (`served_notice_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Choice",
    "ChoiceInput",
    "ConsentEntry",
    "ConsentState",
    "HolderKind",
    "LedgerProblem",
    "LedgerProblemKind",
    "LedgerVerification",
    "Method",
    "NoticeKind",
    "RefusalCount",
    "Source",
]


class Choice(StrEnum):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"
    #: A policy version accepted (the notice is the version).
    ACKNOWLEDGE = "acknowledge"


class Method(StrEnum):
    """How the choice was made."""

    REGISTRATION = "registration"  # TX-2: registering in the app is acceptance
    FIRST_USE = "first_use"  # BK-1.2: using the services is acceptance
    ACCEPT_ALL = "accept_all"  # the banner's buttons
    REJECT_ALL = "reject_all"
    SAVE = "save"  # the banner's per-category choices saved
    PORTAL = "portal"
    WRITTEN_REQUEST = "written_request"
    GPC = "gpc"  # a Global Privacy Control signal
    API = "api"
    SWITCH = "switch"  # a switch in the app (TX-12's geolocation)


class Source(StrEnum):
    """Where the choice came from."""

    BANNER = "banner"
    PORTAL = "portal"
    APP = "app"
    API = "api"
    CONSOLE = "console"


class NoticeKind(StrEnum):
    """What a choice is about; with the notice id it names one notice of the policy."""

    POLICY = "policy"  # notice: the policy version
    COOKIE = "cookie"  # notice: a cookie category id
    NOTIFICATION = "notification"  # notice: a notification type id (BK-6.1)
    PURPOSE = "purpose"  # notice: a purpose id
    GEOLOCATION = "geolocation"  # notice: "collection" (TX-12)


class HolderKind(StrEnum):
    SUBJECT = "subject"  # holder: the vault's pseudonym of the subject (ps_…)
    DEVICE = "device"  # holder: the vault's value pseudonym of the device id (DEVICE_…)


@dataclass(frozen=True, slots=True)
class ChoiceInput:
    """One choice to record: about which notice, and what."""

    kind: NoticeKind
    notice: str
    choice: Choice


class _ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class ConsentEntry(_ReadModel):
    """One entry of the ledger, with its place in the hash chain."""

    id: str
    seq: int
    policy_id: str
    policy_version: str
    holder: str
    holder_kind: HolderKind
    kind: NoticeKind
    notice: str
    choice: Choice
    method: Method
    source: Source
    language: str
    served_notice_id: str | None = None
    actor_id: str
    recorded_at: datetime
    prev_hash: str
    hash: str


class ConsentState(_ReadModel):
    """A holder's current choice on one notice, and the ledger entry that made it."""

    policy_id: str
    holder: str
    kind: NoticeKind
    notice: str
    choice: Choice
    entry_id: str
    recorded_at: datetime


class RefusalCount(_ReadModel):
    """How many sends or collections of one kind were refused on one day: never who or where."""

    policy_id: str
    kind: NoticeKind
    notice: str
    reason: str
    day: date
    count: int


class LedgerProblemKind(StrEnum):
    """How the stored ledger departs from what the consent service wrote."""

    EDITED = "edited"  # contents no longer match the entry's hash
    DELETED = "deleted"  # a gap in the sequence
    RELINKED = "relinked"  # an entry whose prev_hash is not its predecessor's hash
    TRUNCATED = "truncated"  # the head names entries the ledger no longer has
    HEAD_MISMATCH = "head_mismatch"  # the head row is missing or names another hash
    UNANCHORED = "unanchored"  # an entry no audit entry vouches for
    ANCHOR_MISMATCH = "anchor_mismatch"  # the audit log's digest of a call differs


class LedgerProblem(BaseModel):
    """One finding of `verify_ledger`: the entry it concerns, its kind, a sentence."""

    model_config = ConfigDict(frozen=True)

    seq: int | None
    kind: LedgerProblemKind
    message: str


class LedgerVerification(BaseModel):
    """The outcome of walking the whole ledger; `ok` only when nothing was found."""

    ok: bool
    checked: int
    head_seq: int | None = None
    #: The first entry found broken (edited, missing, relinked, unanchored), else None.
    first_broken_seq: int | None = None
    #: Audit entries whose digests were compared with the ledger.
    anchors: int = 0
    problems: list[LedgerProblem] = []
