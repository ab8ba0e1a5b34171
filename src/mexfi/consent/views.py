"""HTTP routes of the consent ledger: choices, their history, push preferences (BK-6.1), the
check every push sender makes, refusal counts and the ledger's verification.

Mounted by `mexfi.api` under `/api/v1`; `mexfi.consent`'s `__init__` does not import this
module. Two doors to the same ledger:

- an operator's key, for a subject named by id (`/consent/subjects/{subject_id}/…`): the
  operator's service role (`service`, `system`) records what its app was told and reads the
  state; the DPO records a written request. The key reaches only its own policy's subjects.
- the subject's own session (`/me/consent/…`): the rider or driver sets and reads their own
  choices (source `app` or `portal`).

The holder in the ledger is always the subject's pseudonym; a device's cookie choices are
the banner's (`mexfi.consent.banner`, public routes, included here), policy acceptances the
versions' (`mexfi.consent.versions_views`, included here). Paths carry subject ids only;
nothing personal travels outside a body.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from mexfi.consent.banner import router as banner_router
from mexfi.consent.schemas import (
    Choice,
    ChoiceInput,
    ConsentEntry,
    ConsentState,
    HolderKind,
    LedgerVerification,
    Method,
    NoticeKind,
    RefusalCount,
    Source,
)
from mexfi.consent.service import (
    current_state,
    ledger_entries,
    notification_preferences,
    record_choices,
    refusal_counts,
    send_notification,
    verify_ledger,
)
from mexfi.consent.versions_views import router as versions_router
from mexfi.db import UnitOfWork
from mexfi.deps import (
    CallerDep,
    Page,
    SessionDep,
    SubjectActorDep,
    UnitOfWorkDep,
    VaultDep,
    decode_cursor,
    encode_cursor,
    require_policy,
    require_roles,
)
from mexfi.policy import Policy
from mexfi.vault import Actor, SubjectRead, Vault

__all__ = [
    "CHOOSING_ROLES",
    "READING_ROLES",
    "SENDING_ROLES",
    "ChoiceIn",
    "ChoicesIn",
    "ChoicesOut",
    "MyChoicesIn",
    "NotificationCheck",
    "NotificationCheckOut",
    "NotificationsIn",
    "NotificationsOut",
    "router",
]

#: The operators' service roles (BakıKart's `service`, Taxsee's `system`) and the DPO.
CHOOSING_ROLES = ("service", "system", "dpo")
#: Who reads a subject's choices and their history.
READING_ROLES = CHOOSING_ROLES
#: Who asks whether a push may go (the operator's sender).
SENDING_ROLES = ("service", "system")
#: Who reads the refusal counts and verifies the ledger: no personal data in either.
OVERSIGHT_ROLES = ("dpo", "auditor")
MAX_PAGE = 200

router = APIRouter(tags=["consent"])
router.include_router(banner_router, prefix="/consent")
router.include_router(versions_router)

Lang = Literal["az", "en", "ru"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChoiceIn(_Body):
    kind: NoticeKind
    notice: str = Field(
        min_length=1,
        max_length=80,
        description="A cookie category, notification type or purpose id of the policy; "
        "`collection` for geolocation; a policy version for `policy`.",
    )
    choice: Choice


class MyChoicesIn(_Body):
    choices: list[ChoiceIn] = Field(min_length=1, max_length=32)
    language: Lang = Field(description="The language the notice was shown in.")
    source: Literal["app", "portal"] = "app"
    served_notice_id: str | None = Field(
        default=None, max_length=64, description="The notice text served before the choice."
    )


class ChoicesIn(_Body):
    choices: list[ChoiceIn] = Field(min_length=1, max_length=32)
    language: Lang = Field(description="The language the notice was shown in.")
    method: Literal["api", "written_request", "portal"] = "api"
    source: Literal["api", "console"] = "api"
    served_notice_id: str | None = Field(
        default=None, max_length=64, description="The notice text served before the choice."
    )


class ChoicesOut(BaseModel):
    """What was recorded: the new ledger entries."""

    entries: list[ConsentEntry]


class StateOut(BaseModel):
    """A subject's explicit current choices (a notice not listed holds its policy default)."""

    subject_id: str
    policy_id: str
    choices: list[ConsentState]


class NotificationsIn(_Body):
    preferences: dict[str, bool] = Field(
        min_length=1, max_length=16, description="Notification type → allowed."
    )
    language: Lang


class NotificationsOut(BaseModel):
    """Every push type of the policy and whether the subject gets it (BK-6.1)."""

    subject_id: str
    preferences: dict[str, bool]


