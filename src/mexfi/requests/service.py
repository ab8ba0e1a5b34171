"""The request workflow: intake, verification, deadline, answer; every step audited.

States: received → verifying (→ locked) → in_progress → answered | rejected; a request
leaves `verifying` only once its author is proven to be the subject (`verification.py`),
and only then reads anything of the subject. Each change is
an `AuditAction.REQUEST` entry whose `reference` is the request id and whose
`reason` is `"<kind>:<state>"` (plus reason codes on a rejection): codes and ids,
never a personal value. The requester's phone only feeds the vault's blind index;
what a written request carries to identify its author is kept as present/absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from mexfi.audit import AuditAction, AuditEntry, AuditEntryRead, AuditEvent
from mexfi.clock import utc
from mexfi.db import UnitOfWork, new_id
from mexfi.errors import Invalid
from mexfi.policy import LANGS, Lang, Policy, RequestChannel, RequestRequirement, check_lang
from mexfi.requests import answers
from mexfi.requests.calendar import days_left, due_at, local_zone, resumed_due_at
from mexfi.requests.errors import (
    InvalidRequest,
    RequestNotFound,
    RequestStateConflict,
    RightNotOffered,
)
from mexfi.requests.models import SubjectRequest
from mexfi.requests.schemas import (
    TERMINAL_STATES,
    Answer,
    DestructionPreview,
    RequestCheck,
    RequestKind,
    RequestRead,
    RequestState,
    WrittenDetails,
)
from mexfi.retention import active_holds, holds_on
from mexfi.scan import refuse_personal_data
from mexfi.vault import Actor, InvalidValue, PurposeDenied, SubjectNotFound, SubjectRead, Vault

__all__ = [
    "IDENTITY_DETAILS",
    "PAPER_CHANNELS",
    "UNVERIFIED_HINT",
    "add_request",
    "amend_request",
    "answer_request",
    "check_request",
    "destruction_preview",
    "get_request",
    "list_requests",
    "offered_kinds",
    "open_verified",
    "reject_request",
    "request_history",
    "resume_released",
    "withdraw_request",
]

#: Channels on paper: the written requirements of TX-11 apply to them.
PAPER_CHANNELS = frozenset(
    {RequestChannel.WRITTEN, RequestChannel.REGISTERED_MAIL, RequestChannel.IN_PERSON}
)

#: What to do with a request that is not verified yet (`{id}`: the request's id).
UNVERIFIED_HINT = (
    "verify it first: `mexfi requests send-code {id}` sends a one-time code to the subject's "
    "registered phone and `mexfi requests verify {id} --code CODE` checks it; or record a check "
    "made another way: `mexfi requests verify {id} --out-of-band in_person --reason …`"
)


def offered_kinds(policy: Policy) -> list[RequestKind]:
    """The request kinds a policy offers: those whose right it lists."""
    rights = {r.kind for r in policy.requests.rights}
    return [k for k in RequestKind if k.right in rights]


def _right_clauses(policy: Policy, kind: RequestKind) -> tuple[str, ...]:
    return tuple(
        sorted({c for r in policy.requests.rights if r.kind is kind.right for c in r.clauses})
    )


def _read(row: SubjectRequest, zone_of: Mapping[str, Any] | None = None) -> RequestRead:
    zone = local_zone("AZ") if zone_of is None else zone_of[row.policy_id]
    return RequestRead(
        id=row.id,
        policy_id=row.policy_id,
        subject_id=row.subject_id,
        subject_pseudonym=row.subject_pseudonym,
        kind=RequestKind(row.kind),
        channel=row.channel,
        language=row.language,
        state=RequestState(row.state),
        received_at=row.received_at,
        due_at=row.due_at,
        due_date=row.due_at.astimezone(zone).date(),
        answered_at=row.answered_at,
        categories=tuple(c for c in row.categories.split(",") if c),
        include_passive=row.include_passive,
        requirements=json.loads(row.requirements or "{}"),
        reasons=tuple(json.loads(row.reasons or "[]")),
        outcome=json.loads(row.outcome or "{}"),
        holds=json.loads(row.holds or "{}"),
        suspended_at=row.suspended_at,
        days_left=row.days_left,
        amended_at=row.amended_at,
        verification=row.verification,
        verified_at=row.verified_at,
        failed_attempts=row.failed_attempts or 0,
        identity_checks=json.loads(row.identity_checks or "{}"),
    )


def _zone(vault: Vault, policy_id: str) -> Any:
    return local_zone(vault.policy(policy_id).requests.deadline.jurisdiction)


def _to_read(vault: Vault, row: SubjectRequest) -> RequestRead:
    return _read(row, {row.policy_id: _zone(vault, row.policy_id)})


def _event(
    vault: Vault,
    row: SubjectRequest,
    actor: Actor,
    state: RequestState | str,
    *,
    codes: Iterable[str] = (),
    count: int = 1,
    at: datetime,
) -> AuditEvent:
    policy = vault.policy(row.policy_id)
    reason = f"{row.kind}:{state}"  # a state, or a step that keeps it ("amended")
    codes = list(codes)
    if codes:
        reason += ":" + ",".join(codes)
    return AuditEvent(
        action=AuditAction.REQUEST,
        at=at,
        actor_id=actor.id,
        actor_role=actor.role,
        policy_id=row.policy_id,
        subject=row.subject_pseudonym,
        categories=tuple(c for c in row.categories.split(",") if c),
        clauses=_right_clauses(policy, RequestKind(row.kind)),
        count=count,
        reason=reason[:1000],
        reference=row.id,
    )


def _row(uow: UnitOfWork, request_id: str, *, lock: bool = False) -> SubjectRequest:
    query = select(SubjectRequest).where(SubjectRequest.id == request_id)
    if lock and uow.records.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = uow.records.scalar(query)
    if row is None:
        raise RequestNotFound(f"no request {request_id!r}")
    return row


def _move(
    vault: Vault,
    uow: UnitOfWork,
    row: SubjectRequest,
    state: RequestState,
    actor: Actor,
    *,
    codes: Iterable[str] = (),
    count: int = 1,
    changes: Mapping[str, Any] | None = None,
) -> SubjectRequest:
    """Change a request's state (and columns), auditing the change in the same transaction."""
    now = vault.clock.now()
    for name, value in (changes or {}).items():
        setattr(row, name, value)
    row.state = state.value
    row.updated_at = now
    if state is RequestState.ANSWERED:
        row.answered_at = now
    if state in TERMINAL_STATES:
        # An answered or rejected request no longer opens any read of the subject's data.
        vault.close_request(uow, row.id, at=now)
    vault.audit.append(
        uow.records, _event(vault, row, actor, state, codes=codes, count=count, at=now)
    )
    uow.records.flush()
    return row


