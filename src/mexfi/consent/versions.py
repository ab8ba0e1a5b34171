"""Policy versions, re-acceptance and served notices (BK-1.2, BK-7.3, TX-2).

Every version of each policy is kept once registered (`register_policy_version`, called
whenever the store is opened with the policy files: the same content registers nothing, the
same version string over other content is refused): its canonical JSON and hash, a hash
per section (the cookie section's is the banner's cookie revision), and its notice rendered
in every language and format. A version takes effect at the start of its effective date
(UTC), never before it was registered: a change is posted when mexfi first loads it.

Which version binds a subject comes from the policy file (`consent.changes_take_effect` of
the version in force): `when_posted` (BakıKart, BK-7.3), the version in force; `on_acceptance`
(Taxsee), the latest version in force the subject acknowledged, the old one until then
(`governing_version`). Either way the subjects who have not acknowledged the current version
are listed (`pending_subjects`) and can be told through a notification type they allow
(`notify_pending`); an acknowledgement is a `(POLICY, <version>) ACKNOWLEDGE` entry of the
consent ledger (`accept_version`), citing the served notice the subject was shown.

Served notices (`serve_notice`): every text shown to someone (the policy notice, a cookie
banner, a notification) is stored once under its SHA-256, and each serving gets an id; a
ledger entry citing that id proves the words the person saw before choosing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mexfi.consent.models import ConsentStateRow
from mexfi.consent.version_models import (
    NoticeText,
    PolicyChangeNotification,
    PolicyVersion,
    PolicyVersionNotice,
    ServedNotice,
)
from mexfi.db import UnitOfWork, new_id
from mexfi.errors import Conflict, Invalid, NotFound, Unavailable
from mexfi.policy import LANGS, Lang, Policy, check_lang, format_date, render_notice

if TYPE_CHECKING:
    from mexfi.consent.schemas import ConsentEntry, Method, Source
    from mexfi.vault import SubjectRead, Vault

__all__ = [
    "NOTICE_FORMATS",
    "NOTICE_SENDER_ENTRY_POINTS",
    "NOTICE_SENDER_VARIABLE",
    "POLICY_SECTIONS",
    "VERSION_PATTERN",
    "ConsoleNoticeSender",
    "ElementChange",
    "NoticeNotSent",
    "NoticeSender",
    "NotifyReport",
    "PendingReport",
    "PendingSubject",
    "PolicyChangeMessage",
    "PolicyDiff",
    "PolicyVersionConflict",
    "PolicyVersionNotFound",
    "PolicyVersionRead",
    "SectionDiff",
    "ServedNoticeKind",
    "ServedNoticeNotFound",
    "ServedNoticeRead",
    "ToldSubject",
    "UnknownNoticeSender",
    "accept_version",
    "canonical_policy",
    "cookie_revision",
    "current_version",
    "diff_versions",
    "get_version",
    "governing_version",
    "list_versions",
    "notice_sender",
    "notify_pending",
    "pending_subjects",
    "register_policy_version",
    "register_policy_versions",
    "serve_notice",
    "served_notice",
    "served_notice_text",
    "version_notice",
]

#: The sections hashed apart: what a reader (or the banner, for `cookies`) checks for change.
POLICY_SECTIONS = ("categories", "purposes", "recipients", "retention", "cookies", "notifications")
#: The formats each version's notice is kept in (as `render_notice` makes them).
NOTICE_FORMATS = ("md", "html")
_MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}
#: Top-level sections of a policy that are lists of elements (the rest are mappings).
_LIST_SECTIONS = frozenset(
    {"roles", "subjects", "categories", "purposes", "retention", "recipients", "cookies",
     "notifications", "claims"}
)  # fmt: skip

#: What a version string looks like where one is given from outside (an API parameter).
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"

NOTICE_SENDER_VARIABLE = "MEXFI_NOTICE_SENDER"
NOTICE_SENDER_ENTRY_POINTS = "mexfi.notice_senders"
#: Subjects read from the vault per query by the pending list.
_BATCH = 1000


# ------------------------------------------------------------------------------ errors


class PolicyVersionConflict(Conflict):
    """A version string already registered over other content, or a version that would take
    effect before one already registered."""


class PolicyVersionNotFound(NotFound):
    """No such version of the policy is registered."""


class ServedNoticeNotFound(NotFound):
    """No notice was served under that id."""


class UnknownNoticeSender(Invalid):
    """`MEXFI_NOTICE_SENDER` names no built-in or installed notice sender."""


class NoticeNotSent(Unavailable):
    """A sender could not deliver a notification."""


# ------------------------------------------------------------------------ read models


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True)


class PolicyVersionRead(_Read):
    """One registered version: which, its hashes, since when it binds."""

    policy_id: str
    version: str
    #: 1 for the policy's first registered version, then 2, 3…: the order they were posted.
    number: int
    content_hash: str
    effective: date
    takes_effect_at: datetime
    registered_at: datetime
    #: SHA-256 (hex) of each section of `POLICY_SECTIONS`.
    sections: dict[str, str]

    @property
    def cookie_revision(self) -> str:
        """The hash of the cookie section: a new one asks every device again (TX-18)."""
        return self.sections["cookies"]

    @classmethod
    def of(cls, row: PolicyVersion) -> PolicyVersionRead:
        return cls(
            policy_id=row.policy_id,
            version=row.version,
            number=row.number,
            content_hash=row.content_hash,
            effective=row.effective,
            takes_effect_at=row.takes_effect_at,
            registered_at=row.registered_at,
            sections={name: getattr(row, f"{name}_hash") for name in POLICY_SECTIONS},
        )


class ElementChange(_Read):
    """An element present in both versions and changed: the paths that changed, `+path`
    added, `-path` removed (`title.en`, `fields[email].type`, `-categories[topups]`)."""

    id: str
    fields: list[str]


class SectionDiff(_Read):
    """What changed in one section: elements added, removed, changed (a mapping section,
    such as `consent`, is one element named after it)."""

    section: str
    added: list[str] = []
    removed: list[str] = []
    changed: list[ElementChange] = []


class PolicyDiff(_Read):
    """The differences between two registered versions, section by section."""

    policy_id: str
    old: str
    new: str
    sections: list[SectionDiff]

    def section(self, name: str) -> SectionDiff | None:
        return next((s for s in self.sections if s.section == name), None)


class ServedNoticeKind(StrEnum):
    POLICY = "policy"
    COOKIE_BANNER = "cookie_banner"
    NOTIFICATION = "notification"


class ServedNoticeRead(_Read):
    """A text served: which policy version, what kind, in which language, its digest."""

    id: str
    policy_id: str
    version: str
    kind: ServedNoticeKind
    language: str
    digest: str
    served_at: datetime


class PendingSubject(_Read):
    """A subject who has not acknowledged the version: by ids and state, never a value."""

    subject_id: str
    pseudonym: str
    kind: str
    status: str
    #: The latest version the subject acknowledged, if any.
    accepted: str | None


class PendingReport(_Read):
    """Who has not acknowledged a version, and how many have."""

    policy_id: str
    version: str
    #: `consent.changes_take_effect` of the version: when_posted or on_acceptance.
    rule: str
    subjects: int
    accepted: int
    pending: list[PendingSubject]


class ToldSubject(_Read):
    subject_id: str
    pseudonym: str
    notification: str


class NotifyReport(_Read):
    """A notification run: who was told (or would be, `dry_run`), through which type, who
    could not be (no type allowed), and who was left alone (told before; not active)."""

    policy_id: str
    version: str
    dry_run: bool
    sender: str
    notifications: list[str]
    pending: int
    told: list[ToldSubject]
    already_told: int
    unreachable: list[PendingSubject]
    inactive: list[PendingSubject]
    failed: list[PendingSubject]
    served_notice_id: str | None


# ---------------------------------------------------------------------- canonical form


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _data(policy: Policy) -> dict[str, Any]:
    # Defaults left out: a mexfi release that adds a defaulted field to the schema does not
    # change the content, so the store's registered versions still match their files.
    data: dict[str, Any] = policy.model_dump(mode="json", exclude_defaults=True)
    return data


def canonical_policy(policy: Policy) -> str:
    """The policy as canonical JSON: sorted keys, compact, UTF-8, defaults left out."""
    return _json(_data(policy))


def _section_hashes(data: Mapping[str, Any]) -> dict[str, str]:
    return {name: _sha256(_json(data.get(name, []))) for name in POLICY_SECTIONS}


# --------------------------------------------------------------------- notice texts


def _store_text(uow: UnitOfWork, text: str, *, media_type: str, at: datetime) -> str:
    """The digest of `text`, stored once (a concurrent writer of the same text is fine)."""
    digest = _sha256(text)
    if uow.records.get(NoticeText, digest) is not None:
        return digest
    try:
        with uow.savepoint():
            uow.records.add(
                NoticeText(digest=digest, media_type=media_type, text=text, stored_at=at)
            )
            uow.records.flush()
    except IntegrityError:
        pass  # stored by another unit of work meanwhile: the same text under the same digest
    return digest


# ---------------------------------------------------------------------- registration


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def register_policy_version(
    uow: UnitOfWork, policy: Policy, *, at: datetime
) -> tuple[PolicyVersionRead, bool]:
    """Register the loaded `policy` as a version (flushed): `(version, True)` when new,
    `(version, False)` when that content is registered already.

    `PolicyVersionConflict` when its version string is registered over other content (the
    file changed without a new `policy.version`), or when it would take effect before a
    version already registered.
    """
    data = _data(policy)
    canonical = _json(data)
    content_hash = _sha256(canonical)
    info = policy.policy
    existing = uow.records.get(PolicyVersion, (info.id, info.version))
    if existing is not None:
        _check_same(existing, content_hash)
        return PolicyVersionRead.of(existing), False
    takes_effect_at = max(_start_of(info.effective), at)
    latest = uow.records.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.policy_id == info.id)
        .order_by(PolicyVersion.takes_effect_at.desc(), PolicyVersion.number.desc())
        .limit(1)
    )
    number = 1 + (
        uow.records.scalar(
            select(func.max(PolicyVersion.number)).where(PolicyVersion.policy_id == info.id)
        )
        or 0
    )
    if latest is not None and takes_effect_at < latest.takes_effect_at:
        raise PolicyVersionConflict(
            f"policy {info.id!r} version {info.version!r} would take effect on "
            f"{takes_effect_at.date().isoformat()}, before version {latest.version!r} "
            f"(registered to take effect on {latest.takes_effect_at.date().isoformat()})",
            hint="versions take effect in order: give this one an effective date on or after "
            "the latest registered version's (`mexfi policy versions` lists them)",
        )
    notices = {
        (lang, fmt): _store_text(
            uow,
            render_notice(policy, lang=lang, format=fmt),
            media_type=_MEDIA_TYPES[fmt],
            at=at,
        )
        for lang in LANGS
        for fmt in NOTICE_FORMATS
    }
    hashes = _section_hashes(data)
    row = PolicyVersion(
        policy_id=info.id,
        version=info.version,
        number=number,
        content_hash=content_hash,
        effective=info.effective,
        takes_effect_at=takes_effect_at,
        registered_at=at,
        canonical=canonical,
        **{f"{name}_hash": value for name, value in hashes.items()},
    )
    try:
        with uow.savepoint():
            uow.records.add(row)
            uow.records.flush()
            for (lang, fmt), digest in notices.items():
                uow.records.add(
                    PolicyVersionNotice(
                        policy_id=info.id,
                        version=info.version,
                        lang=lang,
                        format=fmt,
                        digest=digest,
                    )
                )
            uow.records.flush()
    except IntegrityError:
        # Another process registered it meanwhile (two commands opening one store at once).
        uow.records.expire_all()
        existing = uow.records.get(PolicyVersion, (info.id, info.version))
        if existing is None:
            raise PolicyVersionConflict(
                f"another version of policy {info.id!r} was registered at the same moment",
                hint="run the command again: the policy file is then compared with it",
            ) from None
        _check_same(existing, content_hash)
        return PolicyVersionRead.of(existing), False
    return PolicyVersionRead.of(row), True


def _check_same(existing: PolicyVersion, content_hash: str) -> None:
    if existing.content_hash == content_hash:
        return
    raise PolicyVersionConflict(
        f"policy {existing.policy_id!r} version {existing.version!r} is registered with other "
        f"content (hash {existing.content_hash[:12]}…, registered "
        f"{existing.registered_at.isoformat(timespec='seconds')}); the policy file loaded now "
        f"hashes to {content_hash[:12]}…",
        hint="a changed policy is a new version: bump policy.version in the policy file (and "
        "set policy.effective), or restore the registered text; `mexfi policy versions` lists "
        "what is registered",
    )


def register_policy_versions(
    uow: UnitOfWork, policies: Iterable[Policy], *, at: datetime
) -> list[PolicyVersionRead]:
    """Register each loaded policy (`register_policy_version`); the versions new to the store."""
    created = []
    for policy in policies:
        version, new = register_policy_version(uow, policy, at=at)
        if new:
            created.append(version)
    return created


# ----------------------------------------------------------------------- reading them


def _ordered(policy_id: str | None = None) -> Any:
    query = select(PolicyVersion)
    if policy_id is not None:
        query = query.where(PolicyVersion.policy_id == policy_id)
    return query.order_by(
        PolicyVersion.policy_id, PolicyVersion.takes_effect_at, PolicyVersion.number
    )


def list_versions(uow: UnitOfWork, *, policy_id: str | None = None) -> list[PolicyVersionRead]:
    """Registered versions (of one policy, or all), each policy's in the order they bind."""
    return [PolicyVersionRead.of(row) for row in uow.records.scalars(_ordered(policy_id))]


