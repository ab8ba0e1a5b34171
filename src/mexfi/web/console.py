"""The DPO console: staff sign-in and the pages a DPO (or an auditor) works in.

Sign-in takes an API key of the role `dpo` or `auditor` (`mexfi apikeys create`), checks it
with `mexfi.apikeys.authenticate`, and gives the browser a signed session cookie holding the
key's id and an expiry (30 minutes, renewed by every page: sliding), never the key. Every
request checks the signature, the expiry and that the key is still active (revoking it ends
the session at once). Pages act as the key's `Actor` through the same service functions as
the API, with the same role checks: the DPO handles requests, subjects and holds; the
auditor sees the audit log, destruction certificates and the data maps only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from mexfi.apikeys import (
    ApiKeyRead,
    OutOfScope,
    RoleNotAllowed,
    Unauthenticated,
    authenticate,
    list_api_keys,
)
from mexfi.audit import (
    AuditAction,
    AuditEvent,
    AuditOutcome,
    latest_checkpoint,
    read_entries,
    verify_log,
)
from mexfi.consent import (
    current_state,
    current_version,
    diff_versions,
    ledger_entries,
    list_versions,
    pending_subjects,
)
from mexfi.db import UnitOfWork
from mexfi.deps import UnitOfWorkDep, VaultDep
from mexfi.errors import Invalid
from mexfi.policy import Policy, Purpose, RequestChannel, enum_label
from mexfi.requests import (
    CodeSender,
    InvalidRequest,
    OutOfBand,
    RequestKind,
    RequestRead,
    RequestState,
    WrittenDetails,
    add_request,
    answer_from_export,
    answer_request,
    destruction_preview,
    export_json,
    get_request,
    list_requests,
    offered_kinds,
    reject_request,
    render_letter,
    request_history,
    resume_released,
    send_code,
    verification_status,
    verify_code,
    verify_out_of_band,
    withdraw_request,
    working_calendar,
)
from mexfi.requests.views import get_code_sender
from mexfi.retention import (
    HoldNotFound,
    HoldRead,
    active_holds,
    certificates,
    lift_hold,
    place_hold,
)
from mexfi.vault import (
    ACTIVE,
    PASSIVE,
    Actor,
    DestructionReport,
    SubjectNotFound,
    SubjectRead,
    Vault,
)
from mexfi.web.datamap import datamap_svg
from mexfi.web.i18n import LANGS, translate
from mexfi.web.pages import (
    FormDep,
    FormInvalid,
    checked_form,
    flash,
    page_lang,
    redirect,
    render,
)
from mexfi.web.security import csrf_token, queue_cookie, sign, unsign

__all__ = [
    "AUDITOR_ROLE",
    "CONSOLE_ROLES",
    "DPO_ROLE",
    "SESSION_COOKIE",
    "SESSION_TTL",
    "ConsoleUser",
    "console_user",
    "require_console_roles",
    "router",
]

DPO_ROLE: Final = "dpo"
AUDITOR_ROLE: Final = "auditor"
#: The roles that may sign in to the console.
CONSOLE_ROLES: Final = (DPO_ROLE, AUDITOR_ROLE)
SESSION_COOKIE: Final = "mexfi_console"
SESSION_TTL: Final = timedelta(minutes=30)

router = APIRouter(prefix="/console", include_in_schema=False, dependencies=[Depends(checked_form)])


@dataclass(frozen=True)
class ConsoleUser:
    """The staff member signed in: their API keys (one per policy, all of one role: a DPO of
    both operators signs in with each operator's key) and the session's end."""

    keys: tuple[ApiKeyRead, ...]
    expires_at: datetime

    @property
    def key(self) -> ApiKeyRead:
        """The first key signed in with (its policy is the default of every page)."""
        return self.keys[0]

    @property
    def role(self) -> str:
        return self.key.role

    @property
    def policy_id(self) -> str:
        return self.key.policy_id

    @property
    def policies(self) -> list[str]:
        return [k.policy_id for k in self.keys]

    @property
    def is_dpo(self) -> bool:
        return self.role == DPO_ROLE

    def key_for(self, policy_id: str) -> ApiKeyRead:
        """The key of `policy_id`; `OutOfScope` (403) if none was signed in with, as the
        API's `require_policy`."""
        for key in self.keys:
            if key.policy_id == policy_id:
                return key
        raise OutOfScope(
            f"the console session holds no key of policy {policy_id!r}",
            hint="sign in with a key of that policy as well",
        )

    def actor(self, policy_id: str | None = None) -> Actor:
        """The key of `policy_id` (default: the first) as the vault's `Actor`, as the API's
        `get_actor` makes it."""
        key = self.key_for(policy_id) if policy_id is not None else self.key
        return Actor(key.actor_id, key.role)


def _session_value(vault: Vault, key_ids: Sequence[str], expires_at: datetime) -> str:
    return sign(vault, f"{','.join(key_ids)}|{int(expires_at.timestamp())}")


def _signed_in_keys(request: Request, vault: Vault) -> tuple[list[str], datetime] | None:
    payload = unsign(vault, request.cookies.get(SESSION_COOKIE))
    if payload is None or payload.count("|") != 1:
        return None
    ids, _, stamp = payload.partition("|")
    try:
        expires = datetime.fromtimestamp(int(stamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return [i for i in ids.split(",") if i], expires


def _set_page_context(request: Request, vault: Vault, user: ConsoleUser | None) -> None:
    request.state.web_area = "console"
    request.state.web_user = user
    if user is not None:
        policy = vault.policy(user.policy_id)
        request.state.web_default_lang = policy.policy.language
        request.state.web_zone = working_calendar(policy.requests.deadline.jurisdiction).zone


def _live_keys(uow: UnitOfWork, key_ids: Sequence[str]) -> list[ApiKeyRead]:
    active = {k.id: k for k in list_api_keys(uow, include_revoked=False)}
    return [active[i] for i in key_ids if i in active]


def console_user(request: Request, vault: VaultDep, uow: UnitOfWorkDep) -> ConsoleUser:
    """The staff member this browser signed in as; `Unauthenticated` (to the sign-in page)
    if not signed in, the session expired, or a key of it was revoked since."""
    _set_page_context(request, vault, None)
    found = _signed_in_keys(request, vault)
    now = vault.clock.now()
    if found is None or found[1] <= now or not found[0]:
        raise Unauthenticated("not signed in to the console, or the session expired")
    key_ids, _ = found
    keys = _live_keys(uow, key_ids)
    if len(keys) != len(key_ids) or any(k.role not in CONSOLE_ROLES for k in keys):
        queue_cookie(request, SESSION_COOKIE, "", max_age=0)
        raise Unauthenticated("a key of the console session is revoked")
    user = ConsoleUser(keys=tuple(keys), expires_at=now + SESSION_TTL)
    queue_cookie(request, SESSION_COOKIE, _session_value(vault, key_ids, user.expires_at))
    _set_page_context(request, vault, user)
    return user


StaffDep = Annotated[ConsoleUser, Depends(console_user)]


def require_console_roles(*roles: str) -> Callable[[ConsoleUser], ConsoleUser]:
    """A dependency: the signed-in staff member if their role is one of `roles`, else
    `RoleNotAllowed` (403), as the API's `require_roles`."""

    def check(user: StaffDep) -> ConsoleUser:
        if user.role not in roles:
            raise RoleNotAllowed(
                f"role {user.role!r} may not use this page",
                hint=f"sign in with a key of the role {' or '.join(roles)}",
            )
        return user

    return check


DpoUserDep = Annotated[ConsoleUser, Depends(require_console_roles(DPO_ROLE))]


def _home(user: ConsoleUser) -> str:
    return "/console/requests" if user.is_dpo else "/console/audit"


# --------------------------------------------------------------------------- sign-in


def _current_user(request: Request, vault: Vault, uow: UnitOfWork) -> ConsoleUser | None:
    """The session of this browser if there is a live one (the sign-in page adds to it)."""
    try:
        return console_user(request, vault, uow)
    except Unauthenticated:
        _set_page_context(request, vault, None)
        return None


def _audit_session(
    vault: Vault, uow: UnitOfWork, keys: Iterable[ApiKeyRead], step: str, *, denied: bool = False
) -> None:
    """One `session` audit entry a key: its id (as actor and reference) and role, never the
    key itself. A refusal stays on record though the unit of work rolls back."""
    at = vault.clock.now()
    events = [
        AuditEvent(
            action=AuditAction.SESSION,
            at=at,
            actor_id=key.actor_id,
            actor_role=key.role,
            outcome=AuditOutcome.DENIED if denied else AuditOutcome.OK,
            policy_id=key.policy_id,
            count=0,
            reason=step,
            reference=key.id,
        )
        for key in keys
    ]

    def write(session: Any) -> None:
        for event in events:
            vault.audit.append(session, event)
        session.flush()

    write(uow.records)
    if denied:
        uow.keep_on_rollback(write)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """The sign-in form (to add a key of another policy, if signed in)."""
    _current_user(request, vault, uow)
    return render(request, "console/sign_in.html", failure=None)


@router.post("/sign-in")
def sign_in(request: Request, form: FormDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """Check the key; a session for a dpo or auditor key (or the key added to the session:
    one key per policy, all of one role)."""
    current = _current_user(request, vault, uow)
    try:
        key = authenticate(vault, uow, form.text("key"))
    except Unauthenticated:
        return render(request, "console/sign_in.html", status_code=401, failure="signin.failed")
    if key.role not in CONSOLE_ROLES:
        _audit_session(vault, uow, [key], "console_sign_in_role_refused", denied=True)
        return render(request, "console/sign_in.html", status_code=403, failure="signin.role")
    keys = [key]
    if current is not None:
        if current.role != key.role:
            _audit_session(vault, uow, [key], "console_sign_in_mixed_refused", denied=True)
            return render(request, "console/sign_in.html", status_code=403, failure="signin.mixed")
        keys = [k for k in current.keys if k.policy_id != key.policy_id] + [key]
    _audit_session(vault, uow, [key], "console_sign_in")
    user = ConsoleUser(keys=tuple(keys), expires_at=vault.clock.now() + SESSION_TTL)
    queue_cookie(
        request, SESSION_COOKIE, _session_value(vault, [k.id for k in keys], user.expires_at)
    )
    csrf_token(request, renew=True)  # a new token for the new session
    _set_page_context(request, vault, user)
    flash(request, "signin.done")
    return redirect(request, _home(user))


@router.post("/sign-out")
def sign_out(request: Request, form: FormDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """End the session (the cookie is deleted; the key stays valid for the API)."""
    # The session's keys, read without renewing its cookie (it is deleted below).
    found = _signed_in_keys(request, vault)
    if found is not None and found[1] > vault.clock.now():
        _audit_session(vault, uow, _live_keys(uow, found[0]), "console_sign_out")
    queue_cookie(request, SESSION_COOKIE, "", max_age=0)
    _set_page_context(request, vault, None)
    flash(request, "signout.done")
    return redirect(request, "/console/sign-in")


@router.get("", response_class=RedirectResponse)
def home(user: StaffDep) -> Response:
    """The start page of the role: the request queue, or the audit log for an auditor."""
    return RedirectResponse(_home(user), status_code=303)


# --------------------------------------------------------------------------- helpers


def _option(value: str | None, allowed: Iterable[str], name: str) -> str | None:
    """A filter's value: None for empty, `Invalid` for one not offered."""
    if value is None or value == "":
        return None
    if value not in set(allowed):
        raise Invalid(f"{name} {value!r} is not one of the choices", hint="pick one from the list")
    return value


def _policy_of(user: ConsoleUser, value: str | None) -> str:
    """The policy a page is about: the one asked for (if the session holds its key), else
    the session's first."""
    if value:
        user.key_for(value)
        return value
    return user.policy_id


def _today(vault: Vault, policy: Policy) -> date:
    zone = working_calendar(policy.requests.deadline.jurisdiction).zone
    return vault.clock.now().astimezone(zone).date()


@dataclass(frozen=True)
class TimeLeft:
    """How a request stands against its due date, in working days of its jurisdiction."""

    key: str
    days: int
    level: str


def time_left(vault: Vault, request: RequestRead) -> TimeLeft:
    """Working days left to the due date (or past it), for the queue and the request page."""
    policy = vault.policy(request.policy_id)
    calendar = working_calendar(policy.requests.deadline.jurisdiction)
    now = vault.clock.now()
    if request.state in TERMINAL_STATES:
        late = request.overdue(now)
        return TimeLeft("left.closed_late" if late else "left.closed", 0, "bad" if late else "ok")
    if request.state is RequestState.ON_HOLD:
        return TimeLeft("left.suspended", request.days_left or 0, "info")
    today = _today(vault, policy)
    if request.overdue(now):
        days = calendar.working_days_between(request.due_date, today)
        return TimeLeft("left.overdue", max(days, 1), "bad")
    if request.due_date == today:
        return TimeLeft("left.today", 0, "warn")
    days = calendar.working_days_between(today, request.due_date)
    return TimeLeft("left.days", days, "warn" if days <= 2 else "ok")


#: The states a request ends in (closed: never answered again).
TERMINAL_STATES: Final = frozenset(
    {RequestState.ANSWERED, RequestState.REJECTED, RequestState.WITHDRAWN}
)

STATE_BADGES: Final = {
    RequestState.RECEIVED: "info",
    RequestState.VERIFYING: "info",
    RequestState.LOCKED: "bad",
    RequestState.IN_PROGRESS: "warn",
    RequestState.ANSWERED: "ok",
    RequestState.REJECTED: "",
    RequestState.ON_HOLD: "warn",
    RequestState.WITHDRAWN: "",
}


def kind_label(kind: RequestKind | str, lang: str) -> str:
    """A request kind in words (the policy's names of rights)."""
    value = RequestKind(kind)
    if value is RequestKind.UNBLOCKING:
        return translate("kind.unblocking", lang)
    return enum_label("RightKind", value.value, lang)


def _labels(lang: str) -> dict[str, Any]:
    return {
        "kind": lambda k: kind_label(k, lang),
        "channel": lambda c: enum_label("RequestChannel", str(c), lang),
        "requirement": lambda r: enum_label("RequestRequirement", str(r), lang),
    }


# --------------------------------------------------------------------------- the queue

#: The queue's state filter: the open requests (default), all, or one state.
OPEN: Final = "open"
ALL: Final = "all"


@router.get("/requests", response_class=HTMLResponse)
def queue(
    request: Request,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    policy: str | None = None,
    kind: str | None = None,
    state: str | None = None,
) -> Response:
    """The requests of the session's policies: overdue first, then by due date."""
    policy_id = _option(policy, user.policies, "policy")
    kind_id = _option(kind, [k.value for k in RequestKind], "kind")
    shown = _option(state, [OPEN, ALL, *(s.value for s in RequestState)], "state") or OPEN
    now = vault.clock.now()
    found: list[RequestRead] = []
    for pid in [policy_id] if policy_id else user.policies:
        found += list_requests(
            vault,
            uow,
            now=now,
            policy_id=pid,
            open_only=shown == OPEN,
            state=shown if shown not in (OPEN, ALL) else None,
        )
    if kind_id is not None:
        found = [r for r in found if r.kind.value == kind_id]
    found.sort(key=lambda r: (not r.overdue(now), r.state in TERMINAL_STATES, r.due_at, r.id))
    rows = [{"request": r, "left": time_left(vault, r), "overdue": r.overdue(now)} for r in found]
    lang = page_lang(request)
    return render(
        request,
        "console/queue.html",
        rows=rows,
        overdue=sum(1 for r in rows if r["overdue"]),
        filters={"policy": policy_id or "", "kind": kind_id or "", "state": shown},
        kinds=list(RequestKind),
        states=[OPEN, ALL, *(s.value for s in RequestState)],
        channels=list(RequestChannel),
        badges=STATE_BADGES,
        label=_labels(lang),
        **_intake_choices(vault, user),
    )


def _intake_choices(vault: Vault, user: ConsoleUser) -> dict[str, Any]:
    return {
        "offered": {
            pid: [k.value for k in offered_kinds(vault.policy(pid))] for pid in user.policies
        },
        "written_fields": WRITTEN_FIELDS,
    }


#: The written request's details (TX-11) the intake form asks for, in order.
WRITTEN_FIELDS: Final = (
    "id_document_series",
    "id_document_number",
    "id_issue_date",
    "id_issue_authority",
    "address",
    "fin",
    "contract_number",
    "contract_date",
    "relationship_other",
    "full_name",
    "date_of_birth",
)


@router.post("/requests")
def receive(
    request: Request, form: FormDep, user: DpoUserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """Receive a request (a letter, a visit): the phone in the body, checked as the API does."""
    policy_id = _policy_of(user, form.text("policy"))
    written = None
    details = {name: form.text(name) or None for name in WRITTEN_FIELDS}
    if any(details.values()) or form.get("signed"):
        written = WrittenDetails(**details, signed=form.get("signed") == "yes")
    phone = form.text("phone") or None
    subject = form.text("subject_id") or None
    missing = {}
    if not form.text("kind"):
        missing["kind"] = "form.kind.required"
    if not form.text("channel"):
        missing["channel"] = "form.channel.required"
    if phone is None and subject is None:
        missing["phone"] = "form.requester.required"
    if missing:
        raise FormInvalid(missing)
    created = add_request(
        vault,
        uow,
        policy_id=policy_id,
        kind=form.text("kind"),
        channel=form.text("channel"),
        actor=user.actor(policy_id),
        phone=phone,
        subject_id=subject,
        language=form.text("language") or None,
        written=written,
    )
    flash(request, "request.received", id=created.id)
    return redirect(request, f"/console/requests/{created.id}")


# --------------------------------------------------------------------------- one request


def _scoped(user: ConsoleUser, vault: Vault, uow: UnitOfWork, request_id: str) -> RequestRead:
    found = get_request(vault, uow, request_id)
    user.key_for(found.policy_id)
    return found


def _preview(vault: Vault, uow: UnitOfWork, found: RequestRead) -> dict[str, Any] | None:
    """What answering would hand out or destroy: record counts per category (never values)."""
    if found.subject_id is None or found.state in TERMINAL_STATES:
        return None
    if found.kind is RequestKind.DESTRUCTION:
        preview = destruction_preview(vault, uow, found.id)
        return {
            "destruction": True,
            "rows": [
                {"category": c, "tier": "", "records": n, "hold": preview.holds.get(c)}
                for c, n in preview.counts.items()
            ],
            "total": preview.records,
            "held": preview.records_held,
            "reasons": preview.hold_reasons,
        }
    summary = vault.category_summary(uow, found.subject_id)
    wanted = set(found.categories)
    rows = [
        {"category": c.category, "tier": c.tier, "records": c.records, "hold": None}
        for c in summary
        if (not wanted or c.category in wanted) and (c.tier == ACTIVE or found.include_passive)
    ]
    return {
        "destruction": False,
        "rows": rows,
        "total": sum(r["records"] for r in rows),
        "held": 0,
        "reasons": {},
    }


def _request_page(
    request: Request,
    user: ConsoleUser,
    vault: Vault,
    uow: UnitOfWork,
    found: RequestRead,
    **extra: Any,
) -> Response:
    lang = page_lang(request)
    extra.setdefault("confirming", False)
    extra.setdefault("answer_json", None)
    extra.setdefault("answer_counts", {})
    return render(
        request,
        "console/request.html",
        r=found,
        left=time_left(vault, found),
        overdue=found.overdue(vault.clock.now()),
        verification=verification_status(vault, uow, found.id),
        history=request_history(vault, uow, found.id),
        preview=_preview(vault, uow, found),
        badges=STATE_BADGES,
        label=_labels(lang),
        out_of_band=list(OutOfBand),
        withdraw_reasons=WITHDRAW_REASONS,
        reject_reasons=REJECT_REASONS,
        letter_langs=LANGS,
        terminal=found.state in TERMINAL_STATES,
        **extra,
    )


#: Why a request is withdrawn (codes: the service keeps codes, never texts).
WITHDRAW_REASONS: Final = ("typo", "duplicate", "wrong_subject")
#: Why the DPO refuses a request (codes, as `mexfi requests reject` takes them).
REJECT_REASONS: Final = ("identity_not_confirmed", "manifestly_unfounded", "repeated_request")


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(
    request: Request, request_id: str, user: DpoUserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """A request: its state, verification, TX-11 checklist, history, what an answer holds."""
    return _request_page(request, user, vault, uow, _scoped(user, vault, uow, request_id))


def _back_to(found: RequestRead) -> str:
    return f"/console/requests/{found.id}"


@router.post("/requests/{request_id}/code")
def send(
    request: Request,
    request_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    sender: Annotated[CodeSender, Depends(get_code_sender)],
) -> Response:
    """Send a one-time code to the subject's registered phone (never shown here)."""
    found = _scoped(user, vault, uow, request_id)
    send_code(vault, uow, found.id, actor=user.actor(found.policy_id), sender=sender)
    flash(request, "request.code_sent")
    return redirect(request, _back_to(found))


@router.post("/requests/{request_id}/verify")
def verify(
    request: Request,
    request_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """Check the code the requester read back."""
    found = _scoped(user, vault, uow, request_id)
    code = form.text("code")
    if not code:
        raise FormInvalid({"code": "form.code.required"})
    verify_code(vault, uow, found.id, code, actor=user.actor(found.policy_id))
    flash(request, "request.verified")
    return redirect(request, _back_to(found))


@router.post("/requests/{request_id}/verify-out-of-band")
def verify_other_way(
    request: Request,
    request_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """The DPO records having verified the requester another way."""
    found = _scoped(user, vault, uow, request_id)
    method = _option(form.text("method"), [m.value for m in OutOfBand], "method")
    reason = form.text("reason")
    missing = {}
    if method is None:
        missing["method"] = "form.method.required"
    if not reason:
        missing["reason"] = "form.reason.required"
    if missing:
        raise FormInvalid(missing)
    assert method is not None
    verify_out_of_band(
        vault, uow, found.id, method=method, reason=reason, actor=user.actor(found.policy_id)
    )
    flash(request, "request.verified")
    return redirect(request, _back_to(found))


@router.post("/requests/{request_id}/withdraw")
def withdraw(
    request: Request,
    request_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """Withdraw a request entered by mistake, with a reason code."""
    found = _scoped(user, vault, uow, request_id)
    reason = _option(form.text("reason"), WITHDRAW_REASONS, "reason")
    if reason is None:
        raise FormInvalid({"reason": "form.reason.required"})
    withdraw_request(vault, uow, found.id, actor=user.actor(found.policy_id), reason=reason)
    flash(request, "request.withdrawn")
    return redirect(request, _back_to(found))


@router.post("/requests/{request_id}/reject")
def reject(
    request: Request,
    request_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """Refuse an open request with a reason code (its refusal letter is then sent)."""
    found = _scoped(user, vault, uow, request_id)
    reason = _option(form.text("reason"), REJECT_REASONS, "reason")
    if reason is None:
        raise FormInvalid({"reason": "form.reason.required"})
    reject_request(vault, uow, found.id, actor=user.actor(found.policy_id), reasons=[reason])
    flash(request, "request.rejected")
    return redirect(request, _back_to(found))


@router.get("/requests/{request_id}/confirm", response_class=HTMLResponse)
def confirm_page(
    request: Request, request_id: str, user: DpoUserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """The confirmation step of a destruction: what goes, what holds keep, then the button."""
    found = _scoped(user, vault, uow, request_id)
    if found.kind is not RequestKind.DESTRUCTION:
        return redirect(request, _back_to(found))
    return _request_page(request, user, vault, uow, found, confirming=True)


def _changes(text: str) -> dict[str, dict[str, Any]]:
    """A rectification's new values, one `category.field = value` a line."""
    changes: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        target, sep, value = line.partition("=")
        category, dot, name = target.strip().partition(".")
        if not sep or not dot or not category or not name:
            raise FormInvalid({f"changes:{number}": "form.changes.line"})
        changes.setdefault(category.strip(), {})[name.strip()] = value.strip()
    return changes


@router.post("/requests/{request_id}/answer", response_class=HTMLResponse)
def answer(
    request: Request,
    request_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """Carry out a verified request and answer it; the page holds the one copy of the answer
    (the store keeps none) and its documents to download. A destruction needs its
    confirmation step (`confirm=yes`, sent by the confirmation page)."""
    found = _scoped(user, vault, uow, request_id)
    if found.kind is RequestKind.DESTRUCTION and form.get("confirm") != "yes":
        raise InvalidRequest(
            f"request {found.id} is a destruction: answering it destroys data, so it is "
            "confirmed on its confirmation page",
            hint=f"see /console/requests/{found.id}/confirm",
        )
    changes = None
    if found.kind is RequestKind.RECTIFICATION and form.text("changes"):
        changes = _changes(form.text("changes"))
    done = answer_request(vault, uow, found.id, actor=user.actor(found.policy_id), changes=changes)
    answered = done.request
    records = done.data.get("records")
    counts: dict[str, int] = {}
    if isinstance(records, list):
        for record in records:
            if isinstance(record, Mapping):
                category = str(record.get("category"))
                counts[category] = counts.get(category, 0) + 1
    flash(
        request,
        "request.answered" if answered.state is not RequestState.ON_HOLD else "request.held",
    )
    return _request_page(
        request,
        user,
        vault,
        uow,
        answered,
        answer_json=export_json(done.data),
        answer_counts=counts,
    )


_MEDIA: Final = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "json": "application/json",
}


@router.post("/requests/{request_id}/document")
def document(
    request: Request,
    request_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """An answer's document to download: the letter (PDF or HTML) in az, en or ru, or the
    JSON answer, written from the JSON answer the form carries (none for a refusal): nothing
    is carried out again and nothing of the subject read, as the API's letter route."""
    found = _scoped(user, vault, uow, request_id)
    # One button of the answer page (`doc=en.pdf`), or the two fields of the re-write form.
    chosen_lang, _, chosen_kind = form.text("doc").partition(".")
    lang = (
        _option(chosen_lang or form.text("letter_lang"), LANGS, "letter language") or found.language
    )
    kind = _option(chosen_kind or form.text("format"), _MEDIA, "format") or "pdf"
    raw = form.text("answer")
    data: dict[str, Any] | None = None
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError:
            raise FormInvalid({"answer": "form.answer.json"}) from None
        if not isinstance(loaded, dict):
            raise FormInvalid({"answer": "form.answer.json"})
        data = loaded
    answered = answer_from_export(found, data)
    if kind == "json":
        content: bytes = export_json(answered.data, indent=True).encode()
        name = f"{found.id}.json"
    else:
        document = render_letter(
            vault.policy(found.policy_id),
            answered,
            format=kind,
            lang=lang,
            dated=vault.clock.now(),
        )
        content = document.encode() if isinstance(document, str) else document
        name = f"{found.id}.{lang}.{kind}"
    return Response(
        content=content,
        media_type=_MEDIA[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------- subjects


@router.get("/subjects", response_class=HTMLResponse)
def subjects_page(request: Request, user: DpoUserDep) -> Response:
    """The look-up form: by phone (posted, never in a URL), subject id or pseudonym."""
    return render(request, "console/subjects.html")


@router.post("/subjects/find")
def find_subject(
    request: Request, form: FormDep, user: DpoUserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """The subject a phone, id or pseudonym names, in one of the session's policies."""
    query = form.text("query")
    policy_id = _policy_of(user, form.text("policy"))
    if not query:
        raise FormInvalid({"query": "form.query.required"})
    found: SubjectRead | None
    if query.startswith("ps_"):
        found = vault.subject_by_pseudonym(uow, query)
    elif len(query) == 32 and all(c in "0123456789abcdef" for c in query):
        found = vault.subject(uow, query)
    else:
        found = vault.find_by_phone(uow, policy_id, query)
        if found is None:
            raise SubjectNotFound(
                f"no subject of policy {policy_id!r} is registered with this phone",
                hint="check the number, or look the subject up by id",
            )
    user.key_for(found.policy_id)
    return redirect(request, f"/console/subjects/{found.id}")


#: The newest audit entries a subject's page lists (the audit log page has them all).
SUBJECT_READS: Final = 20


def _readable_purposes(policy: Policy, role: str) -> list[Purpose]:
    return [p for p in policy.purposes if role in p.roles]


def _subject_page(
    request: Request,
    user: ConsoleUser,
    vault: Vault,
    uow: UnitOfWork,
    subject_id: str,
    **extra: Any,
) -> Response:
    subject = vault.subject(uow, subject_id)
    user.key_for(subject.policy_id)
    policy = vault.policy(subject.policy_id)
    own = {c.id for c in policy.categories_of(subject.kind)}
    purposes = [
        {
            "id": p.id,
            "title": p.title(page_lang(request)),
            "categories": [c for c in p.categories if c in own],
            "passive": p.reaches_passive_tier,
        }
        for p in _readable_purposes(policy, user.role)
    ]
    requests = list_requests(vault, uow, subject_id=subject.id)
    consents = current_state(uow, policy_id=policy.id, holder=subject.pseudonym)
    ledger = ledger_entries(uow, policy_id=policy.id, holder=subject.pseudonym)[-20:]
    reads = read_entries(uow.records, subject=subject.pseudonym, limit=SUBJECT_READS)
    lang = page_lang(request)
    return render(
        request,
        "console/subject.html",
        subject=subject,
        policy=policy,
        summary=vault.category_summary(uow, subject.id),
        holds=[h for h in active_holds(uow, policy_id=policy.id, subject_id=subject.id)],
        consents=consents,
        ledger=list(reversed(ledger)),
        reads=list(reversed(reads)),
        requests=requests,
        open_requests=[r for r in requests if r.state is RequestState.IN_PROGRESS],
        purposes=purposes,
        badges=STATE_BADGES,
        label=_labels(lang),
        data=extra.pop("data", None),
        read_purpose=extra.pop("read_purpose", None),
        **extra,
    )


@router.get("/subjects/{subject_id}", response_class=HTMLResponse)
def subject_page(
    request: Request, subject_id: str, user: DpoUserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """A subject: categories and tiers (counts), holds, consents, requests, who read what.
    Values only through the read form, for a purpose."""
    return _subject_page(request, user, vault, uow, subject_id)


@router.post("/subjects/{subject_id}/read", response_class=HTMLResponse)
def read_subject(
    request: Request,
    subject_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """The subject's values for the purpose chosen: a vault read, audited with that purpose
    (refused and audited if the purpose does not allow it)."""
    subject = vault.subject(uow, subject_id)
    user.key_for(subject.policy_id)
    policy = vault.policy(subject.policy_id)
    purpose = _option(
        form.text("purpose"), [p.id for p in _readable_purposes(policy, user.role)], "purpose"
    )
    if purpose is None:
        raise FormInvalid({"purpose": "form.purpose.required"})
    own = {c.id for c in policy.categories_of(subject.kind)}
    reachable = [c for c in policy.purpose(purpose).categories if c in own]
    categories = [c for c in form.getlist("category") if c in reachable] or reachable
    tiers = [ACTIVE, PASSIVE] if form.get("passive") == "yes" else [ACTIVE]
    data = vault.read(
        uow,
        subject.id,
        categories,
        purpose=purpose,
        actor=user.actor(subject.policy_id),
        tiers=tiers,
        request_id=form.text("request_id") or None,
        demand_id=form.text("demand_id") or None,
    )
    return _subject_page(request, user, vault, uow, subject.id, data=data, read_purpose=purpose)


# --------------------------------------------------------------------------- legal holds


def _released_by(
    vault: Vault, uow: UnitOfWork, hold: HoldRead, waiting: Sequence[RequestRead]
) -> list[dict[str, Any]]:
    """The destruction requests this hold keeps waiting, and what lifting it lets go."""
    found = []
    for r in waiting:
        kept = [c for c, h in r.holds.items() if h == hold.id]
        if not kept:
            continue
        others = sorted({h for c, h in r.holds.items() if h != hold.id})
        counts = destruction_preview(vault, uow, r.id).counts
        found.append(
            {
                "request": r,
                "categories": kept,
                "records": sum(counts.get(c, 0) for c in kept),
                "still_held_by": others,
            }
        )
    return found


@router.get("/holds", response_class=HTMLResponse)
def holds_page(request: Request, user: DpoUserDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """The live legal holds of the session's policies, what lifting each releases, and the
    form to place one."""
    rows = []
    for policy_id in user.policies:
        waiting = list_requests(vault, uow, policy_id=policy_id, state=RequestState.ON_HOLD)
        for hold in active_holds(uow, policy_id=policy_id):
            subject = vault.subject(uow, hold.subject_id) if hold.subject_id else None
            rows.append(
                {
                    "hold": hold,
                    "subject": subject,
                    "releases": _released_by(vault, uow, hold, waiting),
                }
            )
    categories = {pid: [c.id for c in vault.policy(pid).categories] for pid in user.policies}
    return render(
        request,
        "console/holds.html",
        rows=rows,
        categories=categories,
        label=_labels(page_lang(request)),
    )


@router.post("/holds")
def place(
    request: Request, form: FormDep, user: DpoUserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """Put a subject, a category, or a subject's category on legal hold."""
    policy_id = _policy_of(user, form.text("policy"))
    reason = form.text("reason")
    if not reason:
        raise FormInvalid({"reason": "form.reason.required"})
    subject_ref = form.text("subject")
    subject_id = None
    if subject_ref:
        subject = (
            vault.subject_by_pseudonym(uow, subject_ref)
            if subject_ref.startswith("ps_")
            else vault.subject(uow, subject_ref)
        )
        if subject.policy_id != policy_id:
            raise FormInvalid({"subject": "form.subject.policy"})
        subject_id = subject.id
    category = _option(
        form.text("category"), [c.id for c in vault.policy(policy_id).categories], "category"
    )
    hold = place_hold(
        vault,
        uow,
        policy_id=policy_id,
        reason=reason,
        actor=user.actor(policy_id),
        subject_id=subject_id,
        category=category,
    )
    flash(request, "hold.placed", id=hold.id)
    return redirect(request, "/console/holds")


@router.post("/holds/{hold_id}/lift")
def lift(
    request: Request,
    hold_id: str,
    form: FormDep,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """Lift a legal hold; the destruction requests it kept waiting are carried out in the
    same transaction."""
    hold = next(
        (h for pid in user.policies for h in active_holds(uow, policy_id=pid) if h.id == hold_id),
        None,
    )
    if hold is None:
        raise HoldNotFound(f"no live legal hold {hold_id!r} in the session's policies")
    actor = user.actor(hold.policy_id)
    lift_hold(vault, uow, hold.id, actor=actor)
    released = resume_released(vault, uow, hold.id, actor=actor)
    flash(request, "hold.lifted", id=hold.id, count=str(len(released)))
    return redirect(request, "/console/holds")


# --------------------------------------------------------------------------- certificates

StaffPagesDep = Annotated[ConsoleUser, Depends(require_console_roles(DPO_ROLE, AUDITOR_ROLE))]


@router.get("/certificates", response_class=HTMLResponse)
def certificates_page(
    request: Request,
    user: StaffPagesDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    subject: str | None = None,
    policy: str | None = None,
) -> Response:
    """Destruction certificates: a subject's (by id or pseudonym), and the latest
    destructions of the policy from the audit log (ids and counts, never values)."""
    policy_id = _policy_of(user, policy)
    chosen = None
    found: list[DestructionReport] = []
    if subject:
        chosen = (
            vault.subject_by_pseudonym(uow, subject)
            if subject.startswith("ps_")
            else vault.subject(uow, subject)
        )
        user.key_for(chosen.policy_id)
        found = certificates(vault, uow, chosen.id, actor=user.actor(chosen.policy_id))
    recent = read_entries(uow.records, actions=[AuditAction.DESTROY], policy=policy_id, limit=50)
    return render(
        request,
        "console/certificates.html",
        chosen=chosen,
        certificates=found,
        recent=list(reversed(recent)),
        policy_id=policy_id,
        query=subject or "",
    )


# --------------------------------------------------------------------------- the audit log


def _local_moment(value: str | None, zone: tzinfo, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FormInvalid({name: "form.time.invalid"}) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


AUDIT_PAGE: Final = 50


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: StaffPagesDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    policy: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: int | None = None,
) -> Response:
    """Audit entries of a policy matching every filter, newest first, with the result of
    verifying the whole log and its latest signed checkpoint."""
    policy_id = _policy_of(user, policy)
    zone = working_calendar(vault.policy(policy_id).requests.deadline.jurisdiction).zone
    action_id = _option(action, [a.value for a in AuditAction], "action")
    if subject and not re.fullmatch(r"ps_[0-9a-f]{24}", subject):
        raise FormInvalid({"subject": "form.pseudonym.invalid"})
    start = _local_moment(since, zone, "since")
    end = _local_moment(until, zone, "until")
    found = read_entries(
        uow.records,
        subject=subject or None,
        actions=[action_id] if action_id else None,
        actor=actor or None,
        purpose=purpose or None,
        since=start,
        until=end,
        limit=AUDIT_PAGE + 1,
        before=before,
        policy=policy_id,
    )
    page = found[1:] if len(found) > AUDIT_PAGE else found
    older = page[0].seq if len(found) > AUDIT_PAGE and page else None
    report = verify_log(uow.records, public_key=vault.audit.public_key, anchor=vault.audit.anchor)
    filters = {
        "policy": policy_id,
        "actor": actor or "",
        "action": action_id or "",
        "subject": subject or "",
        "purpose": purpose or "",
        "since": since or "",
        "until": until or "",
    }
    older_url = None
    if older is not None:
        older_url = "/console/audit?" + urlencode(
            {**{k: v for k, v in filters.items() if v}, "before": str(older)}
        )
    return render(
        request,
        "console/audit.html",
        entries=list(reversed(page)),
        report=report,
        checkpoint=latest_checkpoint(uow.records),
        filters=filters,
        actions=[a.value for a in AuditAction],
        purposes=sorted({p.id for p in vault.policy(policy_id).purposes}),
        older_url=older_url,
    )


# --------------------------------------------------------------------------- data map


@router.get("/datamap", response_class=HTMLResponse)
def datamap_page(
    request: Request, user: StaffPagesDep, vault: VaultDep, policy: str | None = None
) -> Response:
    """The data map of a loaded policy, drawn server-side as SVG."""
    policy_id = _option(policy, vault.policies, "policy") or user.policy_id
    lang = page_lang(request)
    drawing = datamap_svg(vault.policy(policy_id), lang=lang)
    return render(
        request,
        "console/datamap.html",
        policy_id=policy_id,
        policies=sorted(vault.policies),
        svg=Markup(drawing),
    )


@router.get("/datamap/{policy_id}.svg")
def datamap_file(
    request: Request, policy_id: str, user: StaffPagesDep, vault: VaultDep
) -> Response:
    """The data map as an SVG file (in the page's language)."""
    chosen = _option(policy_id, vault.policies, "policy")
    assert chosen is not None
    return Response(
        datamap_svg(vault.policy(chosen), lang=page_lang(request), standalone=True),
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="{chosen}-datamap.svg"'},
    )


# --------------------------------------------------------------------------- versions


@router.get("/versions", response_class=HTMLResponse)
def versions_page(
    request: Request,
    user: DpoUserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    policy: str | None = None,
    old: str | None = None,
    new: str | None = None,
) -> Response:
    """A policy's registered versions, the diff of two, and who has yet to accept the one
    in force (BK-7.3)."""
    policy_id = _policy_of(user, policy)
    now = vault.clock.now()
    versions = list_versions(uow, policy_id=policy_id)
    numbers = [v.version for v in versions]
    current = current_version(uow, policy_id=policy_id, at=now) if versions else None
    diff = None
    if len(numbers) >= 2 or (old and new):
        before = _option(old, numbers, "old version") or numbers[-2]
        after = _option(new, numbers, "new version") or numbers[-1]
        diff = diff_versions(uow, policy_id=policy_id, old=before, new=after)
    pending = pending_subjects(vault, uow, policy_id=policy_id, at=now) if versions else None
    return render(
        request,
        "console/versions.html",
        policy_id=policy_id,
        versions=list(reversed(versions)),
        current=current,
        diff=diff,
        pending=pending,
        numbers=numbers,
    )