# --------------------------------------------------------------------------- intake


def _match(
    vault: Vault, uow: UnitOfWork, policy: Policy, *, phone: str | None, subject_id: str | None
) -> tuple[SubjectRead | None, str | None]:
    """The subject the requester is, through the blind index; else a reason code."""
    if subject_id is not None:
        try:
            subject = vault.subject(uow, subject_id)
        except SubjectNotFound:
            return None, "subject_not_found"
        if subject.policy_id != policy.id:
            return None, "subject_not_found"
        return subject, None
    if phone is None:
        return None, "requester_not_identified"
    try:
        found = vault.find_by_phone(uow, policy.id, phone)
    except InvalidValue:
        return None, "phone_invalid"
    return (found, None) if found is not None else (None, "subject_not_matched")


def _language_category(policy: Policy) -> str | None:
    """The category the subject's interface language is derived from (TX-20 – TX-22), if
    the request purpose reaches it."""
    mobile = policy.mobile_operator
    if mobile is None or "language" not in mobile.derives:
        return None
    purpose = policy.requests.purposes.subject_request
    return mobile.category if mobile.category in policy.purpose(purpose).categories else None


def _open_bases(
    vault: Vault,
    uow: UnitOfWork,
    policy: Policy,
    row: SubjectRequest,
    kind: RequestKind,
    categories: Collection[str],
    actor: Actor,
) -> None:
    """Record the verified request as what its reads cite (the vault checks `request_id`):
    an access request reaches what it names (all if nothing), a rectification the
    categories it names, any request the category its answer's language comes from."""
    assert row.subject_id is not None  # verified requests matched their subject
    language = _language_category(policy)
    reach: list[str] | None = None  # None: no read under the subject-request purpose
    if kind is RequestKind.ACCESS:
        reach = [*categories, *([language] if categories and language else [])]
    elif language is not None:
        reach = [language]
    if reach is not None:
        vault.open_request(
            uow,
            row.id,
            row.subject_id,
            purpose=policy.requests.purposes.subject_request,
            categories=reach,
            include_passive=row.include_passive,
            actor=actor,
        )
    if kind is RequestKind.RECTIFICATION:
        vault.open_request(
            uow,
            row.id,
            row.subject_id,
            purpose=policy.requests.purposes.rectification,
            categories=categories,
            actor=actor,
        )


def _subject_language(
    vault: Vault,
    uow: UnitOfWork,
    policy: Policy,
    subject: SubjectRead | None,
    actor: Actor,
    request_id: str,
) -> Lang | None:
    """The subject's interface language, where the policy derives one (TX-20 – TX-22)."""
    category = _language_category(policy)
    if subject is None or category is None:
        return None
    purpose = policy.requests.purposes.subject_request
    try:
        data = vault.read(
            uow, subject.id, [category], purpose=purpose, actor=actor, request_id=request_id
        )
    except PurposeDenied:  # a blocked subject, a role that may not: the policy's language
        return None
    for record in reversed(data.records):
        code = str(record.values.get("language") or "").split("-")[0].lower()
        if code in LANGS:
            return check_lang(code)
    return None


def _intake_args(
    policy: Policy,
    kind: RequestKind | str,
    channel: RequestChannel | str,
    categories: Collection[str],
) -> tuple[RequestKind, RequestChannel]:
    """The request's kind and channel, checked against the policy (nothing is stored)."""
    try:
        kind = RequestKind(kind)
    except ValueError:
        raise InvalidRequest(
            f"unknown request kind {kind!r}",
            hint=f"kinds: {', '.join(k.value for k in RequestKind)}",
        ) from None
    try:
        channel = RequestChannel(channel)
    except ValueError:
        raise InvalidRequest(
            f"unknown channel {channel!r}",
            hint=f"channels: {', '.join(c.value for c in RequestChannel)}",
        ) from None
    if kind not in offered_kinds(policy):
        offered = ", ".join(k.value for k in offered_kinds(policy))
        raise RightNotOffered(
            f"policy {policy.id!r} does not list the right {kind.right.value!r}, so a "
            f"{kind.value!r} request cannot be made under it",
            policy_id=policy.id,
            right=kind.right.value,
            hint=f"policy {policy.id!r} offers: {offered}",
        )
    _check_categories(policy, categories)
    return kind, channel


def _check_categories(policy: Policy, categories: Collection[str]) -> None:
    declared = {c.id for c in policy.categories}
    unknown = [c for c in categories if c not in declared]
    if unknown:
        raise InvalidRequest(f"category {unknown[0]!r} is not declared in policy {policy.id!r}")


def _intake_reasons(
    policy: Policy,
    channel: RequestChannel,
    present: Mapping[RequestRequirement, bool],
    unmatched: str | None,
) -> tuple[dict[str, bool], list[str]]:
    """({requirement: met} of TX-11 where it applies, reason codes to reject the request)."""
    reasons: list[str] = []
    if channel not in policy.requests.channels:
        reasons.append(f"channel_not_accepted_{channel.value}")
    requirements: dict[str, bool] = {}
    if channel in PAPER_CHANNELS and policy.requests.written_requirements:
        requirements = {r.value: bool(present.get(r)) for r in policy.requests.written_requirements}
        reasons += [f"missing_{name}" for name, ok in requirements.items() if not ok]
    if unmatched is not None:
        reasons.append(unmatched)
    return requirements, reasons


