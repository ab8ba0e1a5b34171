"""The request workflow: intake, verification, deadline, answer; every step audited.

States: received → verifying → in_progress → answered | rejected. Each change is
an `AuditAction.REQUEST` entry whose `reference` is the request id and whose
`reason` is `"<kind>:<state>"` (plus reason codes on a rejection): codes and ids,
never a personal value. The requester's phone only feeds the vault's blind index;
what a written request carries to identify its author is kept as present/absent.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mexfi.audit import AuditAction, AuditEntry, AuditEntryRead, AuditEvent
from mexfi.clock import utc
from mexfi.db import UnitOfWork, new_id
from mexfi.errors import Invalid
from mexfi.policy import LANGS, Lang, Policy, RequestChannel, check_lang
from mexfi.requests import answers
from mexfi.requests.calendar import due_at, local_zone
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
    RequestKind,
    RequestRead,
    RequestState,
    WrittenDetails,
)
from mexfi.retention import holds_on
from mexfi.scan import refuse_personal_data
from mexfi.vault import Actor, InvalidValue, PurposeDenied, SubjectNotFound, SubjectRead, Vault

__all__ = [
    "PAPER_CHANNELS",
    "add_request",
    "answer_request",
    "get_request",
    "list_requests",
    "offered_kinds",
    "reject_request",
    "request_history",
]

#: Channels on paper: the written requirements of TX-11 apply to them.
PAPER_CHANNELS = frozenset(
    {RequestChannel.WRITTEN, RequestChannel.REGISTERED_MAIL, RequestChannel.IN_PERSON}
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
    )


def _zone(vault: Vault, policy_id: str) -> Any:
    return local_zone(vault.policy(policy_id).requests.deadline.jurisdiction)


def _to_read(vault: Vault, row: SubjectRequest) -> RequestRead:
    return _read(row, {row.policy_id: _zone(vault, row.policy_id)})


def _event(
    vault: Vault,
    row: SubjectRequest,
    actor: Actor,
    state: RequestState,
    *,
    codes: Iterable[str] = (),
    count: int = 1,
    at: datetime,
) -> AuditEvent:
    policy = vault.policy(row.policy_id)
    reason = f"{row.kind}:{state.value}"
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
    """Receive a request, verify it, and leave it `in_progress` or `rejected` with reasons.

    A right the policy does not list is refused (`RightNotOffered`) and nothing is stored.
    """
    policy = vault.policy(policy_id)
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
            f"policy {policy_id!r} does not list the right {kind.right.value!r}, so a "
            f"{kind.value!r} request cannot be made under it",
            policy_id=policy_id,
            right=kind.right.value,
            hint=f"policy {policy_id!r} offers: {offered}",
        )
    declared = {c.id for c in policy.categories}
    unknown = [c for c in categories if c not in declared]
    if unknown:
        raise InvalidRequest(f"category {unknown[0]!r} is not declared in policy {policy_id!r}")
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

    reasons: list[str] = []
    if channel not in policy.requests.channels:
        reasons.append(f"channel_not_accepted_{channel.value}")
    requirements: dict[str, bool] = {}
    if channel in PAPER_CHANNELS and policy.requests.written_requirements:
        present = (written or WrittenDetails()).present()
        requirements = {r.value: present[r] for r in policy.requests.written_requirements}
        reasons += [f"missing_{name}" for name, ok in requirements.items() if not ok]
    if unmatched is not None:
        reasons.append(unmatched)
    changes = {"requirements": json.dumps(requirements, sort_keys=True)}
    if reasons:
        changes["reasons"] = json.dumps(reasons)
        done = _move(vault, uow, row, RequestState.REJECTED, actor, codes=reasons, changes=changes)
    else:
        _open_bases(vault, uow, policy, row, kind, categories, actor)
        if language is None:
            changes["language"] = (
                _subject_language(vault, uow, policy, subject, actor, row.id) or lang
            )
        done = _move(vault, uow, row, RequestState.IN_PROGRESS, actor, changes=changes)
    return _to_read(vault, done)


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
) -> list[RequestRead]:
    """Requests by due date; `open_only` keeps the open ones, `overdue` those past due."""
    at = utc(now) if now is not None else vault.clock.now()
    query = select(SubjectRequest)
    if policy_id is not None:
        query = query.where(SubjectRequest.policy_id == policy_id)
    if open_only or overdue:
        query = query.where(SubjectRequest.state.not_in([s.value for s in TERMINAL_STATES]))
    if overdue:
        query = query.where(SubjectRequest.due_at < at)
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
            "a rectification names the records to change and their new values",
            hint="changes={record_id: {field: new value}}",
        )
    assert request.subject_id is not None  # verified requests matched their subject
    own = vault.records_of(uow, request.subject_id, list(changes))
    foreign = [r for r in changes if r not in own]
    if foreign:
        raise InvalidRequest(f"record {foreign[0]!r} is not an active record of this subject")
    for record_id, values in changes.items():
        vault.rectify(
            uow,
            record_id,
            values,
            actor=actor,
            purpose=policy.requests.purposes.rectification,
            request_id=request.id,
        )
    return {
        "records": sorted(changes),
        "fields": {r: sorted(v) for r, v in sorted(changes.items())},
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
    work. `changes` ({record id: {field: value}}) is what a rectification sets; the values
    go straight to the vault and are not kept with the request.
    """
    row = _row(uow, request_id, lock=True)
    request = _to_read(vault, row)
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
            changes={"reasons": json.dumps(codes)},
        )
        done = _to_read(vault, row)
        return Answer(request=done, data=answers.answer_header(policy, done, subject))
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