def _row(uow: UnitOfWork, policy_id: str, version: str) -> PolicyVersion:
    row = uow.records.get(PolicyVersion, (policy_id, version))
    if row is None:
        known = [v.version for v in list_versions(uow, policy_id=policy_id)]
        raise PolicyVersionNotFound(
            f"policy {policy_id!r} has no registered version {version!r}",
            hint=f"registered: {', '.join(known) or 'none'}",
        )
    return row


def get_version(uow: UnitOfWork, *, policy_id: str, version: str) -> PolicyVersionRead:
    """A registered version; `PolicyVersionNotFound` otherwise."""
    return PolicyVersionRead.of(_row(uow, policy_id, version))


def _in_force(versions: Sequence[PolicyVersionRead], at: datetime) -> list[PolicyVersionRead]:
    return [v for v in versions if v.takes_effect_at <= at]


def current_version(uow: UnitOfWork, *, policy_id: str, at: datetime) -> PolicyVersionRead:
    """The version in force at `at`: the latest to have taken effect (before any has, the
    first registered, there being no other). `PolicyVersionNotFound` if none is registered."""
    versions = list_versions(uow, policy_id=policy_id)
    if not versions:
        raise PolicyVersionNotFound(
            f"policy {policy_id!r} has no registered version",
            hint="every mexfi command registers the loaded policy files when it opens the store",
        )
    in_force = _in_force(versions, at)
    return in_force[-1] if in_force else versions[0]