class NotificationCheck(_Body):
    subject_id: str = Field(max_length=32)
    notification: str = Field(min_length=1, max_length=80)


class NotificationCheckOut(BaseModel):
    """Whether the push may go; a refusal is counted (never who)."""

    subject_id: str
    notification: str
    allowed: bool


# ------------------------------------------------------------------ helpers


def _subject(vault: Vault, uow: UnitOfWork, caller: CallerDep, subject_id: str) -> SubjectRead:
    subject = vault.subject(uow, subject_id)
    require_policy(caller, subject.policy_id)
    return subject


def _record(
    vault: Vault,
    uow: UnitOfWork,
    subject: SubjectRead,
    actor: Actor,
    choices: list[ChoiceInput],
    *,
    method: Method,
    source: Source,
    language: str,
    served_notice_id: str | None,
) -> ChoicesOut:
    entries = record_choices(
        uow,
        policy=vault.policy(subject.policy_id),
        holder=subject.pseudonym,
        holder_kind=HolderKind.SUBJECT,
        choices=choices,
        method=method,
        source=source,
        language=language,
        actor_id=actor.id,
        actor_role=actor.role,
        at=vault.clock.now(),
        served_notice_id=served_notice_id,
    )
    return ChoicesOut(entries=entries)


def _state(uow: UnitOfWork, subject: SubjectRead) -> StateOut:
    return StateOut(
        subject_id=subject.id,
        policy_id=subject.policy_id,
        choices=current_state(uow, policy_id=subject.policy_id, holder=subject.pseudonym),
    )


def _history(
    uow: UnitOfWork, subject: SubjectRead, cursor: str | None, limit: int
) -> Page[ConsentEntry]:
    after = decode_cursor(cursor, lambda keys: int(keys[0]))
    found = ledger_entries(
        uow, policy_id=subject.policy_id, holder=subject.pseudonym, after=after, limit=limit + 1
    )
    shown = found[:limit]
    more = len(found) > limit and bool(shown)
    return Page[ConsentEntry](
        items=shown, next_cursor=encode_cursor(shown[-1].seq) if more else None
    )


def _set_notifications(
    vault: Vault,
    uow: UnitOfWork,
    subject: SubjectRead,
    actor: Actor,
    body: NotificationsIn,
    *,
    method: Method,
    source: Source,
) -> NotificationsOut:
    policy = vault.policy(subject.policy_id)
    choices = [
        ChoiceInput(NoticeKind.NOTIFICATION, notice, Choice.OPT_IN if on else Choice.OPT_OUT)
        for notice, on in sorted(body.preferences.items())
    ]
    _record(
        vault,
        uow,
        subject,
        actor,
        choices,
        method=method,
        source=source,
        language=body.language,
        served_notice_id=None,
    )
    return _notifications(uow, policy, subject)


def _notifications(uow: UnitOfWork, policy: Policy, subject: SubjectRead) -> NotificationsOut:
    return NotificationsOut(
        subject_id=subject.id,
        preferences=notification_preferences(uow, policy=policy, holder=subject.pseudonym),
    )


Choosing = Annotated[Actor, Depends(require_roles(*CHOOSING_ROLES))]
Reading = Annotated[Actor, Depends(require_roles(*READING_ROLES))]
Sending = Annotated[Actor, Depends(require_roles(*SENDING_ROLES))]
Overseeing = Annotated[Actor, Depends(require_roles(*OVERSIGHT_ROLES))]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]


# ------------------------------------------------------------------ an operator's key


@router.post(
    "/consent/subjects/{subject_id}/choices",
    status_code=status.HTTP_201_CREATED,
    summary="Record a subject's choices (the app's backend, or the DPO for a written request)",
)
def record_for_subject(
    subject_id: str,
    body: ChoicesIn,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: Choosing,
) -> ChoicesOut:
    subject = _subject(vault, uow, caller, subject_id)
    return _record(
        vault,
        uow,
        subject,
        actor,
        [ChoiceInput(c.kind, c.notice, c.choice) for c in body.choices],
        method=Method(body.method),
        source=Source(body.source),
        language=body.language,
        served_notice_id=body.served_notice_id,
    )


@router.get(
    "/consent/subjects/{subject_id}/choices",
    summary="A subject's explicit current choices, with the ledger entries that made them",
)
def subject_choices(
    subject_id: str, vault: VaultDep, uow: UnitOfWorkDep, caller: CallerDep, actor: Reading
) -> StateOut:
    return _state(uow, _subject(vault, uow, caller, subject_id))


