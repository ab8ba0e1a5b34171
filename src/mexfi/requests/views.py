"""The HTTP API of data-subject requests: intake, verification, status, answers, letters.

Mounted by `mexfi.api` under `/api/v1/requests`; the capability's `__init__` does not
import it. Personal data (a requester's phone, identity details, a rectification's new
values, a JSON answer) travel only in bodies; paths carry request ids and the query string
codes (a state, a policy id, a language). Every route hands its work to the service
functions, whose errors the API's problem handler renders.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from mexfi.deps import (
    CallerDep,
    Page,
    UnitOfWorkDep,
    VaultDep,
    decode_cursor,
    due_keyset,
    no_kept_answer,
    page_of,
    require_policy,
    require_roles,
)
from mexfi.policy import RequestChannel
from mexfi.requests.answers import answer_from_export, render_letter
from mexfi.requests.errors import InvalidRequest
from mexfi.requests.schemas import (
    DestructionPreview,
    RequestCheck,
    RequestKind,
    RequestRead,
    RequestState,
    WrittenDetails,
)
from mexfi.requests.service import (
    add_request,
    amend_request,
    answer_request,
    check_request,
    destruction_preview,
    get_request,
    list_requests,
    withdraw_request,
)
from mexfi.requests.verification import (
    CodeSender,
    OutOfBand,
    VerificationRead,
    code_sender,
    send_code,
    verification_status,
    verify_code,
    verify_out_of_band,
)
from mexfi.vault import Actor

__all__ = ["get_code_sender", "router"]

#: The role that handles requests over the API (both policies declare it).
DPO_ROLE = "dpo"
#: Requests a page holds at most.
MAX_PAGE = 200


def get_code_sender() -> CodeSender:
    """The code sender `MEXFI_CODE_SENDER` names (tests override this dependency)."""
    return code_sender()


#: The caller, if it acts as the DPO: only the DPO handles requests over the API.
DpoDep = Annotated[Actor, Depends(require_roles(DPO_ROLE))]


def _scoped(request_id: str, vault: VaultDep, uow: UnitOfWorkDep, caller: CallerDep) -> RequestRead:
    """The request the path names, if it is under the caller's key's policy."""
    request = get_request(vault, uow, request_id)
    require_policy(caller, request.policy_id)
    return request


#: The request of the path, in the caller's scope (`RequestNotFound`, `OutOfScope`).
ScopedDep = Annotated[RequestRead, Depends(_scoped)]
SenderDep = Annotated[CodeSender, Depends(get_code_sender)]

router = APIRouter(prefix="/requests", tags=["requests"])


# --------------------------------------------------------------------------- schemas


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WrittenDetailsIn(_Body):
    """What a written request carries to identify its author (TX-11): checked, then dropped."""

    id_document_series: str | None = Field(default=None, max_length=40)
    id_document_number: str | None = Field(default=None, max_length=40)
    id_issue_date: str | None = Field(default=None, max_length=40)
    id_issue_authority: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=400)
    fin: str | None = Field(default=None, max_length=20)
    contract_number: str | None = Field(default=None, max_length=80)
    contract_date: str | None = Field(default=None, max_length=40)
    relationship_other: str | None = Field(default=None, max_length=400)
    signed: bool = False
    full_name: str | None = Field(default=None, max_length=200)
    date_of_birth: str | None = Field(default=None, max_length=40)

    def details(self) -> WrittenDetails:
        return WrittenDetails(**self.model_dump())


class RequestCreate(_Body):
    """A request as received; the requester is named by a phone (the blind index only) or a
    subject id."""

    policy_id: str = Field(max_length=80)
    kind: RequestKind
    channel: RequestChannel
    phone: str | None = Field(default=None, max_length=40)
    subject_id: str | None = Field(default=None, max_length=32)
    language: Literal["az", "en", "ru"] | None = None
    written: WrittenDetailsIn | None = None
    categories: list[str] = Field(default_factory=list, max_length=50)
    include_passive: bool = False
    received_at: datetime | None = None


class RequestAmend(_Body):
    """What to correct in a request not yet answered; what is left out stays."""

    phone: str | None = Field(default=None, max_length=40)
    subject_id: str | None = Field(default=None, max_length=32)
    written: WrittenDetailsIn | None = None
    channel: RequestChannel | None = None
    language: Literal["az", "en", "ru"] | None = None
    categories: list[str] | None = Field(default=None, max_length=50)
    include_passive: bool | None = None
    received_at: datetime | None = None


class CodeIn(_Body):
    code: str = Field(max_length=20, description="The 6 digits the subject received.")


class OutOfBandIn(_Body):
    method: OutOfBand
    reason: str = Field(min_length=1, max_length=400, description="How; no personal data.")


class WithdrawIn(_Body):
    reason: str = Field(max_length=60, description="A code: typo, duplicate, wrong_subject.")


class AnswerIn(_Body):
    """`confirm` must be true to answer a destruction (see its preview first); `changes` is
    what a rectification sets: {category or record id: {field: value}}."""

    confirm: bool = False
    changes: dict[str, dict[str, Any]] | None = None


class LetterIn(_Body):
    """The JSON answer the answer returned (none for a refusal): the letter is written from
    it, nothing carried out again and nothing read from the store."""

    answer: dict[str, Any] | None = None


class RequestOut(BaseModel):
    """A request as stored: ids, codes, dates and flags; never a personal value."""

    id: str
    policy_id: str
    subject_pseudonym: str | None
    kind: RequestKind
    channel: str
    language: str
    state: RequestState
    received_at: datetime
    due_at: datetime
    due_date: date
    overdue: bool
    answered_at: datetime | None
    categories: list[str]
    include_passive: bool
    requirements: dict[str, bool]
    reasons: list[str]
    outcome: dict[str, Any]
    holds: dict[str, str]
    suspended_at: datetime | None
    days_left: int | None
    amended_at: datetime | None
    verification: str | None
    verified_at: datetime | None
    failed_attempts: int
    identity_checks: dict[str, str]

    @classmethod
    def of(cls, request: RequestRead, now: datetime) -> RequestOut:
        return cls.model_validate(request.to_dict(now))


class VerificationOut(BaseModel):
    """Where a request's verification stands; never a code."""

    request_id: str
    state: RequestState
    verified: bool
    method: str | None
    verified_at: datetime | None
    codes_sent: int
    failed_attempts: int
    attempts_left: int
    code_expires_at: datetime | None
    identity_checks: dict[str, str]

    @classmethod
    def of(cls, read: VerificationRead) -> VerificationOut:
        return cls.model_validate(read.to_dict())