def cookie_revision(uow: UnitOfWork, *, policy_id: str, at: datetime) -> str:
    """The cookie revision in force (the hash of the cookie section): when it changes, the
    banner asks every device again."""
    return current_version(uow, policy_id=policy_id, at=at).cookie_revision


def _canonical(uow: UnitOfWork, policy_id: str, version: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_row(uow, policy_id, version).canonical)
    return data


def _rule(uow: UnitOfWork, version: PolicyVersionRead) -> str:
    """`consent.changes_take_effect` as the version's own file states it."""
    consent = _canonical(uow, version.policy_id, version.version).get("consent", {})
    return str(consent.get("changes_take_effect", "when_posted"))


def _acknowledged(uow: UnitOfWork, policy_id: str, holders: Sequence[str]) -> dict[str, set[str]]:
    """{holder: versions acknowledged} from the ledger's current state."""
    found: dict[str, set[str]] = {}
    if not holders:
        return found
    rows = uow.records.execute(
        select(ConsentStateRow.holder, ConsentStateRow.notice).where(
            ConsentStateRow.policy_id == policy_id,
            ConsentStateRow.kind == "policy",
            ConsentStateRow.choice == "acknowledge",
            ConsentStateRow.holder.in_(list(holders)),
        )
    )
    for holder, notice in rows:
        found.setdefault(holder, set()).add(notice)
    return found


