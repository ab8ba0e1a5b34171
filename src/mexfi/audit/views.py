"""The HTTP API of the audit log: verify it, read its entries, its latest checkpoint.

Mounted by `mexfi.api` under `/api/v1/audit`; the capability's `__init__` does not import
it. The auditor's (and the DPO's): entries carry codes and pseudonyms, never values. A
subject is named by its pseudonym (`ps_…`), never by a phone or a name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mexfi.audit.schemas import AuditAction, AuditCheckpointRead, AuditEntryRead, VerifyReport
from mexfi.audit.service import latest_checkpoint, read_entries
from mexfi.audit.verify import verify_log
from mexfi.deps import (
    CallerDep,
    Page,
    UnitOfWorkDep,
    VaultDep,
    decode_cursor,
    encode_cursor,
    require_roles,
)
from mexfi.errors import Invalid
from mexfi.vault import Actor

__all__ = ["router"]

#: The roles that read the audit log over the API.
AUDIT_ROLES = ("auditor", "dpo")
MAX_PAGE = 500


#: The caller, if its role reads the audit log.
AuditorDep = Annotated[Actor, Depends(require_roles(*AUDIT_ROLES))]

router = APIRouter(prefix="/audit", tags=["audit"])


#: Entries oldest first, the newest `limit` that match; `next_cursor` pages back (to older).
EntryPage = Page[AuditEntryRead]


@router.get("/verify", response_model=VerifyReport)
def verify(actor: AuditorDep, vault: VaultDep, uow: UnitOfWorkDep) -> VerifyReport:
    """Walk the hash chain, the signed checkpoints and the anchor file; `ok` is false and
    `problems` name the entries if anything was tampered with."""
    return verify_log(uow.records, public_key=vault.audit.public_key, anchor=vault.audit.anchor)


@router.get("/entries", response_model=EntryPage)
def entries(
    actor: AuditorDep,
    caller: CallerDep,
    uow: UnitOfWorkDep,
    subject: Annotated[
        str | None,
        Query(pattern=r"^ps_[0-9a-f]{24}$", description="The subject's pseudonym (ps_…)."),
    ] = None,
    by_actor: Annotated[str | None, Query(alias="actor", max_length=120)] = None,
    action: Annotated[list[AuditAction] | None, Query()] = None,
    purpose: Annotated[str | None, Query(max_length=80)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> EntryPage:
    """Audit entries of the key's policy (and the store's own, such as key rotations) that
    match every filter given: who did what to which subject's data, and why."""
    if since is not None and until is not None and until <= since:
        raise Invalid("until is not after since", hint="the range is since <= at < until")
    found = read_entries(
        uow.records,
        subject=subject,
        actions=action,
        actor=by_actor,
        purpose=purpose,
        since=since,
        until=until,
        limit=limit + 1,
        before=decode_cursor(cursor, lambda keys: int(keys[0])),
        policy=caller.policy_id,
    )
    page = found[1:] if len(found) > limit else found
    more = len(found) > limit and bool(page)
    return EntryPage(items=page, next_cursor=encode_cursor(page[0].seq) if more else None)


@router.get("/checkpoints/latest", response_model=AuditCheckpointRead | None)
def latest(actor: AuditorDep, uow: UnitOfWorkDep) -> AuditCheckpointRead | None:
    """The newest signed checkpoint (null on a log never signed)."""
    return latest_checkpoint(uow.records)