class RequestStatus(BaseModel):
    """A request's state, due date and verification: no personal data."""

    request: RequestOut
    verification: VerificationOut


class CheckOut(BaseModel):
    """What intake would decide, nothing stored: reason codes (none: it passes), due date."""

    policy_id: str
    kind: RequestKind
    channel: str
    language: str
    received_at: datetime
    due_at: datetime
    due_date: date
    subject_pseudonym: str | None
    requirements: dict[str, bool]
    reasons: list[str]
    passes: bool

    @classmethod
    def of(cls, check: RequestCheck) -> CheckOut:
        return cls.model_validate(check.to_dict())


class PreviewCategory(BaseModel):
    category: str
    records: int
    hold: str | None


class PreviewOut(BaseModel):
    """What answering a destruction would destroy, by category; what legal holds keep."""

    request_id: str
    policy_id: str
    subject_pseudonym: str
    categories: list[PreviewCategory]
    records_destroyed: int
    records_held: int
    holds: dict[str, str]

    @classmethod
    def of(cls, preview: DestructionPreview) -> PreviewOut:
        return cls.model_validate(preview.to_dict())


class AnswerOut(BaseModel):
    """The request after its answer, and the JSON answer (the subject's data for an access
    request: kept nowhere by the store, so this is the one copy the API hands out)."""

    request: RequestOut
    answer: dict[str, Any]