def governing_version(
    uow: UnitOfWork, *, policy_id: str, holder: str, at: datetime
) -> PolicyVersionRead:
    """The version that binds `holder` (a subject's pseudonym) at `at`, by the rule of the
    version in force: `when_posted`, that version; `on_acceptance`, the latest version in
    force the holder acknowledged, else the first in force (the old one governs until he
    accepts)."""
    current = current_version(uow, policy_id=policy_id, at=at)
    if _rule(uow, current) != "on_acceptance":
        return current
    versions = list_versions(uow, policy_id=policy_id)
    in_force = _in_force(versions, at) or versions[:1]
    accepted = _acknowledged(uow, policy_id, [holder]).get(holder, set())
    chosen = [v for v in in_force if v.version in accepted]
    return chosen[-1] if chosen else in_force[0]


def version_notice(
    uow: UnitOfWork, *, policy_id: str, version: str, lang: str, format: str = "md"
) -> str:
    """A version's notice as rendered when it was registered (what was posted)."""
    _row(uow, policy_id, version)
    row = uow.records.get(PolicyVersionNotice, (policy_id, version, check_lang(lang), format))
    if row is None:
        raise Invalid(f"unknown notice format {format!r}; kept: {', '.join(NOTICE_FORMATS)}")
    text = uow.records.get(NoticeText, row.digest)
    assert text is not None  # the foreign key
    return text.text


# ------------------------------------------------------------------------------ diff


