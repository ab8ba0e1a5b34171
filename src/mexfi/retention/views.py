"""The HTTP API of retention: runs and quarantine, legal holds, destruction certificates.

Mounted by `mexfi.api` under `/api/v1/retention`; the capability's `__init__` does not
import it. The DPO's: holds and certificates name subjects by id, never by a phone.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from mexfi.deps import (
    CallerDep,
    Page,
    UnitOfWorkDep,
    VaultDep,
    decode_cursor,
    encode_cursor,
    require_policy,
    require_roles,
)
from mexfi.requests import RequestState, resume_released
from mexfi.retention.schemas import HoldRead
from mexfi.retention.service import (
    active_holds,
    certificates,
    lift_hold,
    place_hold,
    retention_status,
)
from mexfi.vault import Actor, DestructionReport

__all__ = ["router"]

DPO_ROLE = "dpo"
MAX_PAGE = 200


#: The caller, if it acts as the DPO: holds, certificates and status are the DPO's.
DpoDep = Annotated[Actor, Depends(require_roles(DPO_ROLE))]

#: The caller, if it reads destruction certificates: the DPO, or the auditor (ids and counts).
CertificateReaderDep = Annotated[Actor, Depends(require_roles(DPO_ROLE, "auditor"))]

router = APIRouter(prefix="/retention", tags=["retention"])


# --------------------------------------------------------------------------- schemas


class RunOut(BaseModel):
    id: str
    as_of: datetime
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None
    status: str
    quarantined: int
    errors: list[dict[str, str]]


class QuarantineCount(BaseModel):
    policy: str
    category: str
    reason: str
    records: int


class QuarantinedOut(BaseModel):
    """A quarantined record: ids and evidence, never values."""

    record_id: str
    policy: str
    subject_id: str
    category: str
    tier: str
    key_id: str
    payload_sha256: str
    reason: str
    detected_by: str
    collected_at: datetime
    quarantined_at: datetime


class QuarantineOut(BaseModel):
    total: int
    by_category: list[QuarantineCount]
    records: list[QuarantinedOut]


class StatusOut(BaseModel):
    """The latest runs of the policy's store and its quarantine."""

    runs: list[RunOut]
    quarantine: QuarantineOut


class HoldOut(BaseModel):
    id: str
    policy_id: str
    subject_id: str | None
    category: str | None
    reason: str
    placed_by: str
    placed_at: datetime
    lifted_at: datetime | None

    @classmethod
    def of(cls, hold: HoldRead) -> HoldOut:
        return cls(**asdict(hold))