#: A page of requests by due date (the shared `Page` and cursor of every list).
RequestPage = Page[RequestOut]


# --------------------------------------------------------------------------- intake


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestOut)
def create_request(
    body: RequestCreate, actor: DpoDep, caller: CallerDep, vault: VaultDep, uow: UnitOfWorkDep
) -> RequestOut:
    """Receive a request and check it (TX-11): `rejected` with reasons, or `verifying`."""
    require_policy(caller, body.policy_id)
    request = add_request(
        vault,
        uow,
        policy_id=body.policy_id,
        kind=body.kind,
        channel=body.channel,
        actor=actor,
        phone=body.phone,
        subject_id=body.subject_id,
        language=body.language,
        written=body.written.details() if body.written else None,
        categories=body.categories,
        include_passive=body.include_passive,
        received_at=body.received_at,
    )
    return RequestOut.of(request, vault.clock.now())


@router.post("/check", response_model=CheckOut)
def check(
    body: RequestCreate, actor: DpoDep, caller: CallerDep, vault: VaultDep, uow: UnitOfWorkDep
) -> CheckOut:
    """What intake would decide about a request, and its due date; nothing is stored."""
    require_policy(caller, body.policy_id)
    return CheckOut.of(
        check_request(
            vault,
            uow,
            policy_id=body.policy_id,
            kind=body.kind,
            channel=body.channel,
            phone=body.phone,
            subject_id=body.subject_id,
            language=body.language,
            written=body.written.details() if body.written else None,
            categories=body.categories,
            received_at=body.received_at,
        )
    )