def _key(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for name in ("id", "name", "kind"):
            if isinstance(item.get(name), str):
                return str(item[name])
    return str(index)


def _keyed(items: Sequence[Any]) -> dict[str, Any] | None:
    """A list of mappings by their id (name, kind), if each has a distinct one."""
    if not all(isinstance(i, dict) for i in items):
        return None
    keyed = {_key(item, n): item for n, item in enumerate(items)}
    return keyed if len(keyed) == len(items) else None


def _paths(old: Any, new: Any, path: str) -> list[str]:
    """The paths under `path` that differ: `+p` added, `-p` removed, `p` changed."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for name in sorted(set(old) | set(new)):
            sub = f"{path}.{name}" if path else name
            if name not in old:
                found.append(f"+{sub}")
            elif name not in new:
                found.append(f"-{sub}")
            else:
                found.extend(_paths(old[name], new[name], sub))
        return found
    if isinstance(old, list) and isinstance(new, list):
        before, after = _keyed(old), _keyed(new)
        if before is not None and after is not None and (before or after):
            found = []
            for name in sorted(set(before) | set(after)):
                sub = f"{path}[{name}]"
                if name not in before:
                    found.append(f"+{sub}")
                elif name not in after:
                    found.append(f"-{sub}")
                else:
                    found.extend(_paths(before[name], after[name], sub))
            return found
        scalars = all(not isinstance(v, dict | list) for v in [*old, *new])
        if (
            scalars
            and len(set(map(_json, old))) == len(old)
            and len(set(map(_json, new))) == len(new)
        ):
            removed = [v for v in old if v not in new]
            added = [v for v in new if v not in old]
            if added or removed:
                return [f"-{path}[{v}]" for v in removed] + [f"+{path}[{v}]" for v in added]
            return [path]  # the same members in another order
    return [path]


def _section(name: str, old: Any, new: Any) -> SectionDiff | None:
    if old == new:
        return None
    if name in _LIST_SECTIONS:
        before = _keyed(old or []) or {}
        after = _keyed(new or []) or {}
        changed = [
            ElementChange(id=key, fields=_paths(before[key], after[key], ""))
            for key in sorted(set(before) & set(after))
            if before[key] != after[key]
        ]
        return SectionDiff(
            section=name,
            added=sorted(set(after) - set(before)),
            removed=sorted(set(before) - set(after)),
            changed=changed,
        )
    return SectionDiff(section=name, changed=[ElementChange(id=name, fields=_paths(old, new, ""))])


def diff_versions(uow: UnitOfWork, *, policy_id: str, old: str, new: str) -> PolicyDiff:
    """What changed from version `old` to `new` (categories, purposes, recipients, retention,
    cookies, notifications first, then the other sections), from their stored canonical JSON."""
    before, after = _canonical(uow, policy_id, old), _canonical(uow, policy_id, new)
    names = [*POLICY_SECTIONS, *sorted((set(before) | set(after)) - set(POLICY_SECTIONS))]
    sections = []
    for name in names:
        empty: Any = [] if name in _LIST_SECTIONS else {}
        found = _section(name, before.get(name, empty), after.get(name, empty))
        if found is not None:
            sections.append(found)
    return PolicyDiff(policy_id=policy_id, old=old, new=new, sections=sections)


# -------------------------------------------------------------------- served notices


def serve_notice(
    uow: UnitOfWork,
    *,
    policy_id: str,
    version: str,
    kind: ServedNoticeKind,
    language: str,
    text: str,
    at: datetime,
    media_type: str = "text/plain; charset=utf-8",
) -> str:
    """Record that `text` (the exact text served) was shown, of which policy version, in
    which language; the served notice's id, for the choice made after it to cite. The text
    is stored once per digest (flushed)."""
    digest = _store_text(uow, text, media_type=media_type, at=at)
    served = ServedNotice(
        id=new_id(),
        policy_id=policy_id,
        version=version,
        kind=ServedNoticeKind(kind).value,
        language=check_lang(language),
        digest=digest,
        served_at=at,
    )
    uow.records.add(served)
    uow.records.flush()
    return served.id


def _served(uow: UnitOfWork, notice_id: str) -> ServedNotice:
    row = uow.records.get(ServedNotice, notice_id)
    if row is None:
        raise ServedNoticeNotFound(
            f"no notice was served under id {notice_id!r}",
            hint="cite the id the notice was served with (the X-Mexfi-Served-Notice header)",
        )
    return row


def served_notice(uow: UnitOfWork, notice_id: str) -> ServedNoticeRead:
    """A served notice by id; `ServedNoticeNotFound` otherwise."""
    row = _served(uow, notice_id)
    return ServedNoticeRead(
        id=row.id,
        policy_id=row.policy_id,
        version=row.version,
        kind=ServedNoticeKind(row.kind),
        language=row.language,
        digest=row.digest,
        served_at=row.served_at,
    )


def served_notice_text(uow: UnitOfWork, notice_id: str) -> str:
    """The exact text served under `notice_id`."""
    text = uow.records.get(NoticeText, _served(uow, notice_id).digest)
    assert text is not None  # the foreign key
    return text.text


# ----------------------------------------------------------------- who must re-accept


def _target(
    uow: UnitOfWork, policy_id: str, version: str | None, at: datetime
) -> PolicyVersionRead:
    if version is None:
        return current_version(uow, policy_id=policy_id, at=at)
    return get_version(uow, policy_id=policy_id, version=version)


def _scan(
    vault: Vault,
    uow: UnitOfWork,
    *,
    policy_id: str,
    target: PolicyVersionRead,
    kind: str | None,
) -> tuple[int, int, list[PendingSubject]]:
    """(subjects, accepted, pending) of the policy for `target`, paging through the vault."""
    order = {v.version: n for n, v in enumerate(list_versions(uow, policy_id=policy_id))}
    total = accepted = 0
    pending: list[PendingSubject] = []
    after: str | None = None
    while True:
        page: list[SubjectRead] = vault.subjects_of(
            uow, policy_id=policy_id, kind=kind, after=after, limit=_BATCH
        )
        if not page:
            break
        after = page[-1].id
        acknowledged = _acknowledged(uow, policy_id, [s.pseudonym for s in page])
        for subject in page:
            total += 1
            versions = acknowledged.get(subject.pseudonym, set())
            if target.version in versions:
                accepted += 1
                continue
            latest = max(versions, key=lambda v: order.get(v, -1)) if versions else None
            pending.append(
                PendingSubject(
                    subject_id=subject.id,
                    pseudonym=subject.pseudonym,
                    kind=subject.kind,
                    status=subject.status,
                    accepted=latest,
                )
            )
    return total, accepted, pending


def pending_subjects(
    vault: Vault,
    uow: UnitOfWork,
    *,
    policy_id: str,
    at: datetime,
    version: str | None = None,
    kind: str | None = None,
) -> PendingReport:
    """The subjects of the policy (of `kind`, if given) who have not acknowledged `version`
    (default: the version in force at `at`), in id order, and how many have (BK-7.3)."""
    vault.policy(policy_id)
    target = _target(uow, policy_id, version, at)
    total, accepted, pending = _scan(vault, uow, policy_id=policy_id, target=target, kind=kind)
    return PendingReport(
        policy_id=policy_id,
        version=target.version,
        rule=_rule(uow, target),
        subjects=total,
        accepted=accepted,
        pending=pending,
    )


def accept_version(
    vault: Vault,
    uow: UnitOfWork,
    *,
    subject_id: str,
    actor_id: str,
    at: datetime,
    method: Method,
    source: Source,
    version: str | None = None,
    served_notice_id: str | None = None,
    language: str | None = None,
    actor_role: str | None = None,
) -> ConsentEntry:
    """Record that the subject acknowledged a version of its policy (default: the one in
    force), as a `(POLICY, <version>) ACKNOWLEDGE` ledger entry citing the served notice.

    The served notice, if given, must be a policy notice of that policy and version: the
    acceptance cites what the subject was shown. The language is the served notice's, else
    the one given, else the policy's. `actor_role` is the role the audit entry names
    (default: by `source`).
    """
    from mexfi.consent import Choice, ChoiceInput, HolderKind, NoticeKind, record_choices

    subject = vault.subject(uow, subject_id)
    policy = vault.policy(subject.policy_id)
    target = _target(uow, policy.id, version, at)
    if served_notice_id is not None:
        served = served_notice(uow, served_notice_id)
        if (served.policy_id, served.version, served.kind) != (
            policy.id,
            target.version,
            ServedNoticeKind.POLICY,
        ):
            raise Invalid(
                f"served notice {served_notice_id} is the {served.kind.value} notice of "
                f"policy {served.policy_id!r} version {served.version!r}, not the policy "
                f"notice of {policy.id!r} version {target.version!r}",
                hint="cite the notice served for the version accepted",
            )
        if language is not None and check_lang(language) != served.language:
            raise Invalid(
                f"served notice {served_notice_id} was in {served.language!r}, not {language!r}",
                hint="leave the language out: the served notice's is recorded",
            )
        language = served.language
    entries = record_choices(
        uow,
        policy=policy,
        holder=subject.pseudonym,
        holder_kind=HolderKind.SUBJECT,
        choices=[ChoiceInput(NoticeKind.POLICY, target.version, Choice.ACKNOWLEDGE)],
        method=method,
        source=source,
        language=check_lang(language or policy.policy.language),
        actor_id=actor_id,
        at=at,
        served_notice_id=served_notice_id,
        actor_role=actor_role,
    )
    return entries[0]


# ------------------------------------------------------------------- telling them


@dataclass(frozen=True)
class PolicyChangeMessage:
    """A notification that a policy version changed, for one subject: addressed by the
    subject's id (the app's backend knows its devices), never by a phone or device id."""

    policy_id: str
    version: str
    subject_id: str
    pseudonym: str
    notification: str
    language: str
    text: str
    served_notice_id: str


class NoticeSender(Protocol):
    """Delivers a `PolicyChangeMessage`: a push gateway's client, or `ConsoleNoticeSender`.
    `send` raises (`NoticeNotSent`, or any error, reported as one) when it did not go."""

    @property
    def name(self) -> str:
        """A short code naming the sender in the records (`console`, `push_fcm`)."""
        ...

    def send(self, message: PolicyChangeMessage) -> None: ...


class ConsoleNoticeSender:
    """Development and the demo: prints who would be told (a pseudonym) on standard error."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: PolicyChangeMessage) -> None:
        print(
            f"[console sender, no push sent] policy {message.policy_id} version "
            f"{message.version} to {message.pseudonym} via {message.notification} "
            f"(served notice {message.served_notice_id})",
            file=self._stream or sys.stderr,
            flush=True,
        )