class HoldCreate(BaseModel):
    """A hold on a subject (by id), a category, or a subject's category."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(max_length=80)
    reason: str = Field(
        min_length=1, max_length=400, description="The lawful request or dispute; no names."
    )
    subject_id: str | None = Field(default=None, max_length=32)
    category: str | None = Field(default=None, max_length=80)


class ReleasedOut(BaseModel):
    """A destruction request the lifted hold kept waiting: carried out, or still on hold."""

    request_id: str
    state: RequestState
    records_destroyed: int
    destroyed: list[str]
    holds: dict[str, str]


class LiftOut(BaseModel):
    hold: HoldOut
    released: list[ReleasedOut]


class CertificateOut(BaseModel):
    """Evidence of one destruction (or of data a hold kept): ids and counts, never values."""

    id: str
    subject: str
    status: str
    rule: str | None
    request: str | None
    hold: str | None
    categories: list[str]
    clauses: list[str]
    key_ids: list[str]
    records_destroyed: int
    at: datetime

    @classmethod
    def of(cls, c: DestructionReport) -> CertificateOut:
        return cls(
            id=c.evidence_id,
            subject=c.subject_pseudonym,
            status=c.status,
            rule=c.rule_id,
            request=c.request_id,
            hold=c.hold_id,
            categories=list(c.categories),
            clauses=list(c.clauses),
            key_ids=list(c.key_ids),
            records_destroyed=c.records_destroyed,
            at=c.at,
        )


# --------------------------------------------------------------------------- routes


@router.get("/status", response_model=StatusOut)
def get_status(
    actor: DpoDep,
    caller: CallerDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    runs: Annotated[int, Query(ge=1, le=100)] = 10,
    quarantined: Annotated[int, Query(ge=0, le=500)] = 50,
) -> StatusOut:
    """The latest retention runs (of the whole store) and the quarantine of the key's
    policy (ids and counts)."""
    found: dict[str, Any] = retention_status(
        vault, uow, runs=runs, quarantined=quarantined
    ).to_dict()
    quarantine = found["quarantine"]
    # A key reaches its own policy's subjects only: the other policy's quarantine is not shown.
    mine = [q for q in quarantine["by_category"] if q["policy"] == caller.policy_id]
    quarantine["by_category"] = mine
    quarantine["records"] = [q for q in quarantine["records"] if q["policy"] == caller.policy_id]
    quarantine["total"] = sum(q["records"] for q in mine)
    return StatusOut.model_validate(found)


def _hold_keyset(keys: list[Any]) -> tuple[datetime, str]:
    """The keyset (an instant, an id) of a holds' or certificates' cursor."""
    placed, hold_id = keys
    return datetime.fromisoformat(placed), str(hold_id)


@router.get("/holds", response_model=Page[HoldOut])
def list_holds(
    actor: DpoDep,
    caller: CallerDep,
    uow: UnitOfWorkDep,
    subject_id: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page[HoldOut]:
    """The live legal holds of the key's policy (of one subject, by id, if given), oldest
    first, a page at a time."""
    after = decode_cursor(cursor, _hold_keyset)
    # Live holds are few (each one a lawful request or dispute): paged here, not in SQL.
    holds = sorted(
        active_holds(uow, policy_id=caller.policy_id, subject_id=subject_id),
        key=lambda h: (h.placed_at, h.id),
    )
    if after is not None:
        holds = [h for h in holds if (h.placed_at, h.id) > after]
    shown = holds[:limit]
    more = len(holds) > limit
    return Page[HoldOut](
        items=[HoldOut.of(h) for h in shown],
        next_cursor=encode_cursor(shown[-1].placed_at.isoformat(), shown[-1].id) if more else None,
    )


@router.post("/holds", status_code=status.HTTP_201_CREATED, response_model=HoldOut)
def place(
    body: HoldCreate, actor: DpoDep, caller: CallerDep, vault: VaultDep, uow: UnitOfWorkDep
) -> HoldOut:
    """Put a subject, a category, or a subject's category on legal hold."""
    require_policy(caller, body.policy_id)
    hold = place_hold(
        vault,
        uow,
        policy_id=body.policy_id,
        reason=body.reason,
        actor=actor,
        subject_id=body.subject_id,
        category=body.category,
    )
    return HoldOut.of(hold)


@router.post("/holds/{hold_id}/lift", response_model=LiftOut)
def lift(
    hold_id: str, actor: DpoDep, caller: CallerDep, vault: VaultDep, uow: UnitOfWorkDep
) -> LiftOut:
    """Lift a legal hold; the destruction requests it kept `on_hold` are carried out in the
    same transaction (their JSON answers come from `GET /requests/{id}`'s outcome)."""
    hold = lift_hold(vault, uow, hold_id, actor=actor)
    require_policy(caller, hold.policy_id)  # raising rolls the lift back
    released = resume_released(vault, uow, hold.id, actor=actor)
    return LiftOut(
        hold=HoldOut.of(hold),
        released=[
            ReleasedOut(
                request_id=a.request.id,
                state=a.request.state,
                records_destroyed=int(a.data.get("destruction", {}).get("records_destroyed", 0)),
                destroyed=list(a.data.get("destruction", {}).get("destroyed", [])),
                holds=a.request.holds,
            )
            for a in released
        ],
    )


@router.get("/certificates/{subject_id}", response_model=Page[CertificateOut])
def subject_certificates(
    subject_id: str,
    actor: CertificateReaderDep,
    caller: CallerDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page[CertificateOut]:
    """A subject's destruction certificates (by subject id): rule, clauses, key ids, time;
    oldest first, a page at a time."""
    require_policy(caller, vault.subject(uow, subject_id).policy_id)
    after = decode_cursor(cursor, _hold_keyset)
    # A subject's certificates are a handful: paged here, not in SQL.
    found = sorted(
        (CertificateOut.of(c) for c in certificates(vault, uow, subject_id, actor=actor)),
        key=lambda c: (c.at, c.id),
    )
    if after is not None:
        found = [c for c in found if (c.at, c.id) > after]
    shown = found[:limit]
    more = len(found) > limit
    return Page[CertificateOut](
        items=shown,
        next_cursor=encode_cursor(shown[-1].at.isoformat(), shown[-1].id) if more else None,
    )