def add_request(
    vault: Vault,
    uow: UnitOfWork,
    *,
    policy_id: str,
    kind: RequestKind | str,
    channel: RequestChannel | str,
    actor: Actor,
    phone: str | None = None,
    subject_id: str | None = None,
    language: str | None = None,
    written: WrittenDetails | None = None,
    categories: Collection[str] = (),
    include_passive: bool = False,
    received_at: datetime | None = None,
) -> RequestRead:
    """Receive a request and check it (TX-11): `rejected` with reasons, or `verifying` until
    its author proves to be the subject (`send_code` and `verify_code`, or the DPO's
    `verify_out_of_band`); only a verified request is carried out.

    A right the policy does not list is refused (`RightNotOffered`) and nothing is stored.
    A rejected request stays amendable (`amend_request`) until its refusal is answered.
    """
    policy = vault.policy(policy_id)
    kind, channel = _intake_args(policy, kind, channel, categories)
    subject, unmatched = _match(vault, uow, policy, phone=phone, subject_id=subject_id)
    # Until the request is verified nothing of the subject is read: the language the
    # subject uses is looked up once it is (below).
    lang = check_lang(language) if language is not None else policy.policy.language
    now = vault.clock.now()
    received = utc(received_at) if received_at is not None else now
    row = SubjectRequest(
        id=new_id(),
        policy_id=policy_id,
        subject_id=None,
        subject_pseudonym=None,
        kind=kind.value,
        channel=channel.value,
        language=lang,
        state=RequestState.RECEIVED.value,
        received_at=received,
        due_at=due_at(received, policy.requests.deadline),
        answered_at=None,
        updated_at=now,
        categories=",".join(dict.fromkeys(categories)),
        include_passive=include_passive,
        requirements="{}",
        reasons="[]",
        outcome="{}",
        received_by=actor.id,
    )
    if subject is not None:
        row.subject_id = subject.id
        row.subject_pseudonym = subject.pseudonym
    uow.records.add(row)
    uow.records.flush()
    vault.audit.append(
        uow.records, _event(vault, row, actor, RequestState.RECEIVED, at=now, codes=[channel])
    )
    _move(vault, uow, row, RequestState.VERIFYING, actor)
    present = (written or WrittenDetails()).present()
    return _verify(
        vault, uow, policy, row, actor,
        subject=subject, unmatched=unmatched, present=present, language=language,
        written=written,
    )  # fmt: skip


def _verify(
    vault: Vault,
    uow: UnitOfWork,
    policy: Policy,
    row: SubjectRequest,
    actor: Actor,
    *,
    subject: SubjectRead | None,
    unmatched: str | None,
    present: Mapping[RequestRequirement, bool],
    language: str | None,
    written: WrittenDetails | None = None,
) -> RequestRead:
    """Intake's checks on a `verifying` request (new or amended): `rejected` with reasons,
    or left `verifying` until its author proves to be the subject (`verification.py`: a
    one-time code, or the DPO's out-of-band check); nothing of the subject is read before.
    A written request's identity details are compared with what the store holds (the vault
    answers match / mismatch / not_held). `language` None: the subject's own, once verified."""
    channel = RequestChannel(row.channel)
    requirements, reasons = _intake_reasons(policy, channel, present, unmatched)
    # An amended request that passes sheds the reasons it was rejected for.
    changes: dict[str, Any] = {
        "requirements": json.dumps(requirements, sort_keys=True),
        "reasons": "[]",
    }
    if reasons:
        changes["reasons"] = json.dumps(reasons)
        done = _move(vault, uow, row, RequestState.REJECTED, actor, codes=reasons, changes=changes)
        return _to_read(vault, done)
    if language is not None:
        changes["language_given"] = True
    checks = _identity_checks(vault, uow, row, written, actor)
    changes["identity_checks"] = json.dumps(checks, sort_keys=True)
    now = vault.clock.now()
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now
    if checks:
        codes = [f"identity_{name}_{result}" for name, result in sorted(checks.items())]
        vault.audit.append(
            uow.records, _event(vault, row, actor, RequestState.VERIFYING, codes=codes, at=now)
        )
    uow.records.flush()
    return _to_read(vault, row)


#: What a written request gives to identify its author, by the data category (fides) of the
#: stored fields it is compared with.
IDENTITY_DETAILS = {
    "full_name": "user.name",
    "date_of_birth": "user.demographic.date_of_birth",
    "fin": "user.government_id.national_identification_number",
}


def _identity_checks(
    vault: Vault,
    uow: UnitOfWork,
    row: SubjectRequest,
    written: WrittenDetails | None,
    actor: Actor,
) -> dict[str, str]:
    """{detail: match | mismatch | not_held} of the identity details `written` gives, against
    the matched subject's stored fields (the vault compares; no value comes back)."""
    if written is None or row.subject_id is None:
        return {}
    given = {
        name: str(value).strip()
        for name in IDENTITY_DETAILS
        if (value := getattr(written, name)) is not None and str(value).strip()
    }
    if not given:
        return {}
    found = vault.compare_identity(
        uow,
        row.subject_id,
        {IDENTITY_DETAILS[name]: value for name, value in given.items()},
        actor=actor,
        request_id=row.id,
    )
    return {name: found[IDENTITY_DETAILS[name]] for name in given}


def open_verified(
    vault: Vault,
    uow: UnitOfWork,
    row: SubjectRequest,
    actor: Actor,
    *,
    method: str,
    codes: Iterable[str] = (),
) -> SubjectRequest:
    """The request is proven to come from its subject (`method`: `code`, or
    `out_of_band_<how>`): only now are its read bases opened and the subject's language
    read; it moves to `in_progress`."""
    assert row.subject_id is not None  # only a matched request is verified
    policy = vault.policy(row.policy_id)
    kind = RequestKind(row.kind)
    categories = [c for c in row.categories.split(",") if c]
    now = vault.clock.now()
    changes: dict[str, Any] = {"verified_at": now, "verification": method}
    _open_bases(vault, uow, policy, row, kind, categories, actor)
    if not row.language_given:
        subject = vault.subject(uow, row.subject_id)
        changes["language"] = (
            _subject_language(vault, uow, policy, subject, actor, row.id) or row.language
        )
    return _move(
        vault, uow, row, RequestState.IN_PROGRESS, actor, codes=[method, *codes], changes=changes
    )