_BUILT_IN: dict[str, Callable[[], NoticeSender]] = {"console": ConsoleNoticeSender}


def notice_sender(name: str | None = None) -> NoticeSender:
    """The sender `name` names, else `MEXFI_NOTICE_SENDER`, else `console`: a built-in one
    or one installed under the `mexfi.notice_senders` entry-point group (a push gateway)."""
    chosen = (name or os.environ.get(NOTICE_SENDER_VARIABLE) or "console").strip()
    factory = _BUILT_IN.get(chosen)
    plugged = {e.name: e for e in entry_points(group=NOTICE_SENDER_ENTRY_POINTS)}
    if factory is None and chosen in plugged:
        factory = plugged[chosen].load()
    if factory is None:
        raise UnknownNoticeSender(
            f"no notice sender {chosen[:40]!r} ({NOTICE_SENDER_VARIABLE})",
            hint=f"known senders: {', '.join(sorted({*_BUILT_IN, *plugged}))}; a push gateway "
            f"plugs in as a NoticeSender under the {NOTICE_SENDER_ENTRY_POINTS!r} group",
        )
    return factory()


_TEXTS = {
    ("when_posted", "az"): "{operator} · {service}: məxfilik siyasəti dəyişdirilib ({version} "
    "versiyası, {date} tarixindən qüvvədədir). Onu tətbiqdə oxuyun.",
    ("when_posted", "en"): "{operator} · {service}: the privacy policy has changed (version "
    "{version}, in force from {date}). Read it in the app.",
    ("when_posted", "ru"): "{operator} · {service}: политика конфиденциальности изменена "
    "(редакция {version}, действует с {date}). Прочитайте её в приложении.",
    ("on_acceptance", "az"): "{operator} · {service}: məxfilik siyasəti dəyişdirilib ({version} "
    "versiyası). Onu tətbiqdə qəbul etdiyiniz andan sizə şamil olunur.",
    ("on_acceptance", "en"): "{operator} · {service}: the privacy policy has changed (version "
    "{version}). It applies to you once you accept it in the app.",
    ("on_acceptance", "ru"): "{operator} · {service}: политика конфиденциальности изменена "
    "(редакция {version}). Она применяется к вам после того, как вы примете её в приложении.",
}


