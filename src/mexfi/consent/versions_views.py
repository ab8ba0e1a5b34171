"""HTTP routes of policy acceptance (BK-1.2, BK-7.3, TX-2): a subject accepts a policy
version, which takes it off the list of those who must re-accept.

Mounted by `mexfi.api` under `/api/v1`; the capability's `__init__` does not import this
module. The operator's app backend (a service or system key) or the DPO records an
acceptance for a subject by id; a subject signed in records his own. Either may cite the
served notice (`X-Mexfi-Served-Notice` of `GET /policies/{policy_id}/notice/{lang}`): the
ledger entry then proves which text was accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from mexfi.consent.schemas import ConsentEntry, Method, Source
from mexfi.consent.versions import VERSION_PATTERN, accept_version, register_policy_version
from mexfi.deps import (
    CallerDep,
    SessionDep,
    SubjectActorDep,
    UnitOfWorkDep,
    VaultDep,
    require_policy,
    require_roles,
)
from mexfi.vault import Actor, Vault

__all__ = ["ACCEPTING_ROLES", "router"]

#: The roles that record an acceptance for a subject: the app's backend of each policy
#: (BakıKart's `service`, Taxsee's `system`) and the DPO (an acceptance given in writing).
ACCEPTING_ROLES = ("service", "system", "dpo")

router = APIRouter(tags=["consent"])


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(
        default=None,
        pattern=VERSION_PATTERN,
        description="The version accepted (default: the one in force).",
    )
    served_notice_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="The X-Mexfi-Served-Notice id of the policy notice the subject was shown.",
    )
    language: Literal["az", "en", "ru"] | None = Field(
        default=None,
        description="The language shown (default: the served notice's, else the policy's).",
    )


class SubjectAcceptIn(AcceptIn):
    source: Literal["app", "portal", "api"] = Field(
        default="app", description="Where the subject accepted."
    )


class MyAcceptIn(AcceptIn):
    source: Literal["app", "portal"] = Field(
        default="app", description="Where the subject accepted: the app or the portal."
    )


class AcceptedOut(BaseModel):
    """The acceptance on record: its ledger entry, never a personal value."""

    subject_id: str
    policy_id: str
    version: str
    entry_id: str
    seq: int
    holder: str
    served_notice_id: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, subject_id: str, entry: ConsentEntry) -> AcceptedOut:
        return cls(
            subject_id=subject_id,
            policy_id=entry.policy_id,
            version=entry.notice,
            entry_id=entry.id,
            seq=entry.seq,
            holder=entry.holder,
            served_notice_id=entry.served_notice_id,
            recorded_at=entry.recorded_at,
        )


def _accept(
    vault: Vault,
    uow: UnitOfWorkDep,
    subject_id: str,
    body: AcceptIn,
    *,
    actor: Actor,
    method: Method,
    source: Source,
) -> AcceptedOut:
    at = vault.clock.now()
    # The loaded policy is registered, as opening the store does: its version is on record.
    register_policy_version(uow, vault.policy(vault.subject(uow, subject_id).policy_id), at=at)
    entry = accept_version(
        vault,
        uow,
        subject_id=subject_id,
        actor_id=actor.id,
        actor_role=actor.role,
        at=at,
        method=method,
        source=source,
        version=body.version,
        served_notice_id=body.served_notice_id,
        language=body.language,
    )
    return AcceptedOut.of(subject_id, entry)


@router.post(
    "/consent/subjects/{subject_id}/accept",
    status_code=status.HTTP_201_CREATED,
    summary="Record that a subject accepted a policy version (the app's backend or the DPO)",
)
def accept_for_subject(
    subject_id: str,
    body: SubjectAcceptIn,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: Annotated[Actor, Depends(require_roles(*ACCEPTING_ROLES))],
) -> AcceptedOut:
    require_policy(caller, vault.subject(uow, subject_id).policy_id)
    return _accept(
        vault, uow, subject_id, body, actor=actor, method=Method.API, source=Source(body.source)
    )


@router.post(
    "/me/consent/accept",
    status_code=status.HTTP_201_CREATED,
    summary="The signed-in subject accepts a policy version",
)
def accept_mine(
    body: MyAcceptIn,
    session: SessionDep,
    actor: SubjectActorDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> AcceptedOut:
    return _accept(
        vault,
        uow,
        session.subject_id,
        body,
        actor=actor,
        method=Method.PORTAL,
        source=Source(body.source),
    )