def check_request(
    vault: Vault,
    uow: UnitOfWork,
    *,
    policy_id: str,
    kind: RequestKind | str,
    channel: RequestChannel | str,
    phone: str | None = None,
    subject_id: str | None = None,
    language: str | None = None,
    written: WrittenDetails | None = None,
    categories: Collection[str] = (),
    received_at: datetime | None = None,
) -> RequestCheck:
    """What intake would decide about this request, and its due date, storing nothing (no
    request, no audit entry): the checks `add_request` runs before it writes anything.

    A right the policy does not list, an unknown kind, channel or category raise as they
    do in `add_request`.
    """
    policy = vault.policy(policy_id)
    kind, channel = _intake_args(policy, kind, channel, categories)
    subject, unmatched = _match(vault, uow, policy, phone=phone, subject_id=subject_id)
    requirements, reasons = _intake_reasons(
        policy, channel, (written or WrittenDetails()).present(), unmatched
    )
    received = utc(received_at) if received_at is not None else vault.clock.now()
    due = due_at(received, policy.requests.deadline)
    return RequestCheck(
        policy_id=policy.id,
        kind=kind,
        channel=channel.value,
        language=check_lang(language) if language is not None else policy.policy.language,
        received_at=received,
        due_at=due,
        due_date=due.astimezone(_zone(vault, policy.id)).date(),
        subject_pseudonym=subject.pseudonym if subject is not None else None,
        requirements=requirements,
        reasons=tuple(reasons),
    )


# --------------------------------------------------------------------------- reading


def get_request(vault: Vault, uow: UnitOfWork, request_id: str) -> RequestRead:
    return _to_read(vault, _row(uow, request_id))


def list_requests(
    vault: Vault,
    uow: UnitOfWork,
    *,
    now: datetime | None = None,
    overdue: bool = False,
    open_only: bool = False,
    policy_id: str | None = None,
    state: RequestState | str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
    subject_id: str | None = None,
) -> list[RequestRead]:
    """Requests by due date; `open_only` keeps the open ones, `overdue` those past due,
    `state` those in it, `subject_id` one subject's. A page: the first `limit` after `after`
    (the last one's due instant and id)."""
    at = utc(now) if now is not None else vault.clock.now()
    query = select(SubjectRequest)
    if policy_id is not None:
        query = query.where(SubjectRequest.policy_id == policy_id)
    if subject_id is not None:
        query = query.where(SubjectRequest.subject_id == subject_id)
    if state is not None:
        query = query.where(SubjectRequest.state == RequestState(state).value)
    if after is not None:
        due, last = utc(after[0]), after[1]
        query = query.where(
            or_(
                SubjectRequest.due_at > due,
                and_(SubjectRequest.due_at == due, SubjectRequest.id > last),
            )
        )
    if limit is not None:
        query = query.limit(limit)
    if open_only or overdue:
        query = query.where(SubjectRequest.state.not_in([s.value for s in TERMINAL_STATES]))
    if overdue:
        query = query.where(SubjectRequest.due_at < at)
        # On hold the due date is suspended: overdue only if it was late when suspended.
        query = query.where(
            or_(
                SubjectRequest.state != RequestState.ON_HOLD.value,
                SubjectRequest.suspended_at > SubjectRequest.due_at,
            )
        )
    rows = uow.records.scalars(query.order_by(SubjectRequest.due_at, SubjectRequest.id))
    return [_to_read(vault, row) for row in rows]


def request_history(vault: Vault, uow: UnitOfWork, request_id: str) -> list[AuditEntryRead]:
    """Every audit entry of a request, oldest first (its states and what was done)."""
    _row(uow, request_id)
    rows = uow.records.execute(
        select(AuditEntry.__table__)
        .where(AuditEntry.reference == request_id)
        .order_by(AuditEntry.seq)
    )
    return [AuditEntryRead.model_validate(dict(r._mapping)) for r in rows]


# --------------------------------------------------------------------------- corrections

#: Reason codes of a requester intake could not match to a subject.
_UNMATCHED = (
    "phone_invalid",
    "requester_not_identified",
    "subject_not_found",
    "subject_not_matched",
)
#: A withdrawal's reason: a short code (`typo`, `duplicate`, `wrong_subject`), never a text.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,59}")


def _not_answered(row: SubjectRequest, step: str) -> None:
    state = RequestState(row.state)
    if state in (RequestState.ANSWERED, RequestState.WITHDRAWN) or row.answered_at is not None:
        done = "its refusal was answered" if state is RequestState.REJECTED else state.value
        raise RequestStateConflict(
            f"request {row.id} is {state.value} ({done}): only a request not yet answered is "
            f"{step}",
            hint="a correction after the answer is a new request: `mexfi requests add …`",
        )