@router.get(
    "/consent/subjects/{subject_id}/history",
    summary="A subject's ledger entries, oldest first (withdrawals are entries too)",
)
def subject_history(
    subject_id: str,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: Reading,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ConsentEntry]:
    return _history(uow, _subject(vault, uow, caller, subject_id), cursor, limit)


@router.get(
    "/consent/subjects/{subject_id}/notifications",
    summary="A subject's push-notification preferences, defaults included (BK-6.1)",
)
def subject_notifications(
    subject_id: str, vault: VaultDep, uow: UnitOfWorkDep, caller: CallerDep, actor: Reading
) -> NotificationsOut:
    subject = _subject(vault, uow, caller, subject_id)
    return _notifications(uow, vault.policy(subject.policy_id), subject)


@router.post(
    "/consent/subjects/{subject_id}/notifications",
    summary="Set a subject's push-notification preferences (BK-6.1)",
)
def set_subject_notifications(
    subject_id: str,
    body: NotificationsIn,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: Choosing,
) -> NotificationsOut:
    subject = _subject(vault, uow, caller, subject_id)
    return _set_notifications(
        vault, uow, subject, actor, body, method=Method.API, source=Source.API
    )


@router.post(
    "/consent/notifications/check",
    summary="May this push go? The sender asks before each send; a refusal is counted",
)
def check_notification(
    body: NotificationCheck, vault: VaultDep, uow: UnitOfWorkDep, caller: CallerDep, actor: Sending
) -> NotificationCheckOut:
    subject = _subject(vault, uow, caller, body.subject_id)
    # The sender sends only on `allowed`: a refused answer is a refused send, counted here.
    allowed = send_notification(
        uow,
        policy=vault.policy(subject.policy_id),
        holder=subject.pseudonym,
        notification=body.notification,
        at=vault.clock.now(),
    )
    return NotificationCheckOut(
        subject_id=subject.id, notification=body.notification, allowed=allowed
    )


@router.get(
    "/consent/refusals",
    summary="Refused sends and collections per notice, reason and day (never who)",
)
def refusals(uow: UnitOfWorkDep, caller: CallerDep, actor: Overseeing) -> list[RefusalCount]:
    return refusal_counts(uow, policy_id=caller.policy_id)


@router.get(
    "/consent/ledger/verify",
    summary="Walk the consent ledger's hash chain and its audit anchors",
)
def verify(uow: UnitOfWorkDep, caller: CallerDep, actor: Overseeing) -> LedgerVerification:
    return verify_ledger(uow)


# ------------------------------------------------------------------ the subject's own session


def _me(vault: VaultDep, uow: UnitOfWorkDep, session: SessionDep) -> SubjectRead:
    return vault.subject(uow, session.subject_id)


Me = Annotated[SubjectRead, Depends(_me)]


def _my_method(source: str) -> Method:
    # In the app a choice is a switch in its settings; on the portal, the portal's form.
    return Method.PORTAL if source == Source.PORTAL.value else Method.SWITCH


@router.post(
    "/me/consent/choices",
    status_code=status.HTTP_201_CREATED,
    summary="The signed-in subject records their own choices",
)
def record_mine(
    body: MyChoicesIn, me: Me, actor: SubjectActorDep, vault: VaultDep, uow: UnitOfWorkDep
) -> ChoicesOut:
    return _record(
        vault,
        uow,
        me,
        actor,
        [ChoiceInput(c.kind, c.notice, c.choice) for c in body.choices],
        method=_my_method(body.source),
        source=Source(body.source),
        language=body.language,
        served_notice_id=body.served_notice_id,
    )


@router.get("/me/consent/choices", summary="The signed-in subject's explicit current choices")
def my_choices(me: Me, uow: UnitOfWorkDep) -> StateOut:
    return _state(uow, me)


@router.get("/me/consent/history", summary="The signed-in subject's ledger entries")
def my_history(
    me: Me, uow: UnitOfWorkDep, cursor: Cursor = None, limit: Limit = 50
) -> Page[ConsentEntry]:
    return _history(uow, me, cursor, limit)


@router.get(
    "/me/consent/notifications", summary="The signed-in subject's push preferences (BK-6.1)"
)
def my_notifications(me: Me, vault: VaultDep, uow: UnitOfWorkDep) -> NotificationsOut:
    return _notifications(uow, vault.policy(me.policy_id), me)


@router.post(
    "/me/consent/notifications",
    summary="The signed-in subject sets their push preferences (BK-6.1)",
)
def set_my_notifications(
    body: NotificationsIn, me: Me, actor: SubjectActorDep, vault: VaultDep, uow: UnitOfWorkDep
) -> NotificationsOut:
    return _set_notifications(vault, uow, me, actor, body, method=Method.SWITCH, source=Source.APP)
