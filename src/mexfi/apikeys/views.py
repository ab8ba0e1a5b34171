"""HTTP routes of data subjects' sessions: sign in with a one-time code, then the subject's
own data and own requests.

Mounted by `mexfi.api` under `/api/v1`; the capability's `__init__` does not import this
module. The phone travels only in the body of `POST /sessions/start`; the token in
`Authorization: Bearer`. A session acts as the policy's role of the subject's kind, bound to
the subject (`Actor(..., subject_id=...)`), so the vault opens its own records only, and only
for the purposes the policy gives that role.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from mexfi.apikeys.sessions import revoke_session, start_session, verify_session
from mexfi.deps import (
    Page,
    PurposeDep,
    SessionDep,
    SubjectActorDep,
    UnitOfWorkDep,
    VaultDep,
    decode_cursor,
    due_keyset,
    no_kept_answer,
    page_of,
)
from mexfi.requests import CodeSender, RequestRead, code_sender, list_requests
from mexfi.vault import RecordRead, SubjectRead

__all__ = ["get_code_sender", "router"]

MAX_PAGE = 200


def get_code_sender() -> CodeSender:
    """The code sender `MEXFI_CODE_SENDER` names (tests override this dependency)."""
    return code_sender()


SenderDep = Annotated[CodeSender, Depends(get_code_sender)]

router = APIRouter(tags=["sessions"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionStart(_Body):
    policy_id: str = Field(max_length=80)
    phone: str = Field(max_length=40, description="The phone the subject registered with.")


class ChallengeOut(BaseModel):
    """A sign-in under way; the same answer whether or not the phone is registered."""

    challenge_id: str
    expires_at: datetime


class SessionVerify(_Body):
    challenge_id: str = Field(max_length=32)
    code: str = Field(max_length=20, description="The 6 digits the SMS gave.")


class SessionOut(BaseModel):
    """The session token, shown this once; send it as `Authorization: Bearer <token>`."""

    token: str
    session_id: str
    policy_id: str
    role: str
    expires_at: datetime


class MeOut(BaseModel):
    """The signed-in subject by its ids and state; never a personal value."""

    id: str
    policy_id: str
    kind: str
    pseudonym: str
    status: str
    role: str
    session_expires_at: datetime


Tier = Literal["active", "passive"]


def _active() -> list[Tier]:
    return ["active"]


class MyRead(_Body):
    categories: list[str] = Field(min_length=1, max_length=64)
    tiers: list[Tier] = Field(default_factory=_active)


class MyRecord(BaseModel):
    id: str
    category: str
    collected_at: datetime
    updated_at: datetime | None
    values: dict[str, object]
    tier: str

    @classmethod
    def of(cls, record: RecordRead) -> MyRecord:
        return cls(
            id=record.id,
            category=record.category,
            collected_at=record.collected_at,
            updated_at=record.updated_at,
            values=dict(record.values),
            tier=record.tier,
        )


class MyData(BaseModel):
    purpose: str
    records: list[MyRecord]


class MyRequest(BaseModel):
    """One of the subject's own requests: where it stands, and by when it is answered."""

    id: str
    kind: str
    state: str
    received_at: datetime
    due_date: date
    answered_at: datetime | None

    @classmethod
    def of(cls, request: RequestRead) -> MyRequest:
        return cls(
            id=request.id,
            kind=request.kind.value,
            state=request.state.value,
            received_at=request.received_at,
            due_date=request.due_date,
            answered_at=request.answered_at,
        )


@router.post(
    "/sessions/start",
    status_code=status.HTTP_202_ACCEPTED,
    summary="A data subject asks for a sign-in code (the phone in the body)",
)
def start(
    body: SessionStart, vault: VaultDep, uow: UnitOfWorkDep, sender: SenderDep
) -> ChallengeOut:
    challenge = start_session(vault, uow, policy_id=body.policy_id, phone=body.phone, sender=sender)
    return ChallengeOut(challenge_id=challenge.id, expires_at=challenge.expires_at)


@router.post(
    "/sessions/verify",
    status_code=status.HTTP_201_CREATED,
    summary="The code read back opens a 15-minute session of the subject's own data",
)
def verify(body: SessionVerify, vault: VaultDep, uow: UnitOfWorkDep) -> SessionOut:
    created = verify_session(vault, uow, body.challenge_id, body.code)
    return SessionOut(
        token=created.token,
        session_id=created.session.id,
        policy_id=created.session.policy_id,
        role=created.session.role,
        expires_at=created.session.expires_at,
    )


@router.post(
    "/sessions/end",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out: the session's token stops working now",
    dependencies=[Depends(no_kept_answer)],
)
def end(session: SessionDep, vault: VaultDep, uow: UnitOfWorkDep) -> None:
    revoke_session(vault, uow, session)


def _me(vault: VaultDep, uow: UnitOfWorkDep, session: SessionDep) -> SubjectRead:
    return vault.subject(uow, session.subject_id)


@router.get("/me", summary="The signed-in subject's ids and status")
def me(session: SessionDep, subject: Annotated[SubjectRead, Depends(_me)]) -> MeOut:
    return MeOut(
        id=subject.id,
        policy_id=subject.policy_id,
        kind=subject.kind,
        pseudonym=subject.pseudonym,
        status=subject.status,
        role=session.role,
        session_expires_at=session.expires_at,
    )


@router.post(
    "/me/read",
    summary="The subject's own records, for a purpose the policy gives the subject's role",
    dependencies=[Depends(no_kept_answer)],
)
def read_mine(
    body: MyRead,
    session: SessionDep,
    actor: SubjectActorDep,
    purpose: PurposeDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> MyData:
    data = vault.read(
        uow, session.subject_id, body.categories, purpose=purpose, actor=actor, tiers=body.tiers
    )
    return MyData(purpose=data.purpose, records=[MyRecord.of(r) for r in data.records])


@router.get("/me/requests", summary="The subject's own requests and where they stand")
def my_requests(
    session: SessionDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page[MyRequest]:
    found = list_requests(
        vault,
        uow,
        policy_id=session.policy_id,
        subject_id=session.subject_id,
        after=decode_cursor(cursor, due_keyset),
        limit=limit + 1,
    )
    page = page_of(found, limit, lambda r: (r.due_at.isoformat(), r.id))
    return Page[MyRequest](
        items=[MyRequest.of(r) for r in page.items], next_cursor=page.next_cursor
    )