def amend_request(
    vault: Vault,
    uow: UnitOfWork,
    request_id: str,
    *,
    actor: Actor,
    phone: str | None = None,
    subject_id: str | None = None,
    written: WrittenDetails | None = None,
    channel: RequestChannel | str | None = None,
    language: str | None = None,
    categories: Collection[str] | None = None,
    include_passive: bool | None = None,
    received_at: datetime | None = None,
) -> RequestRead:
    """Correct a request not yet answered (open, or rejected and its refusal not yet sent)
    and run intake's checks on it again: it ends `in_progress` (or as intake leaves a
    verified request) or `rejected` with the reasons that are left.

    Identity details given are added to what the request already showed (TX-11's
    requirements are kept as met/unmet); a corrected phone or subject id is matched again,
    the phone through the blind index only and kept nowhere. Channel, language, categories,
    `include_passive` and the time of receipt (with it the due date) replace the old ones.
    The audit log keeps the history: one `<kind>:amended:<fields>` entry naming what changed
    (field and requirement names, never a value), then the states of the new check. A
    request on hold is partly carried out and is not amended.
    """
    row = _row(uow, request_id, lock=True)
    _not_answered(row, "amended")
    before = RequestState(row.state)
    if before is RequestState.ON_HOLD:
        raise RequestStateConflict(
            f"request {row.id} is on hold and partly carried out: it is not amended",
            hint=f"withdraw it (`mexfi requests withdraw {row.id} --reason …`) and add a new "
            "one, or lift the hold that keeps it",
        )
    if before is RequestState.LOCKED:
        raise RequestStateConflict(
            f"request {row.id} is locked after wrong codes: it is not amended",
            hint=f"verify it out of band or reject it; a request entered wrongly is withdrawn "
            f"(`mexfi requests withdraw {row.id} --reason typo`) and added again",
        )
    if phone is not None and subject_id is not None:
        raise InvalidRequest("an amendment gives a phone or a subject id, not both")
    policy = vault.policy(row.policy_id)
    kind = RequestKind(row.kind)
    changed: list[str] = []
    if channel is not None:
        _, new_channel = _intake_args(policy, kind, channel, ())
        if new_channel.value != row.channel:
            row.channel = new_channel.value
            changed.append("channel")
    if categories is not None:
        _check_categories(policy, categories)
        joined = ",".join(dict.fromkeys(categories))
        if joined != row.categories:
            row.categories = joined
            changed.append("categories")
    if include_passive is not None and include_passive != row.include_passive:
        row.include_passive = include_passive
        changed.append("include_passive")
    lang = check_lang(language) if language is not None else None
    if lang is not None and lang != row.language:
        row.language = lang
        changed.append("language")
    if received_at is not None:
        row.received_at = utc(received_at)
        row.due_at = due_at(row.received_at, policy.requests.deadline)
        changed.append("received_at")
    subject: SubjectRead | None = None
    unmatched: str | None = None
    matched_before = row.subject_id
    if phone is not None or subject_id is not None:
        subject, unmatched = _match(vault, uow, policy, phone=phone, subject_id=subject_id)
        row.subject_id = subject.id if subject is not None else None
        row.subject_pseudonym = subject.pseudonym if subject is not None else None
        changed.append("phone" if phone is not None else "subject")
    elif row.subject_id is not None:
        subject = vault.subject(uow, row.subject_id)
    else:
        # What the request was matched by is not kept (a phone never is): the reason stays.
        previous = json.loads(row.reasons or "[]")
        unmatched = next((r for r in previous if r in _UNMATCHED), "requester_not_identified")
    known = json.loads(row.requirements or "{}")
    given = written.present() if written is not None else {}
    present = {r: bool(known.get(r.value)) or bool(given.get(r)) for r in RequestRequirement}
    changed += [r.value for r in RequestRequirement if given.get(r) and not known.get(r.value)]
    if not changed:
        raise InvalidRequest(
            f"the amendment of request {row.id} changes nothing",
            hint="give what to correct: --phone, --subject, identity details (--id-series, "
            "--fin, …), --category, --lang, --channel, --received-at",
        )
    refuse_personal_data(actor.id, field="the actor id")
    now = vault.clock.now()
    row.amended_at = now
    # The bases a verified request opened are closed: the check opens them again.
    vault.close_request(uow, row.id, at=now)
    vault.audit.append(uow.records, _event(vault, row, actor, "amended", codes=changed, at=now))
    _move(vault, uow, row, RequestState.VERIFYING, actor)
    checked = _verify(
        vault, uow, policy, row, actor,
        subject=subject, unmatched=unmatched, present=present, language=lang, written=written,
    )  # fmt: skip
    if (
        before is RequestState.IN_PROGRESS
        and checked.state is RequestState.VERIFYING
        and row.subject_id == matched_before
        and row.verification
    ):
        # Verified before, and still the same subject: its proof stands; the bases reopen
        # with what the amendment changed.
        row = open_verified(vault, uow, row, actor, method=row.verification, codes=["amended"])
        return _to_read(vault, row)
    return checked


def withdraw_request(
    vault: Vault, uow: UnitOfWork, request_id: str, *, actor: Actor, reason: str
) -> RequestRead:
    """Withdraw a request entered by mistake, with a reason code (`typo`, `duplicate`, …):
    it becomes `withdrawn`, closed, neither a refusal nor ever overdue, and no letter
    answers it. A real request that fails TX-11 is not withdrawn but refused
    (`answer_request` on the rejected request writes the reasoned refusal). What an on-hold
    destruction already destroyed stays destroyed; the rest is no longer carried out."""
    row = _row(uow, request_id, lock=True)
    _not_answered(row, "withdrawn")
    if not _CODE.fullmatch(reason):
        raise InvalidRequest(
            "a withdrawal's reason is a short code in lower case",
            hint="e.g. --reason typo, --reason duplicate, --reason wrong_subject",
        )
    refuse_personal_data(reason, field="a withdrawal reason")
    refuse_personal_data(actor.id, field="the actor id")
    row = _move(
        vault,
        uow,
        row,
        RequestState.WITHDRAWN,
        actor,
        codes=[reason],
        changes={"reasons": json.dumps([reason])},
    )
    return _to_read(vault, row)


def _refusal(vault: Vault, uow: UnitOfWork, row: SubjectRequest, actor: Actor) -> Answer:
    """Answer a rejected request with its reasoned refusal (TX-11): the letter says what was
    missing; the request stays `rejected`, now answered (no longer amendable)."""
    now = vault.clock.now()
    row.answered_at = now
    row.updated_at = now
    reasons = json.loads(row.reasons or "[]")
    vault.audit.append(uow.records, _event(vault, row, actor, "refused", codes=reasons, at=now))
    uow.records.flush()
    done = _to_read(vault, row)
    subject = vault.subject(uow, row.subject_id) if row.subject_id is not None else None
    policy = vault.policy(row.policy_id)
    return Answer(request=done, data=answers.answer_header(policy, done, subject))


# --------------------------------------------------------------------------- answering


def reject_request(
    vault: Vault, uow: UnitOfWork, request_id: str, *, actor: Actor, reasons: Collection[str]
) -> RequestRead:
    """Close an open request with reason codes (e.g. `identity_not_confirmed`)."""
    row = _row(uow, request_id, lock=True)
    if RequestState(row.state) in TERMINAL_STATES:
        raise RequestStateConflict(f"request {request_id!r} is already {row.state}")
    if not reasons:
        raise InvalidRequest("a rejection names its reasons")
    codes = list(reasons)
    # Stored in the request and the append-only audit log: codes, never personal data.
    for code in codes:
        refuse_personal_data(code, field="a rejection reason")
    refuse_personal_data(actor.id, field="the actor id")
    row = _move(
        vault,
        uow,
        row,
        RequestState.REJECTED,
        actor,
        codes=codes,
        changes={"reasons": json.dumps(codes)},
    )
    return _to_read(vault, row)


#: How a rectification names what to change, as the command line takes it.
SET_SYNTAX = "--set CATEGORY.FIELD=VALUE, e.g. --set registration.phone=+994…"