def _message_text(policy: Policy, version: PolicyVersionRead, rule: str, lang: Lang) -> str:
    names = policy.operator.names
    return _TEXTS[(rule, lang)].format(
        operator=names(lang) if names else policy.operator.name,
        service=policy.policy.service(lang),
        version=version.version,
        date=format_date(version.takes_effect_at.date(), lang),
    )


def _told(uow: UnitOfWork, policy_id: str, version: str, holders: Sequence[str]) -> set[str]:
    if not holders:
        return set()
    return set(
        uow.records.scalars(
            select(PolicyChangeNotification.holder).where(
                PolicyChangeNotification.policy_id == policy_id,
                PolicyChangeNotification.version == version,
                PolicyChangeNotification.holder.in_(list(holders)),
            )
        )
    )


def notify_pending(
    vault: Vault,
    uow: UnitOfWork,
    *,
    policy_id: str,
    sender: NoticeSender,
    actor_id: str,
    at: datetime,
    version: str | None = None,
    via: Sequence[str] | None = None,
    language: str | None = None,
    dry_run: bool = False,
    again: bool = False,
    limit: int | None = None,
) -> NotifyReport:
    """Tell the subjects who have not acknowledged `version` (default: the one in force)
    that it changed, each through the first notification type of `via` (default: the
    policy's, in its order) that the subject allows (`is_allowed`); record each one told
    (flushed). Subjects told of this version before are left alone unless `again`; blocked
    or prohibited ones always (no processing but a rectification); those who allow no type
    are listed, never told another way. With `dry_run` nothing is sent or recorded.

    A send that fails is listed and not recorded (a later run tries again); a run that
    dies before its unit of work commits may tell some subjects twice, never nobody.
    """
    from mexfi.consent import NoticeKind, UnknownNotice, is_allowed

    policy = vault.policy(policy_id)
    declared = [n.id for n in policy.notifications]
    types = list(via) if via else declared
    for name in types:
        if name not in declared:
            raise UnknownNotice(
                f"notification type {name!r} is not declared in policy {policy_id!r}",
                hint=f"declared: {', '.join(declared) or 'none'}",
            )
    target = _target(uow, policy_id, version, at)
    rule = _rule(uow, target)
    lang = check_lang(language or policy.policy.language)
    _, _, pending = _scan(vault, uow, policy_id=policy_id, target=target, kind=None)
    text = _message_text(policy, target, rule, lang)
    served_id: str | None = None
    told: list[ToldSubject] = []
    unreachable: list[PendingSubject] = []
    inactive: list[PendingSubject] = []
    failed: list[PendingSubject] = []
    already = 0
    for start in range(0, len(pending), _BATCH):
        if limit is not None and len(told) >= limit:
            break
        batch = pending[start : start + _BATCH]
        before = (
            set() if again else _told(uow, policy_id, target.version, [s.pseudonym for s in batch])
        )
        for subject in batch:
            if limit is not None and len(told) >= limit:
                break
            if subject.pseudonym in before:
                already += 1
                continue
            if subject.status != "active":
                inactive.append(subject)
                continue
            chosen = next(
                (
                    t
                    for t in types
                    if is_allowed(
                        uow,
                        policy=policy,
                        holder=subject.pseudonym,
                        kind=NoticeKind.NOTIFICATION,
                        notice=t,
                    )
                ),
                None,
            )
            if chosen is None:
                unreachable.append(subject)
                continue
            if dry_run:
                told.append(_told_one(subject, chosen))
                continue
            if served_id is None:
                served_id = serve_notice(
                    uow,
                    policy_id=policy_id,
                    version=target.version,
                    kind=ServedNoticeKind.NOTIFICATION,
                    language=lang,
                    text=text,
                    at=at,
                )
            message = PolicyChangeMessage(
                policy_id=policy_id,
                version=target.version,
                subject_id=subject.subject_id,
                pseudonym=subject.pseudonym,
                notification=chosen,
                language=lang,
                text=text,
                served_notice_id=served_id,
            )
            try:
                sender.send(message)
            except Exception:  # a gateway's error, whatever its kind: listed, tried next run
                failed.append(subject)
                continue
            uow.records.add(
                PolicyChangeNotification(
                    id=new_id(),
                    policy_id=policy_id,
                    version=target.version,
                    holder=subject.pseudonym,
                    notification=chosen,
                    served_notice_id=served_id,
                    sender=sender.name,
                    actor_id=actor_id,
                    sent_at=at,
                )
            )
            told.append(_told_one(subject, chosen))
    uow.records.flush()
    return NotifyReport(
        policy_id=policy_id,
        version=target.version,
        dry_run=dry_run,
        sender=sender.name,
        notifications=types,
        pending=len(pending),
        told=told,
        already_told=already,
        unreachable=unreachable,
        inactive=inactive,
        failed=failed,
        served_notice_id=served_id,
    )


def _told_one(subject: PendingSubject, notification: str) -> ToldSubject:
    return ToldSubject(
        subject_id=subject.subject_id, pseudonym=subject.pseudonym, notification=notification
    )