@router.get("", response_model=RequestPage)
def list_(
    actor: DpoDep,
    caller: CallerDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    state: RequestState | None = None,
    policy_id: Annotated[str | None, Query(max_length=80)] = None,
    overdue: bool = False,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> RequestPage:
    """The requests of the key's policy by due date, a page at a time."""
    policy_id = policy_id or caller.policy_id
    require_policy(caller, policy_id)
    now = vault.clock.now()
    found = list_requests(
        vault,
        uow,
        now=now,
        overdue=overdue,
        policy_id=policy_id,
        state=state,
        after=decode_cursor(cursor, due_keyset),
        limit=limit + 1,
    )
    page = page_of(found, limit, lambda r: (r.due_at.isoformat(), r.id))
    return RequestPage(
        items=[RequestOut.of(r, now) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/{request_id}", response_model=RequestStatus)
def get_status(
    actor: DpoDep, request: ScopedDep, vault: VaultDep, uow: UnitOfWorkDep
) -> RequestStatus:
    """A request's state, due date and verification status; never personal data."""
    return RequestStatus(
        request=RequestOut.of(request, vault.clock.now()),
        verification=VerificationOut.of(verification_status(vault, uow, request.id)),
    )


# --------------------------------------------------------------------------- verification


@router.post("/{request_id}/code", response_model=VerificationOut)
def send(
    actor: DpoDep, request: ScopedDep, vault: VaultDep, uow: UnitOfWorkDep, sender: SenderDep
) -> VerificationOut:
    """Send a one-time code to the subject's registered phone (never shown here)."""
    return VerificationOut.of(send_code(vault, uow, request.id, actor=actor, sender=sender))


@router.post("/{request_id}/verify", response_model=RequestOut)
def verify(
    body: CodeIn, actor: DpoDep, request: ScopedDep, vault: VaultDep, uow: UnitOfWorkDep
) -> RequestOut:
    """Check the code the requester read back: right, the request goes `in_progress`."""
    verified = verify_code(vault, uow, request.id, body.code, actor=actor)
    return RequestOut.of(verified, vault.clock.now())


@router.post("/{request_id}/verify-out-of-band", response_model=RequestOut)
def verify_other_way(
    body: OutOfBandIn, actor: DpoDep, request: ScopedDep, vault: VaultDep, uow: UnitOfWorkDep
) -> RequestOut:
    """The DPO records having verified the requester another way (also opens a locked one)."""
    verified = verify_out_of_band(
        vault, uow, request.id, method=body.method, reason=body.reason, actor=actor
    )
    return RequestOut.of(verified, vault.clock.now())


# --------------------------------------------------------------------------- corrections


@router.post("/{request_id}/amend", response_model=RequestOut)
def amend(
    body: RequestAmend, actor: DpoDep, request: ScopedDep, vault: VaultDep, uow: UnitOfWorkDep
) -> RequestOut:
    """Correct a request not yet answered; intake's checks run again."""
    amended = amend_request(
        vault,
        uow,
        request.id,
        actor=actor,
        phone=body.phone,
        subject_id=body.subject_id,
        written=body.written.details() if body.written else None,
        channel=body.channel,
        language=body.language,
        categories=body.categories,
        include_passive=body.include_passive,
        received_at=body.received_at,
    )
    return RequestOut.of(amended, vault.clock.now())


@router.post("/{request_id}/withdraw", response_model=RequestOut)
def withdraw(
    body: WithdrawIn, actor: DpoDep, request: ScopedDep, vault: VaultDep, uow: UnitOfWorkDep
) -> RequestOut:
    """Withdraw a request entered by mistake, with a reason code."""
    withdrawn = withdraw_request(vault, uow, request.id, actor=actor, reason=body.reason)
    return RequestOut.of(withdrawn, vault.clock.now())


# --------------------------------------------------------------------------- answers


@router.get("/{request_id}/destruction-preview", response_model=PreviewOut)
def preview(actor: DpoDep, request: ScopedDep, vault: VaultDep, uow: UnitOfWorkDep) -> PreviewOut:
    """What answering this destruction would destroy (record counts) and what holds keep."""
    return PreviewOut.of(destruction_preview(vault, uow, request.id))


@router.post(
    "/{request_id}/answer", response_model=AnswerOut, dependencies=[Depends(no_kept_answer)]
)
def answer(
    body: AnswerIn, actor: DpoDep, request: ScopedDep, vault: VaultDep, uow: UnitOfWorkDep
) -> AnswerOut:
    """Carry out a verified request and answer it; a destruction needs `confirm: true`
    (its preview shows what goes); one a legal hold blocks goes `on_hold`."""
    if request.kind is RequestKind.DESTRUCTION and not body.confirm:
        raise InvalidRequest(
            f"request {request.id} is a destruction: answering it destroys data, so it is "
            "confirmed",
            hint=f"see GET /api/v1/requests/{request.id}/destruction-preview, then send "
            '{"confirm": true}',
        )
    done = answer_request(vault, uow, request.id, actor=actor, changes=body.changes)
    return AnswerOut(request=RequestOut.of(done.request, vault.clock.now()), answer=done.data)


_MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@router.post(
    "/{request_id}/letter",
    dependencies=[Depends(no_kept_answer)],
    response_class=Response,
    responses={200: {"content": {m: {} for m in _MEDIA.values()}}},
)
def letter(
    body: LetterIn,
    actor: DpoDep,
    request: ScopedDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    lang: Literal["az", "en", "ru"] | None = None,
    format: Literal["html", "pdf"] = "html",
) -> Response:
    """The letter of an answered (or refused) request, as HTML or PDF, in a language
    (default: the request's), from the JSON answer the answer returned; nothing is carried
    out again and nothing of the subject read."""
    document = render_letter(
        vault.policy(request.policy_id),
        answer_from_export(request, body.answer),
        format=format,
        lang=lang,
        dated=vault.clock.now(),
    )
    content = document.encode() if isinstance(document, str) else document
    return Response(content=content, media_type=_MEDIA[format])