def _rectification_targets(
    vault: Vault,
    uow: UnitOfWork,
    policy: Policy,
    request: RequestRead,
    changes: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """{record id: {field: value}} of `changes`, each keyed by a category (the subject's one
    active record of it) or by a record id. Errors name categories, fields and ids, never a
    value: the new values are personal data."""
    assert request.subject_id is not None  # verified requests matched their subject
    subject = vault.subject(uow, request.subject_id)
    purpose = policy.requests.purposes.rectification
    reachable = [
        c
        for c in policy.purpose(purpose).categories
        if c in {k.id for k in policy.categories_of(subject.kind)}
        and (not request.categories or c in request.categories)
    ]
    declared = {c.id for c in policy.categories}
    by_category = {k: v for k, v in changes.items() if k in declared}
    by_id = {k: v for k, v in changes.items() if k not in declared}
    targets: dict[str, dict[str, Any]] = {}
    own = vault.records_of(uow, subject.id, list(by_id))
    for record_id, values in by_id.items():
        if record_id not in own:
            raise InvalidRequest(
                f"{record_id!r} is neither a category of policy {policy.id!r} nor an active "
                f"record of subject {subject.id}",
                hint=f"{SET_SYNTAX}; categories this request may rectify: "
                f"{', '.join(reachable) or 'none'}",
            )
        targets.setdefault(record_id, {}).update(values)
    zone = _zone(vault, policy.id)
    for category_id, values in by_category.items():
        if category_id not in reachable:
            raise InvalidRequest(
                f"category {category_id!r} cannot be rectified under request {request.id}",
                hint=f"categories this request may rectify: {', '.join(reachable) or 'none'}",
            )
        fields = [f.name for f in policy.category(category_id).fields]
        unknown = [name for name in values if name not in fields]
        if unknown:
            raise InvalidRequest(
                f"category {category_id!r} has no field {unknown[0]!r}",
                hint=f"its fields: {', '.join(fields)}",
            )
        records = vault.active_records(uow, subject.id, category_id)
        if len(records) > 1:
            listed = ", ".join(
                f"{r.id} (collected {r.collected_at.astimezone(zone):%Y-%m-%d %H:%M})"
                for r in records
            )
            count = len(records)
            raise InvalidRequest(
                f"subject {subject.id} has {count} active {category_id!r} records: {listed}",
                hint=f"name the record instead of the category: --set RECORD_ID.FIELD=VALUE, "
                f"e.g. --set {records[-1].id}.{next(iter(values))}=…",
            )
        if not records:
            destroyed = vault.destruction_of(uow, subject.id, category_id)
            if destroyed is not None:
                why = destroyed.rule_id or (
                    f"request {destroyed.request_id}" if destroyed.request_id else destroyed.reason
                )
                clauses = f", {', '.join(destroyed.clauses)}" if destroyed.clauses else ""
                raise InvalidRequest(
                    f"the {category_id!r} data of subject {subject.id} was destroyed on "
                    f"{destroyed.at.astimezone(zone).isoformat(timespec='seconds')} "
                    f"({why}{clauses}; certificate {destroyed.evidence_id}): "
                    f"{', '.join(sorted(values))} can no longer be rectified",
                    hint=f"`mexfi retention certificates {subject.id}` shows the certificate; "
                    f"answer the request with a refusal: `mexfi requests reject {request.id} "
                    f"--reason data_destroyed_{category_id}`",
                )
            raise InvalidRequest(
                f"subject {subject.id} has no active {category_id!r} record to rectify",
                hint="only active records are rectified; the subject's categories: "
                "`mexfi subjects show`",
            )
        targets.setdefault(records[0].id, {}).update(values)
    return targets


def _rectify(
    vault: Vault,
    uow: UnitOfWork,
    policy: Policy,
    request: RequestRead,
    changes: Mapping[str, Mapping[str, Any]] | None,
    actor: Actor,
) -> dict[str, Any]:
    if not changes:
        raise InvalidRequest(
            f"rectification request {request.id} names no field to change",
            hint=f"give each new value: `mexfi requests answer {request.id} {SET_SYNTAX}` "
            "(repeatable; RECORD_ID.FIELD=VALUE names one record)",
        )
    targets = _rectification_targets(vault, uow, policy, request, changes)
    for record_id, values in targets.items():
        vault.rectify(
            uow,
            record_id,
            values,
            actor=actor,
            purpose=policy.requests.purposes.rectification,
            request_id=request.id,
        )
    return {
        "records": sorted(targets),
        "fields": {r: sorted(v) for r, v in sorted(targets.items())},
    }


def _destroy(
    vault: Vault, uow: UnitOfWork, request: RequestRead, subject: SubjectRead, actor: Actor
) -> tuple[dict[str, Any], list[str]]:
    policy = vault.policy(subject.policy_id)
    wanted = list(request.categories) or [c.id for c in policy.categories_of(subject.kind)]
    held = holds_on(uow, policy.id, subject.id, wanted)
    free = [c for c in wanted if c not in held]
    outcome: dict[str, Any] = {
        "destroyed": free,
        "held": dict(sorted(held.items())),
        "records_destroyed": 0,
    }
    if free:
        # The keys and rows go right after this unit of work commits (with the answer).
        report = vault.destroy(
            uow,
            subject.id,
            free,
            reason="subject_request",
            actor=actor,
            request_id=request.id,
            clauses=_right_clauses(policy, request.kind),
        )
        outcome["records_destroyed"] = report.records_destroyed
        outcome["evidence_id"] = report.evidence_id
    return outcome, [f"legal_hold_{c}" for c in sorted(held)]


def _withdraw_consent(
    vault: Vault, uow: UnitOfWork, subject: SubjectRead, actor: Actor
) -> dict[str, Any]:
    consents = vault.written_consents(uow, subject.id)
    for consent_id in consents:
        vault.withdraw_written_consent(uow, consent_id, actor=actor)
    # Consent is what processing rests on (TX-2): without it only what the law requires
    # (rectification, the subject's own requests, lawful requests) goes on.
    vault.set_status(uow, subject.id, "prohibited", actor=actor, reason="consent_withdrawn")
    return {"written_consents_withdrawn": len(consents), "status": "prohibited"}


def answer_request(
    vault: Vault,
    uow: UnitOfWork,
    request_id: str,
    *,
    actor: Actor,
    changes: Mapping[str, Mapping[str, Any]] | None = None,
) -> Answer:
    """Carry out an `in_progress` request and answer it; the request becomes `answered`.

    What the request does and its new state commit together with the caller's unit of
    work. `changes` is what a rectification sets, {category or record id: {field: value}}:
    a category means the subject's one active record of it. The values go straight to the
    vault and are not kept with the request.

    A rejected request not yet answered gets its reasoned refusal (TX-11; nothing is carried
    out). A destruction a legal hold blocks destroys what is free and goes `on_hold`
    (`_hold`); answering an `on_hold` request again carries out what its holds released.
    """
    row = _row(uow, request_id, lock=True)
    request = _to_read(vault, row)
    if request.state in (RequestState.VERIFYING, RequestState.LOCKED):
        # Nothing of the subject leaves, nor changes, before its author is proven to be it.
        raise RequestStateConflict(
            f"request {request_id} is not verified ({request.state.value}): its author has "
            "not been proven to be the subject, so it is not answered",
            hint=UNVERIFIED_HINT.format(id=request_id),
        )
    if request.state is RequestState.REJECTED and request.answered_at is None:
        return _refusal(vault, uow, row, actor)
    if request.state is RequestState.ON_HOLD:
        return _resume(vault, uow, row, actor)
    if request.state is not RequestState.IN_PROGRESS:
        raise RequestStateConflict(
            f"request {request_id!r} is {request.state.value}, not in_progress",
            hint="only a verified request is answered",
        )
    if request.subject_id is None:  # pragma: no cover - verification rejects these
        raise RequestStateConflict(f"request {request_id!r} matched no subject")
    subject = vault.subject(uow, request.subject_id)
    policy = vault.policy(subject.policy_id)
    try:
        with uow.savepoint():
            data, outcome, codes, count = _carry_out(vault, uow, request, subject, actor, changes)
    except PurposeDenied as exc:
        # The vault refused (e.g. a blocked subject's data is read for rectification only):
        # the request is answered with a reasoned refusal; the refusal is audited.
        codes = [f"processing_denied_{exc.reason}"]
        row = _move(
            vault,
            uow,
            row,
            RequestState.REJECTED,
            actor,
            codes=codes,
            # Answered with its refusal: no longer amended, nor refused a second time.
            changes={"reasons": json.dumps(codes), "answered_at": vault.clock.now()},
        )
        done = _to_read(vault, row)
        return Answer(request=done, data=answers.answer_header(policy, done, subject))
    if request.kind is RequestKind.DESTRUCTION and outcome.get("held"):
        return _hold(vault, uow, row, actor, outcome)
    row = _move(
        vault,
        uow,
        row,
        RequestState.ANSWERED,
        actor,
        codes=codes,
        count=count,
        changes={"outcome": json.dumps(outcome, sort_keys=True), "reasons": json.dumps(codes)},
    )
    done = _to_read(vault, row)
    header = answers.answer_header(policy, done, subject)
    return Answer(request=done, data={**header, **data})


def _carry_out(
    vault: Vault,
    uow: UnitOfWork,
    request: RequestRead,
    subject: SubjectRead,
    actor: Actor,
    changes: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[dict[str, Any], dict[str, Any], list[str], int]:
    """Do what the request asks; (answer data, outcome summary, reason codes, count)."""
    policy = vault.policy(subject.policy_id)
    kind = request.kind
    outcome: dict[str, Any] = {}
    codes: list[str] = []
    count = 1
    data: dict[str, Any]
    if kind is RequestKind.ACCESS:
        data = answers.export_access(
            vault,
            uow,
            subject.id,
            actor=actor,
            categories=request.categories or None,
            include_passive=request.include_passive,
            request_id=request.id,
        )
        count = len(data["records"])
        outcome = {"records": count, "access_log_entries": len(data["access_log"])}
    elif kind is RequestKind.EXISTENCE:
        data = answers.existence_data(vault, uow, subject, lang=request.language)
        outcome = {"exists": data["exists"]}
    elif kind is RequestKind.LEGAL_BASIS:
        data = answers.legal_basis_data(policy, subject.kind, lang=request.language)
    elif kind is RequestKind.PROCESSING_INFO:
        data = answers.processing_info_data(vault, uow, subject, actor=actor, lang=request.language)
        outcome = {"access_log_entries": len(data["access_log"])}
    elif kind is RequestKind.SOURCES:
        data = answers.sources_data(policy, subject.kind, lang=request.language)
    elif kind is RequestKind.OPERATOR_INFO:
        data = answers.operator_info_data(policy, subject.kind, lang=request.language)
    elif kind is RequestKind.RECTIFICATION:
        outcome = _rectify(vault, uow, policy, request, changes, actor)
        count = len(outcome["records"])
        data = {"rectified": outcome}
    elif kind is RequestKind.DESTRUCTION:
        outcome, codes = _destroy(vault, uow, request, subject, actor)
        count = int(outcome["records_destroyed"])
        data = {"destruction": outcome}
    elif kind in (RequestKind.PROHIBITION, RequestKind.BLOCKING, RequestKind.UNBLOCKING):
        status = {
            RequestKind.PROHIBITION: "prohibited",
            RequestKind.BLOCKING: "blocked",
            RequestKind.UNBLOCKING: "active",
        }[kind]
        vault.set_status(
            uow, subject.id, status, actor=actor, reason=f"subject_request_{kind.value}"
        )
        outcome = {"status": status}
        data = {"status": status}
    elif kind is RequestKind.WITHDRAW_CONSENT:
        outcome = _withdraw_consent(vault, uow, subject, actor)
        data = {"withdrawal": outcome}
    else:  # pragma: no cover - every kind is handled above
        raise Invalid(f"no handler for request kind {kind.value!r}")
    return data, outcome, codes, count


# --------------------------------------------------------------------------- holds


def _destruction_scope(policy: Policy, request: RequestRead, subject: SubjectRead) -> list[str]:
    """The categories answering a destruction request destroys now: an on-hold request the
    ones still waiting, else those it names (every category of the subject if none)."""
    if request.state is RequestState.ON_HOLD:
        return list(request.holds)
    return list(request.categories) or [c.id for c in policy.categories_of(subject.kind)]


def destruction_preview(vault: Vault, uow: UnitOfWork, request_id: str) -> DestructionPreview:
    """What answering this destruction request would destroy, by category, and what a legal
    hold keeps: record counts in both tiers, never a value; nothing changes. For the DPO's
    confirmation (the command line; later the API and the console)."""
    request = _to_read(vault, _row(uow, request_id))
    if request.kind is not RequestKind.DESTRUCTION:
        raise InvalidRequest(
            f"request {request_id} is a {request.kind.value} request, not a destruction",
            hint="only a destruction request has a preview",
        )
    if request.state not in (RequestState.IN_PROGRESS, RequestState.ON_HOLD):
        raise RequestStateConflict(
            f"request {request_id} is {request.state.value}: nothing would be destroyed",
            hint="a destruction is previewed once verified (in_progress) or while on hold",
        )
    assert request.subject_id is not None  # verified requests matched their subject
    subject = vault.subject(uow, request.subject_id)
    policy = vault.policy(subject.policy_id)
    wanted = _destruction_scope(policy, request, subject)
    stored = vault.record_counts(uow, subject.id)
    held = holds_on(uow, policy.id, subject.id, wanted)
    reasons = {
        h.id: h.reason
        for h in active_holds(uow, policy_id=policy.id, subject_id=subject.id)
        if h.id in held.values()
    }
    return DestructionPreview(
        request_id=request.id,
        policy_id=policy.id,
        subject_pseudonym=subject.pseudonym,
        counts={c: stored.get(c, 0) for c in wanted},
        holds=dict(sorted(held.items())),
        hold_reasons=reasons,
    )


def _merged(before: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, Any]:
    """A destruction's outcome over its steps: what each destroyed, what is still held."""
    evidence = [
        *before.get("evidence_ids", []),
        *(step["evidence_id"] for step in (before, now) if step.get("evidence_id")),
    ]
    merged: dict[str, Any] = {
        "destroyed": [*before.get("destroyed", []), *now.get("destroyed", [])],
        "held": dict(now.get("held", {})),
        "records_destroyed": int(before.get("records_destroyed", 0))
        + int(now.get("records_destroyed", 0)),
        "evidence_ids": list(dict.fromkeys(evidence)),
    }
    delayed = {*before.get("delayed_by", []), *before.get("held", {}).values()}
    if delayed:
        merged["delayed_by"] = sorted(delayed)
    return merged


def _hold_codes(prefix: str, hold_ids: Iterable[str]) -> list[str]:
    """`<prefix>_<hold id>` codes of an audit entry: three at most (the entry's reason is a
    short code; the request's `holds` column names them all)."""
    ids = sorted(set(hold_ids))
    codes = [f"{prefix}_{h}" for h in ids[:3]]
    return codes + ([f"and_{len(ids) - 3}_more"] if len(ids) > 3 else [])


def _hold(
    vault: Vault,
    uow: UnitOfWork,
    row: SubjectRequest,
    actor: Actor,
    outcome: Mapping[str, Any],
) -> Answer:
    """Leave a destruction `on_hold` on what its holds keep (`outcome["held"]`), the rest
    destroyed; the first suspension stops its due date (`calendar.days_left`)."""
    policy = vault.policy(row.policy_id)
    held: dict[str, str] = dict(outcome["held"])
    now = vault.clock.now()
    changes: dict[str, Any] = {
        "outcome": json.dumps(outcome, sort_keys=True),
        "holds": json.dumps(held, sort_keys=True),
        "reasons": json.dumps([f"legal_hold_{c}" for c in sorted(held)]),
    }
    if row.suspended_at is None:
        changes["suspended_at"] = now
        changes["days_left"] = days_left(row.due_at, now, policy.requests.deadline)
    codes = _hold_codes("hold", held.values())
    row = _move(
        vault,
        uow,
        row,
        RequestState.ON_HOLD,
        actor,
        codes=codes,
        count=int(outcome.get("records_destroyed", 0)) or 1,
        changes=changes,
    )
    done = _to_read(vault, row)
    assert row.subject_id is not None
    subject = vault.subject(uow, row.subject_id)
    header = answers.answer_header(policy, done, subject)
    return Answer(request=done, data={**header, "destruction": dict(outcome)})


def _resume(vault: Vault, uow: UnitOfWork, row: SubjectRequest, actor: Actor) -> Answer:
    """Carry out what an `on_hold` destruction still waits for, as far as its holds allow:
    `answered` once nothing is held (its due date resumed with the days it had left, see
    `calendar`), else still `on_hold` on the holds that remain."""
    request = _to_read(vault, row)
    assert request.subject_id is not None  # verified requests matched their subject
    subject = vault.subject(uow, request.subject_id)
    policy = vault.policy(subject.policy_id)
    step, _ = _destroy(
        vault, uow, replace(request, categories=tuple(request.holds)), subject, actor
    )
    outcome = _merged(request.outcome, step)
    if outcome["held"]:
        return _hold(vault, uow, row, actor, outcome)
    now = vault.clock.now()
    changes: dict[str, Any] = {
        "outcome": json.dumps(outcome, sort_keys=True),
        "reasons": "[]",
        "holds": "{}",
        "suspended_at": None,
        "days_left": None,
    }
    if row.suspended_at is not None:
        changes["due_at"] = resumed_due_at(
            row.due_at, row.suspended_at, row.days_left or 0, now, policy.requests.deadline
        )
    row = _move(
        vault,
        uow,
        row,
        RequestState.ANSWERED,
        actor,
        codes=_hold_codes("released", outcome.get("delayed_by", [])),
        count=int(outcome["records_destroyed"]) or 1,
        changes=changes,
    )
    done = _to_read(vault, row)
    header = answers.answer_header(policy, done, subject)
    return Answer(request=done, data={**header, "destruction": outcome})


def resume_released(vault: Vault, uow: UnitOfWork, hold_id: str, *, actor: Actor) -> list[Answer]:
    """The `on_hold` requests that waited on a hold, carried out now that it is lifted: call
    it in the unit of work that lifts the hold (`mexfi.retention.lift_hold`), so the lift
    and the destructions it releases commit together. A request another hold still keeps
    stays `on_hold`, naming it. Oldest request first."""
    rows = uow.records.scalars(
        select(SubjectRequest.id)
        .where(
            SubjectRequest.state == RequestState.ON_HOLD.value,
            SubjectRequest.holds.contains(hold_id),
        )
        .order_by(SubjectRequest.received_at, SubjectRequest.id)
    ).all()
    released: list[Answer] = []
    for request_id in rows:
        row = _row(uow, request_id, lock=True)
        waits_on = json.loads(row.holds or "{}").values()
        if row.state != RequestState.ON_HOLD.value or hold_id not in waits_on:
            continue
        released.append(_resume(vault, uow, row, actor))
    return released
