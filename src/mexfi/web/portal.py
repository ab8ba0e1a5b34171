"""The self-service privacy portal: riders (BakıKart) and drivers (Taxsee) see and control
their own data, in az, en and ru, on their phones.

Sign-in is the data subjects' session of `mexfi.apikeys`: the phone is POSTed (never in a
URL), a one-time code goes to it through the code sender (`MEXFI_CODE_SENDER`; the console
sender prints it), and the code read back opens a 15-minute session acting as the policy's
role of the subject's kind. The session token lives in an HttpOnly, SameSite cookie
(Secure over https) scoped to `/portal`; the challenge between the two steps in a signed
cookie. Signing out revokes the session.

What each page does, and through which capability (nothing here bypasses a check):

- my data: `Vault.read` as the session's `Actor`, for a purpose the policy gives the
  subject's role (BakıKart's rider: `online_services`, the last 12 months of the active
  tier, BK-3.2); a role with no such purpose (Taxsee's driver: TX-3 rights are exercised by
  request, TX-11) sees what is held, counted without decrypting, and is offered the export;
- my export and my rights: ordinary requests (`add_request`, channel `written`: the form
  is the written request, and on Taxsee it carries the identity details TX-11 asks for).
  The one-time code the requests capability sends to the registered phone confirms it
  (`send_code`, `verify_code`), as it would confirm a request made on paper: the code is the
  signature. Every right the subject's policy gives is offered. An access request, and the
  other informational ones (`INSTANT_KINDS`: existence, legal basis, processing, sources,
  operator), confirmed in the portal are answered at once (they change nothing and their
  author is proven) and the page hands out the JSON answer and the PDF letter: the store
  keeps no copy. The others (rectification, blocking, unblocking, prohibition, destruction,
  withdrawal of consent) wait for the DPO's answer (7 working days, the due date shown).
  A right the policy does not offer is refused by the
  requests capability, the page says so citing the clauses, and the attempt is audited;
- who read my data (TX-3.4): the audit log's entries of the subject's pseudonym (roles,
  ids, purposes, categories; never a staff member's name); where it came from (TX-3.7): the
  categories' `source` and recipients in the policy;
- my choices: push notifications (BK-6.1), the geolocation switch (TX-12) and this device's
  cookie choices (BK-5.1, TX-18), each change a consent-ledger entry with method and source
  `portal`, citing the served text of what the page showed;
- the policy: the version that binds the subject, the one in force, and accepting it
  (`accept_version`, citing the served notice the page showed).

The portal acts through one operator-side actor besides the subject's own session:
`PORTAL_ACTOR` (id `portal`, the DPO's role) sends and checks request codes and answers a
confirmed access request, the steps a DPO would otherwise take by hand; every one of them
is audited under that id.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from mexfi.apikeys import (
    SESSION_TTL,
    RoleNotAllowed,
    SessionLocked,
    SessionRead,
    Unauthenticated,
    authenticate_session,
    revoke_session,
    start_session,
    verify_session,
)
from mexfi.audit import AuditAction, AuditEntryRead, AuditEvent, AuditOutcome, read_entries
from mexfi.consent import (
    Choice,
    ChoiceInput,
    HolderKind,
    Method,
    NoticeKind,
    PolicyVersionNotFound,
    ServedNoticeKind,
    Source,
    accept_version,
    current_choices,
    current_version,
    get_version,
    governing_version,
    is_allowed,
    ledger_entries,
    notification_preferences,
    record_choices,
    register_policy_version,
    serve_notice,
    version_notice,
)
from mexfi.db import UnitOfWork
from mexfi.deps import UnitOfWorkDep, VaultDep
from mexfi.errors import Conflict, Invalid, NotFound
from mexfi.policy import (
    Category,
    FieldType,
    Lang,
    Policy,
    RequestChannel,
    RoleKind,
    check_lang,
    enum_label,
)
from mexfi.requests import (
    CodeNotSent,
    CodeSender,
    NoPhoneOnRecord,
    RequestKind,
    RequestNotFound,
    RequestRead,
    RequestState,
    RequestStateConflict,
    RightNotOffered,
    TooManyCodes,
    VerificationFailed,
    WrittenDetails,
    add_request,
    answer_from_export,
    answer_request,
    export_json,
    get_request,
    list_requests,
    offered_kinds,
    render_letter,
    send_code,
    verification_status,
    verify_code,
    working_calendar,
)
from mexfi.requests.views import get_code_sender
from mexfi.vault import (
    ACTIVE,
    Actor,
    PurposeDenied,
    RecordRead,
    SubjectRead,
    Vault,
)
from mexfi.web.i18n import translate
from mexfi.web.pages import FormDep, checked_form, flash, page_lang, redirect, render
from mexfi.web.security import csrf_token, queue_cookie, sign, unsign

__all__ = [
    "CHALLENGE_COOKIE",
    "DEVICE_COOKIE",
    "PORTAL_ACTOR",
    "PORTAL_KINDS",
    "SESSION_COOKIE",
    "PortalUser",
    "portal_user",
    "router",
]

SESSION_COOKIE: Final = "mexfi_portal"
CHALLENGE_COOKIE: Final = "mexfi_portal_challenge"
#: The banner's device cookie (`mexfi.consent.banner`): this browser's cookie choices.
DEVICE_COOKIE: Final = "mexfi_device"
_COOKIE_PATH: Final = "/portal"
_CHALLENGE_TTL: Final = timedelta(minutes=10)
#: The operator-side steps of a portal request (codes, an access answer), on record as the
#: portal's: the DPO's role, for the purposes and reads of answering a subject's request.
PORTAL_ACTOR: Final = Actor("portal", "dpo")
#: The requests the portal makes: every kind; each subject is offered those its policy gives.
PORTAL_KINDS: Final = tuple(RequestKind)
#: Answered as soon as the code confirms them: they change nothing, their author is proven
#: and the requests capability writes their answer from the policy and the vault.
INSTANT_KINDS: Final = frozenset(
    {
        RequestKind.ACCESS,
        RequestKind.EXISTENCE,
        RequestKind.LEGAL_BASIS,
        RequestKind.PROCESSING_INFO,
        RequestKind.SOURCES,
        RequestKind.OPERATOR_INFO,
    }
)
#: Kinds limited to the categories the form names (the others concern the subject whole).
_CATEGORY_KINDS: Final = frozenset({RequestKind.RECTIFICATION, RequestKind.DESTRUCTION})
#: The rights page's kinds (the export has a page of its own).
RIGHTS_KINDS: Final = tuple(k for k in RequestKind if k is not RequestKind.ACCESS)
#: How far back "my data" reads (BK-3.2: the last year is kept active and presented).
DATA_WINDOW: Final = timedelta(days=365)
#: Records of one category shown on the data page (the export has them all).
RECORDS_SHOWN: Final = 20
#: Audit entries the activity page shows, newest first.
ACTIVITY_SHOWN: Final = 100
_MASKED = frozenset(
    {FieldType.PAYMENT_CARD_NUMBER, FieldType.IBAN, FieldType.TRANSPORT_CARD_NUMBER}
)
#: TX-11's identity details the form asks for: {form field: i18n key of its label}.
WRITTEN_FIELDS: Final = (
    "id_document_series",
    "id_document_number",
    "id_issue_date",
    "id_issue_authority",
    "fin",
    "address",
)
_FIELD_MAX = 200
_DEVICE_ID_LENGTHS = (22, 32)

router = APIRouter(prefix="/portal", include_in_schema=False, dependencies=[Depends(checked_form)])
SenderDep = Annotated[CodeSender, Depends(get_code_sender)]


# --------------------------------------------------------------------------- the user


@dataclass(frozen=True)
class PortalUser:
    """The signed-in subject: its session, its record (ids and status) and its policy."""

    session: SessionRead
    subject: SubjectRead
    policy: Policy

    @property
    def actor(self) -> Actor:
        return self.session.actor

    @property
    def role(self) -> str:
        return self.session.role

    @property
    def policy_id(self) -> str:
        return self.policy.id

    @property
    def expires_at(self) -> datetime:
        return self.session.expires_at

    def service_name(self, lang: str) -> str:
        return self.policy.policy.service(check_lang(lang))


def _set_context(request: Request, vault: Vault, user: PortalUser | None) -> None:
    request.state.web_area = "portal"
    request.state.web_user = user
    if user is not None:
        request.state.web_default_lang = user.policy.policy.language
        request.state.web_zone = working_calendar(user.policy.requests.deadline.jurisdiction).zone


def _end_cookie(request: Request, name: str) -> None:
    queue_cookie(request, name, "", max_age=0, path=_COOKIE_PATH)


def portal_user(request: Request, vault: VaultDep, uow: UnitOfWorkDep) -> PortalUser:
    """The subject this browser signed in as; `Unauthenticated` (to the sign-in page) if
    none, or its session expired or was ended."""
    _set_context(request, vault, None)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("not signed in to the portal")
    try:
        session = authenticate_session(vault, uow, token)
    except (Unauthenticated, RoleNotAllowed):
        _end_cookie(request, SESSION_COOKIE)
        raise Unauthenticated("the portal session is unknown, expired or ended") from None
    user = PortalUser(
        session=session,
        subject=vault.subject(uow, session.subject_id),
        policy=vault.policy(session.policy_id),
    )
    _set_context(request, vault, user)
    return user


UserDep = Annotated[PortalUser, Depends(portal_user)]


def _optional_user(request: Request, vault: Vault, uow: UnitOfWork) -> PortalUser | None:
    try:
        return portal_user(request, vault, uow)
    except Unauthenticated:
        _set_context(request, vault, None)
        return None


# --------------------------------------------------------------------------- sign-in


@dataclass(frozen=True)
class Service:
    """A service a subject signs in to: a policy and the subject kind that has a role."""

    policy_id: str
    name: str
    operator: str
    kind: str


def _services(vault: Vault, lang: str) -> list[Service]:
    found: list[Service] = []
    for policy in vault.policies.values():
        kinds = {s.id for s in policy.subjects}
        for role in policy.roles:
            if role.kind is RoleKind.SUBJECT and role.id in kinds:
                lang_ = check_lang(lang)
                found.append(
                    Service(
                        policy_id=policy.id,
                        name=policy.policy.service(lang_),
                        operator=policy.operator.name_in(lang_),
                        kind=role.id,
                    )
                )
                break
    return sorted(found, key=lambda s: s.policy_id)


def _sign_in_page(
    request: Request,
    vault: Vault,
    *,
    errors: Mapping[str, str] | None = None,
    chosen: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    services = _services(vault, page_lang(request))
    return render(
        request,
        "portal/sign_in.html",
        status_code=status_code,
        services=services,
        chosen=chosen or (services[0].policy_id if services else ""),
        errors=dict(errors or {}),
    )


@router.get("", response_class=HTMLResponse)
def start_page(request: Request, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """The portal's address: the overview when signed in, else the sign-in page."""
    if _optional_user(request, vault, uow) is not None:
        return redirect(request, "/portal/home")
    return redirect(request, "/portal/sign-in")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """Choose the service and give the phone registered with it."""
    if _optional_user(request, vault, uow) is not None:
        return redirect(request, "/portal/home")
    return _sign_in_page(request, vault)


@router.post("/sign-in")
def sign_in(
    request: Request, form: FormDep, vault: VaultDep, uow: UnitOfWorkDep, sender: SenderDep
) -> Response:
    """Send a code to the phone (the same answer whether or not anyone holds it)."""
    _set_context(request, vault, None)
    policy_id = form.text("service")
    phone = form.text("phone")
    errors: dict[str, str] = {}
    if policy_id not in {s.policy_id for s in _services(vault, page_lang(request))}:
        errors["service"] = "portal.form.service"
    digits = sum(ch.isdigit() for ch in phone)
    if not phone:
        errors["phone"] = "portal.form.phone_missing"
    elif digits < 7 or digits > 15 or len(phone) > 40:
        errors["phone"] = "portal.form.phone_invalid"
    if errors:
        return _sign_in_page(request, vault, errors=errors, chosen=policy_id, status_code=422)
    try:
        challenge = start_session(vault, uow, policy_id=policy_id, phone=phone, sender=sender)
    except TooManyCodes:
        errors["phone"] = "portal.signin.too_many"
        return _sign_in_page(request, vault, errors=errors, chosen=policy_id, status_code=429)
    except CodeNotSent:
        errors["phone"] = "portal.signin.not_sent"
        return _sign_in_page(request, vault, errors=errors, chosen=policy_id, status_code=503)
    except Invalid:
        errors["phone"] = "portal.form.phone_invalid"
        return _sign_in_page(request, vault, errors=errors, chosen=policy_id, status_code=422)
    expires = int(challenge.expires_at.timestamp())
    queue_cookie(
        request,
        CHALLENGE_COOKIE,
        sign(vault, f"{challenge.id}|{policy_id}|{expires}"),
        max_age=int(_CHALLENGE_TTL.total_seconds()),
        path=_COOKIE_PATH,
    )
    return redirect(request, "/portal/code")


def _challenge(request: Request, vault: Vault) -> tuple[str, str, datetime] | None:
    payload = unsign(vault, request.cookies.get(CHALLENGE_COOKIE))
    if payload is None or payload.count("|") != 2:
        return None
    challenge_id, policy_id, stamp = payload.split("|")
    try:
        expires = datetime.fromtimestamp(int(stamp), tz=vault.clock.now().tzinfo)
    except (ValueError, OverflowError, OSError):
        return None
    if policy_id not in vault.policies:
        return None
    return challenge_id, policy_id, expires


def _code_page(
    request: Request,
    vault: Vault,
    policy_id: str,
    expires: datetime,
    *,
    error: str | None = None,
    slots: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    policy = vault.policy(policy_id)
    lang = check_lang(page_lang(request))
    return render(
        request,
        "portal/code.html",
        status_code=status_code,
        service=policy.policy.service(lang),
        expires=expires,
        error=error,
        slots=dict(slots or {}),
    )


@router.get("/code", response_class=HTMLResponse)
def code_page(request: Request, vault: VaultDep) -> Response:
    """Enter the code the SMS gave."""
    _set_context(request, vault, None)
    found = _challenge(request, vault)
    if found is None:
        flash(request, "portal.signin.again", level="warn")
        return redirect(request, "/portal/sign-in")
    return _code_page(request, vault, found[1], found[2])


@router.post("/code")
def check_code(request: Request, form: FormDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """The right code opens a session; a wrong one says how many attempts are left."""
    _set_context(request, vault, None)
    found = _challenge(request, vault)
    if found is None:
        flash(request, "portal.signin.again", level="warn")
        return redirect(request, "/portal/sign-in")
    challenge_id, policy_id, expires = found
    code = "".join(ch for ch in form.text("code") if not ch.isspace() and ch != "-")
    if len(code) != 6 or not code.isdigit():
        return _code_page(
            request, vault, policy_id, expires, error="portal.code.shape", status_code=422
        )
    try:
        created = verify_session(vault, uow, challenge_id, code)
    except VerificationFailed as exc:
        if exc.attempts_left:
            return _code_page(
                request, vault, policy_id, expires, error="portal.code.wrong",
                slots={"left": str(exc.attempts_left)}, status_code=422,
            )  # fmt: skip
        _end_cookie(request, CHALLENGE_COOKIE)
        flash(request, "portal.code.locked", level="error")
        return redirect(request, "/portal/sign-in")
    except (SessionLocked, NotFound):
        _end_cookie(request, CHALLENGE_COOKIE)
        flash(request, "portal.code.expired", level="error")
        return redirect(request, "/portal/sign-in")
    _end_cookie(request, CHALLENGE_COOKIE)
    queue_cookie(
        request,
        SESSION_COOKIE,
        created.token,
        max_age=int(SESSION_TTL.total_seconds()),
        path=_COOKIE_PATH,
    )
    csrf_token(request, renew=True)  # a new token for the new session
    user = PortalUser(
        session=created.session,
        subject=vault.subject(uow, created.session.subject_id),
        policy=vault.policy(created.session.policy_id),
    )
    _set_context(request, vault, user)
    flash(request, "portal.signin.done")
    return redirect(request, "/portal/home")


@router.post("/sign-out")
def sign_out(request: Request, form: FormDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """End the session now: its token stops working, the cookie is deleted."""
    user = _optional_user(request, vault, uow)
    if user is not None:
        revoke_session(vault, uow, user.session)
    _end_cookie(request, SESSION_COOKIE)
    _set_context(request, vault, None)
    flash(request, "portal.signout.done")
    return redirect(request, "/portal/sign-in")


# --------------------------------------------------------------------------- helpers


def _lang(request: Request) -> Lang:
    return check_lang(page_lang(request))


def _own_purposes(policy: Policy, role: str, kind: str) -> list[tuple[str, list[Category]]]:
    """The purposes the policy gives the subject's role, each with the subject's categories
    it reaches (the subject reads its own data for these, nothing else)."""
    mine = {c.id: c for c in policy.categories_of(kind)}
    found: list[tuple[str, list[Category]]] = []
    for purpose in policy.purposes:
        if role in purpose.roles:
            reached = [mine[c] for c in purpose.categories if c in mine]
            if reached:
                found.append((purpose.id, reached))
    return found


def _right_clauses(policy: Policy, kinds: Iterable[RequestKind]) -> list[str]:
    wanted = {k.right for k in kinds}
    return sorted({c for r in policy.requests.rights if r.kind in wanted for c in r.clauses})


def _offered(policy: Policy) -> list[RequestKind]:
    return [k for k in offered_kinds(policy) if k in PORTAL_KINDS]


def _display(value: Any, field_type: FieldType | None, lang: str, zone: Any) -> str:
    """A stored value as the page shows it (card numbers and IBANs masked)."""
    if value is None:
        return "—"
    if field_type in _MASKED:
        text = str(value)
        return "•••• " + text[-4:] if len(text) > 4 else "••••"
    if isinstance(value, bool):
        return translate("yes" if value else "no", lang)
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%d.%m.%Y %H:%M")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        if {"lat", "lon"} <= set(value):
            return f"{value['lat']}, {value['lon']}"
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, bytes):
        return translate("portal.data.binary", lang, size=str(len(value)))
    return str(value)


@dataclass
class ShownCategory:
    """One category on the data page: its title and source, the records shown."""

    id: str
    title: str
    source: str
    fields: list[str]
    rows: list[list[str]]
    total: int
    multiple: bool


def _shown(
    category: Category, records: Sequence[RecordRead], lang: str, zone: Any
) -> ShownCategory:
    lang_ = check_lang(lang)
    ordered = sorted(records, key=lambda r: r.collected_at, reverse=True)
    fields = [f for f in category.fields if any(f.name in r.values for r in ordered)]
    rows = []
    for record in ordered[:RECORDS_SHOWN]:
        rows.append(
            [_display(record.collected_at, None, lang, zone)]
            + [
                _display(
                    f.value_title(str(record.values[f.name]), lang_)
                    if f.type is FieldType.ENUM and record.values.get(f.name) is not None
                    else record.values.get(f.name),
                    f.type,
                    lang,
                    zone,
                )
                for f in fields
            ]
        )
    return ShownCategory(
        id=category.id,
        title=category.title(lang_),
        source=category.source,
        fields=[f.title(lang_) for f in fields],
        rows=rows,
        total=len(ordered),
        multiple=category.multiple,
    )


def _zone(user: PortalUser) -> Any:
    return working_calendar(user.policy.requests.deadline.jurisdiction).zone


def _audit_refusal(
    vault: Vault, uow: UnitOfWork, user: PortalUser, kind: RequestKind, clauses: Sequence[str]
) -> None:
    """A request for a right the policy does not offer: nothing is stored but this entry
    (kept if the unit of work rolls back)."""
    at = vault.clock.now()

    def write(session: Any) -> None:
        vault.audit.append(
            session,
            AuditEvent(
                action=AuditAction.REQUEST,
                at=at,
                actor_id=user.actor.id,
                actor_role=user.role,
                outcome=AuditOutcome.DENIED,
                policy_id=user.policy_id,
                subject=user.subject.pseudonym,
                clauses=tuple(clauses),
                count=0,
                reason=f"{kind.value}:refused:right_not_offered",
            ),
        )
        session.flush()

    write(uow.records)
    uow.keep_on_rollback(write)


# --------------------------------------------------------------------------- overview


@router.get("/home", response_class=HTMLResponse)
def home(request: Request, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """What the subject can do here, and where its requests stand."""
    requests = list_requests(
        vault, uow, policy_id=user.policy_id, subject_id=user.subject.id, limit=50
    )
    open_ = [r for r in requests if r.state not in _CLOSED]
    at = vault.clock.now()
    pending = _policy_state(vault, uow, user, at)
    return render(
        request,
        "portal/home.html",
        service=user.service_name(_lang(request)),
        open_requests=open_,
        can_read=bool(_own_purposes(user.policy, user.role, user.subject.kind)),
        policy_state=pending,
        status=user.subject.status,
    )


_CLOSED = frozenset({RequestState.ANSWERED, RequestState.REJECTED, RequestState.WITHDRAWN})


# --------------------------------------------------------------------------- my data


@dataclass(frozen=True)
class HeldCategory:
    title: str
    source: str
    tier: str
    records: int
    first: datetime
    last: datetime


@router.get("/data", response_class=HTMLResponse)
def my_data(request: Request, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """The subject's own data from the active tier, for the purposes its role has."""
    lang = _lang(request)
    zone = _zone(user)
    purposes = _own_purposes(user.policy, user.role, user.subject.kind)
    shown: list[ShownCategory] = []
    denied: str | None = None
    purpose_title = ""
    since = vault.clock.now() - DATA_WINDOW
    if purposes:
        purpose_id, categories = purposes[0]
        purpose_title = user.policy.purpose(purpose_id).title(lang)
        try:
            data = vault.read(
                uow,
                user.subject.id,
                [c.id for c in categories],
                purpose=purpose_id,
                actor=user.actor,
                since=since,
                tiers=[ACTIVE],
            )
        except PurposeDenied as exc:
            denied = exc.reason or "denied"
        else:
            by_category: dict[str, list[RecordRead]] = {}
            for record in data.records:
                by_category.setdefault(record.category, []).append(record)
            shown = [
                _shown(c, by_category[c.id], lang, zone) for c in categories if c.id in by_category
            ]
    titles = {c.id: c for c in user.policy.categories}
    held = [
        HeldCategory(
            title=titles[s.category].title(lang) if s.category in titles else s.category,
            source=titles[s.category].source if s.category in titles else "operator",
            tier=s.tier,
            records=s.records,
            first=s.first_collected_at,
            last=s.last_collected_at,
        )
        for s in vault.category_summary(uow, user.subject.id)
    ]
    return render(
        request,
        "portal/data.html",
        purposes=purposes,
        purpose_title=purpose_title,
        shown=shown,
        denied=denied,
        held=held,
        since=since,
        access_clauses=_right_clauses(user.policy, [RequestKind.ACCESS]),
        request_clauses=list(user.policy.requests.clauses),
        access_offered=RequestKind.ACCESS in _offered(user.policy),
    )


# --------------------------------------------------------------------------- who and where


@dataclass(frozen=True)
class ActivityRow:
    at: datetime
    who: str
    who_id: str
    action: str
    purpose: str
    categories: str
    denied: bool


def _who(policy: Policy, entry: AuditEntryRead, user: PortalUser, lang: str) -> tuple[str, str]:
    """(who, id) of an entry: the role's title, the actor's id (never a staff name)."""
    lang_ = check_lang(lang)
    if entry.actor_id == PORTAL_ACTOR.id:
        return translate("portal.who.portal", lang), entry.actor_id
    if entry.actor_id.startswith("session:"):
        own = entry.actor_id == user.actor.id or entry.actor_role == user.role
        if own:
            return translate("portal.who.you", lang), ""
    roles = {r.id: r for r in policy.roles}
    if entry.actor_role in roles:
        return roles[entry.actor_role].title(lang_), entry.actor_id
    if entry.actor_role == "subject":
        return translate("portal.who.you", lang), ""
    return entry.actor_role, entry.actor_id


#: What the activity page shows by default: operations on the data itself (the subject's
#: own requests, choices and sign-ins are under "everything").
DATA_ACTIONS: Final = frozenset(
    {
        AuditAction.CREATE, AuditAction.READ, AuditAction.UPDATE, AuditAction.BLOCK,
        AuditAction.UNBLOCK, AuditAction.DELETE, AuditAction.DEPERSONALIZE,
        AuditAction.DESTROY, AuditAction.DISCLOSE, AuditAction.EXPORT, AuditAction.DENY,
        AuditAction.TIER, AuditAction.QUARANTINE, AuditAction.RESTORE, AuditAction.REGISTER,
        AuditAction.ORDER_OPEN, AuditAction.ORDER_CLOSE,
    }
)  # fmt: skip


def _action_text(entry: AuditEntryRead, lang: str) -> str:
    action = translate(f"portal.action.{entry.action.value}", lang)
    if action.startswith("portal.action."):
        action = entry.action.value
    if entry.action is AuditAction.REQUEST and entry.reason:
        kind, _, rest = entry.reason.partition(":")
        state = rest.split(":", 1)[0]
        kind_text = translate(f"portal.kind.{kind}", lang)
        state_text = translate(f"portal.state.{state}", lang)
        if not kind_text.startswith("portal."):
            action = f"{action}: {kind_text}"
            if not state_text.startswith("portal."):
                action += f" ({state_text})"
    return action


def _activity(
    vault: Vault, uow: UnitOfWork, user: PortalUser, lang: str, *, everything: bool
) -> tuple[list[ActivityRow], int]:
    entries = read_entries(
        uow.records,
        subject=user.subject.pseudonym,
        limit=ACTIVITY_SHOWN * (1 if everything else 3),
        policy=user.policy_id,
        actions=None if everything else sorted(DATA_ACTIONS),
    )
    policy = user.policy
    lang_ = check_lang(lang)
    purposes = {p.id: p for p in policy.purposes}
    categories = {c.id: c for c in policy.categories}
    rows = []
    for entry in reversed(entries):
        who, who_id = _who(policy, entry, user, lang)
        if not everything and entry.actor_id == user.actor.id:
            continue  # the subject's own reads of this session are no news to it
        rows.append(
            ActivityRow(
                at=entry.at,
                who=who,
                who_id=who_id,
                action=_action_text(entry, lang),
                purpose=purposes[entry.purpose].title(lang_)
                if entry.purpose in purposes
                else (entry.purpose or ""),
                categories=", ".join(
                    categories[c].title(lang_) if c in categories else c for c in entry.categories
                ),
                denied=entry.outcome is not AuditOutcome.OK,
            )
        )
    return rows[:ACTIVITY_SHOWN], len(entries)


@router.get("/activity", response_class=HTMLResponse)
def activity(request: Request, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """Who read or changed the subject's data, when and why (TX-3.4); `?show=all` adds the
    subject's own requests, choices and sign-ins."""
    everything = request.query_params.get("show") == "all"
    rows, count = _activity(vault, uow, user, _lang(request), everything=everything)
    return render(
        request,
        "portal/activity.html",
        rows=rows,
        count=count,
        limit=ACTIVITY_SHOWN,
        everything=everything,
        clauses=_right_clauses(user.policy, [RequestKind.PROCESSING_INFO]),
    )


@dataclass(frozen=True)
class SourceRow:
    title: str
    source: str
    source_label: str
    recipients: list[str]
    purposes: list[str]


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request, user: UserDep) -> Response:
    """Where each kind of the subject's data comes from, and who receives it (TX-3.7)."""
    lang = _lang(request)
    policy = user.policy
    rows = []
    for category in policy.categories_of(user.subject.kind):
        rows.append(
            SourceRow(
                title=category.title(lang),
                source=category.source,
                source_label=translate(f"portal.source.{category.source}", lang),
                recipients=[
                    r.title(lang) for r in policy.recipients if category.id in r.categories
                ],
                purposes=[
                    p.title(lang)
                    for p in policy.purposes
                    if category.id in p.categories
                    and p.id not in (policy.requests.purposes.subject_request, "lawful_request")
                ],
            )
        )
    clauses = _right_clauses(policy, [RequestKind.SOURCES])
    return render(request, "portal/sources.html", rows=rows, clauses=clauses)


# --------------------------------------------------------------------------- requests


def _written_details(form: Mapping[str, str]) -> WrittenDetails:
    """TX-11's details from the form; the relationship is the signed-in account itself and
    the signature the code sent to the registered phone (checked before anything is done)."""
    given = {name: form.get(name, "").strip()[:_FIELD_MAX] or None for name in WRITTEN_FIELDS}
    return WrittenDetails(
        **given,
        relationship_other="portal_account",
        signed=form.get("sign") == "yes",
    )


def _check_written(policy: Policy, form: Mapping[str, str]) -> dict[str, str]:
    """{field: message key} of what TX-11 asks and the form lacks (nothing if no rule)."""
    errors: dict[str, str] = {}
    if form.get("sign") != "yes":
        errors["sign"] = "portal.form.sign"
    if not policy.requests.written_requirements:
        return errors
    for name in ("id_document_series", "id_document_number", "id_issue_date",
                 "id_issue_authority"):  # fmt: skip
        if not form.get(name, "").strip():
            errors[name] = "portal.form.required"
    if not form.get("fin", "").strip() and not form.get("address", "").strip():
        errors["fin"] = "portal.form.fin_or_address"
    for name in WRITTEN_FIELDS:
        if len(form.get(name, "")) > _FIELD_MAX:
            errors[name] = "portal.form.too_long"
    return errors


def _category_choices(policy: Policy, kind: str, request_kind: RequestKind) -> list[Category]:
    mine = policy.categories_of(kind)
    if request_kind is RequestKind.RECTIFICATION:
        reach = set(policy.purpose(policy.requests.purposes.rectification).categories)
        return [c for c in mine if c.id in reach]
    return mine


def _rights_context(user: PortalUser, lang: str) -> dict[str, Any]:
    policy = user.policy
    offered = _offered(policy)
    titles = {r.kind: r.title(check_lang(lang)) for r in policy.requests.rights}
    # The kinds the policy offers first; the others are shown as not offered (and refused).
    shown = sorted(RIGHTS_KINDS, key=lambda k: k not in offered)
    return {
        "kinds": [
            {
                "kind": k.value,
                "offered": k in offered,
                "instant": k in INSTANT_KINDS,
                "title": titles.get(k.right, translate(f"portal.kind.{k.value}", lang)),
                "clauses": _right_clauses(policy, [k]),
            }
            for k in shown
        ],
        "offered_titles": [translate(f"portal.kind.{k.value}", lang) for k in offered],
        "offered_clauses": _right_clauses(policy, offered),
        "categories": [
            {"id": c.id, "title": c.title(check_lang(lang))}
            for c in policy.categories_of(user.subject.kind)
        ],
        "rectifiable": [
            c.id for c in _category_choices(policy, user.subject.kind, RequestKind.RECTIFICATION)
        ],
        "written": bool(policy.requests.written_requirements),
        "deadline": policy.requests.deadline.count,
    }


def _rights_page(
    request: Request,
    user: PortalUser,
    *,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    refused: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = _lang(request)
    return render(
        request,
        "portal/rights.html",
        status_code=status_code,
        values=dict(form or {}),
        chosen_categories=list(getattr(form, "getlist", lambda _: [])("category")),
        errors=dict(errors or {}),
        refused=refused,
        **_rights_context(user, lang),
    )


@router.get("/rights", response_class=HTMLResponse)
def rights(request: Request, user: UserDep) -> Response:
    """Ask for any right the policy offers (the export has a page of its own)."""
    return _rights_page(request, user)


def _export_page(
    request: Request,
    user: PortalUser,
    *,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "portal/export.html",
        status_code=status_code,
        values=dict(form or {}),
        errors=dict(errors or {}),
        written=bool(user.policy.requests.written_requirements),
        offered=RequestKind.ACCESS in _offered(user.policy),
        clauses=_right_clauses(user.policy, [RequestKind.ACCESS]),
    )


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request, user: UserDep) -> Response:
    """Download my data: what the export holds, and the request that makes it."""
    return _export_page(request, user)


@router.post("/requests")
def make_request(
    request: Request,
    form: FormDep,
    user: UserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    sender: SenderDep,
) -> Response:
    """Make a request of one of the portal's kinds; a code to the phone confirms it."""
    lang = _lang(request)
    raw_kind = form.text("kind")
    try:
        kind = RequestKind(raw_kind)
    except ValueError:
        kind = None
    if kind is None or kind not in PORTAL_KINDS:
        errors = {"kind": "portal.form.kind", **_check_written(user.policy, form)}
        return _rights_page(request, user, form=form, errors=errors, status_code=422)
    page = _export_page if kind is RequestKind.ACCESS else _rights_page
    if kind not in offered_kinds(user.policy):
        # The requests capability refuses it too; nothing is stored but the audit entry.
        try:
            add_request(
                vault, uow, policy_id=user.policy_id, kind=kind, channel=RequestChannel.WRITTEN,
                actor=user.actor, subject_id=user.subject.id, language=lang,
            )  # fmt: skip
        except RightNotOffered:
            pass
        else:  # pragma: no cover - offered_kinds and add_request agree
            raise Conflict("the policy offers a right the portal thought it did not")
        offered = _offered(user.policy)
        clauses = _right_clauses(user.policy, offered)
        _audit_refusal(vault, uow, user, kind, clauses)
        refused = {
            "kind": translate(f"portal.kind.{kind.value}", lang),
            "offered": [translate(f"portal.kind.{k.value}", lang) for k in offered],
            "clauses": clauses,
        }
        return _rights_page(request, user, form=form, refused=refused, status_code=403)
    categories = [c for c in form.getlist("category") if c]
    allowed = {c.id for c in _category_choices(user.policy, user.subject.kind, kind)}
    errors = _check_written(user.policy, form)
    if kind not in _CATEGORY_KINDS:
        categories = []
    else:
        if any(c not in allowed for c in categories):
            errors["category"] = "portal.form.category"
        if kind is RequestKind.RECTIFICATION and not categories:
            errors["category"] = "portal.form.category_needed"
    if errors:
        return page(request, user, form=form, errors=errors, status_code=422)
    made = add_request(
        vault,
        uow,
        policy_id=user.policy_id,
        kind=kind,
        channel=RequestChannel.WRITTEN,
        actor=user.actor,
        subject_id=user.subject.id,
        language=lang,
        written=_written_details(form),
        categories=categories,
    )
    if made.state is RequestState.VERIFYING:
        _send(request, vault, uow, made.id, sender)
    else:
        flash(request, "portal.request.rejected", level="error")
    return redirect(request, f"/portal/requests/{made.id}")


def _send(
    request: Request, vault: Vault, uow: UnitOfWork, request_id: str, sender: CodeSender
) -> bool:
    """Send the request's code to the registered phone; a flash says what happened."""
    try:
        send_code(vault, uow, request_id, actor=PORTAL_ACTOR, sender=sender)
    except TooManyCodes as exc:
        when = exc.retry_at.astimezone(getattr(request.state, "web_zone", None))
        flash(request, "portal.request.too_many", level="warn", time=when.strftime("%H:%M"))
        return False
    except NoPhoneOnRecord:
        flash(request, "portal.request.no_phone", level="warn")
        return False
    except CodeNotSent:
        flash(request, "portal.request.not_sent", level="error")
        return False
    flash(request, "portal.request.code_sent")
    return True


def _own_request(vault: Vault, uow: UnitOfWork, user: PortalUser, request_id: str) -> RequestRead:
    """The request the path names, if it is the signed-in subject's; `RequestNotFound`
    otherwise (another subject's request is not revealed)."""
    if not request_id.isascii() or len(request_id) > 40:
        raise RequestNotFound("no such request of yours")
    try:
        found = get_request(vault, uow, request_id)
    except RequestNotFound:
        raise RequestNotFound("no such request of yours") from None
    if found.subject_id != user.subject.id or found.policy_id != user.policy_id:
        raise RequestNotFound("no such request of yours")
    return found


@dataclass(frozen=True)
class RequestView:
    """A request as the portal shows it."""

    id: str
    kind: str
    kind_title: str
    state: str
    received_at: datetime
    due_date: Any
    answered_at: datetime | None
    categories: list[str]
    reasons: list[str]
    outcome: dict[str, Any]
    overdue: bool
    days_left: int | None
    level: str
    extra: dict[str, Any] = field(default_factory=dict)


_LEVELS = {
    RequestState.VERIFYING: "warn",
    RequestState.LOCKED: "bad",
    RequestState.IN_PROGRESS: "info",
    RequestState.ANSWERED: "ok",
    RequestState.REJECTED: "bad",
    RequestState.ON_HOLD: "warn",
    RequestState.WITHDRAWN: "",
    RequestState.RECEIVED: "info",
}


def _view(vault: Vault, user: PortalUser, found: RequestRead, lang: str) -> RequestView:
    lang_ = check_lang(lang)
    titles = {c.id: c.title(lang_) for c in user.policy.categories}
    calendar = working_calendar(user.policy.requests.deadline.jurisdiction)
    now = vault.clock.now()
    today = now.astimezone(calendar.zone).date()
    days_left: int | None = None
    if found.state not in _CLOSED and found.state is not RequestState.ON_HOLD:
        days_left = (
            calendar.working_days_between(today, found.due_date) if found.due_date >= today else 0
        )
    return RequestView(
        id=found.id,
        kind=found.kind.value,
        kind_title=translate(f"portal.kind.{found.kind.value}", lang),
        state=found.state.value,
        received_at=found.received_at,
        due_date=found.due_date,
        answered_at=found.answered_at,
        categories=[titles.get(c, c) for c in found.categories],
        reasons=[_reason(user.policy, r, lang) for r in found.reasons],
        outcome=dict(found.outcome),
        overdue=found.overdue(now),
        days_left=days_left,
        level=_LEVELS.get(found.state, ""),
    )


def _reason(policy: Policy, code: str, lang: str) -> str:
    text = translate(f"portal.reason.{code}", lang)
    if not text.startswith("portal.reason."):
        return text
    if code.startswith("missing_"):
        try:
            return enum_label("RequestRequirement", code[8:], lang)
        except KeyError:
            pass
    return code


@router.get("/requests", response_class=HTMLResponse)
def my_requests(request: Request, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """The subject's requests and where they stand."""
    lang = _lang(request)
    found = list_requests(
        vault, uow, policy_id=user.policy_id, subject_id=user.subject.id, limit=100
    )
    views = sorted((_view(vault, user, r, lang) for r in found), key=lambda v: v.received_at,
                   reverse=True)  # fmt: skip
    return render(request, "portal/requests.html", requests=views)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(
    request_id: str, request: Request, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """One request: its state, the code that confirms it, what happens next."""
    found = _own_request(vault, uow, user, request_id)
    return _request_page(request, vault, uow, user, found)


def _request_page(
    request: Request,
    vault: Vault,
    uow: UnitOfWork,
    user: PortalUser,
    found: RequestRead,
    *,
    error: str | None = None,
    slots: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = _lang(request)
    verification = verification_status(vault, uow, found.id)
    return render(
        request,
        "portal/request.html",
        status_code=status_code,
        item=_view(vault, user, found, lang),
        instant=found.kind in INSTANT_KINDS,
        verification=verification,
        error=error,
        slots=dict(slots or {}),
        deadline=user.policy.requests.deadline.count,
    )


@router.post("/requests/{request_id}/code")
def resend_code(
    request_id: str,
    request: Request,
    form: FormDep,
    user: UserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    sender: SenderDep,
) -> Response:
    """Send a new code for a request waiting for its confirmation."""
    found = _own_request(vault, uow, user, request_id)
    if found.state is RequestState.VERIFYING:
        _send(request, vault, uow, found.id, sender)
    return redirect(request, f"/portal/requests/{found.id}")


@router.post("/requests/{request_id}/confirm")
def confirm(
    request_id: str,
    request: Request,
    form: FormDep,
    user: UserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """The code read back confirms the request; an access request is then answered and its
    export handed out on this page."""
    found = _own_request(vault, uow, user, request_id)
    code = "".join(ch for ch in form.text("code") if not ch.isspace() and ch != "-")
    if len(code) != 6 or not code.isdigit():
        return _request_page(
            request, vault, uow, user, found, error="portal.code.shape", status_code=422
        )
    try:
        confirmed = verify_code(vault, uow, found.id, code, actor=PORTAL_ACTOR)
    except VerificationFailed as exc:
        key = {
            "code_expired": "portal.request.code_expired",
            "no_code": "portal.request.no_code",
        }.get(
            exc.reason or "", "portal.code.wrong" if exc.attempts_left else "portal.request.locked"
        )
        refreshed = get_request(vault, uow, found.id)
        return _request_page(
            request, vault, uow, user, refreshed, error=key,
            slots={"left": str(exc.attempts_left)}, status_code=422,
        )  # fmt: skip
    except RequestStateConflict:
        return redirect(request, f"/portal/requests/{found.id}")
    if confirmed.kind in INSTANT_KINDS and confirmed.state is RequestState.IN_PROGRESS:
        return _answer_now(request, vault, uow, user, confirmed)
    flash(request, "portal.request.confirmed")
    return redirect(request, f"/portal/requests/{found.id}")


@router.post("/requests/{request_id}/export")
def prepare_export(
    request_id: str,
    request: Request,
    form: FormDep,
    user: UserDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> Response:
    """Answer a confirmed access (or other informational) request now, if the confirmation
    was not followed by it."""
    found = _own_request(vault, uow, user, request_id)
    if found.kind not in INSTANT_KINDS or found.state is not RequestState.IN_PROGRESS:
        return redirect(request, f"/portal/requests/{found.id}")
    return _answer_now(request, vault, uow, user, found)


def _data_url(media_type: str, content: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


def _answer_now(
    request: Request, vault: Vault, uow: UnitOfWork, user: PortalUser, found: RequestRead
) -> HTMLResponse:
    """Answer an informational request (`INSTANT_KINDS`) as the portal and hand out its
    documents on the page: the JSON answer and the PDF letter in the page's language. The
    store keeps no copy."""
    lang = _lang(request)
    done = answer_request(vault, uow, found.id, actor=PORTAL_ACTOR)
    answered = done.request
    letter = render_letter(
        user.policy,
        answer_from_export(
            answered, done.data if answered.state is RequestState.ANSWERED else None
        ),
        format="pdf",
        lang=lang,
        dated=vault.clock.now(),
    )
    pdf = letter if isinstance(letter, bytes) else letter.encode()
    exported = export_json(done.data, indent=True).encode()
    records = done.data.get("records")
    return render(
        request,
        "portal/download.html",
        access=answered.kind is RequestKind.ACCESS,
        item=_view(vault, user, answered, lang),
        answered=answered.state is RequestState.ANSWERED,
        json_url=_data_url("application/json", exported),
        pdf_url=_data_url("application/pdf", pdf),
        json_name=f"mexfi-{'export' if found.kind is RequestKind.ACCESS else 'answer'}-"
        f"{answered.id}.json",
        pdf_name=f"mexfi-letter-{answered.id}-{lang}.pdf",
        records=len(records) if isinstance(records, list) else 0,
        json_size=len(exported),
        pdf_size=len(pdf),
    )


# --------------------------------------------------------------------------- choices


@dataclass(frozen=True)
class Toggle:
    """One choice on the choices page: its form name, title, description, state."""

    name: str
    title: str
    description: str
    on: bool
    locked: bool = False


def _device_id(request: Request) -> str | None:
    value = request.cookies.get(DEVICE_COOKIE)
    if value is None or len(value) not in _DEVICE_ID_LENGTHS:
        return None
    if not all(ch.isalnum() or ch in "-_" for ch in value) or not value.isascii():
        return None
    return value


def _device_holder(vault: Vault, device_id: str) -> str:
    # As the banner names a device: 96 bits of its keyed pseudonym.
    return vault.value_pseudonym("DEVICE", device_id, digest_chars=24)


def _cookie_state(
    vault: Vault, uow: UnitOfWork, policy: Policy, holder: str, at: datetime
) -> dict[str, bool] | None:
    """The device's cookie choices under the cookie revision in force (None if it made
    none): as the banner reads them, from the ledger."""
    latest: dict[str, Any] = {}
    for entry in ledger_entries(uow, policy_id=policy.id, holder=holder):
        if entry.kind is NoticeKind.COOKIE:
            latest[entry.notice] = entry
    if not latest:
        return None
    try:
        revision = current_version(uow, policy_id=policy.id, at=at).cookie_revision
    except PolicyVersionNotFound:
        revision = None
    revisions: dict[str, str | None] = {}

    def revision_of(version: str) -> str | None:
        if version not in revisions:
            try:
                revisions[version] = get_version(
                    uow, policy_id=policy.id, version=version
                ).cookie_revision
            except PolicyVersionNotFound:
                revisions[version] = None
        return revisions[version]

    current = {
        n: e
        for n, e in latest.items()
        if revision is None or revision_of(e.policy_version) == revision
    }
    if not current:
        return None
    return {
        c.id: (not c.consent_required)
        or (c.id in current and current[c.id].choice is Choice.OPT_IN)
        for c in policy.cookies
    }


def _choices(request: Request, vault: Vault, uow: UnitOfWork, user: PortalUser) -> dict[str, Any]:
    lang = check_lang(_lang(request))
    policy = user.policy
    holder = user.subject.pseudonym
    at = vault.clock.now()
    pushes = notification_preferences(uow, policy=policy, holder=holder)
    notifications = [
        Toggle(
            name=f"notification:{n.id}",
            title=n.title(lang),
            description=translate(
                "portal.choices.optin" if n.opt_in_required else "portal.choices.default_on", lang
            ),
            on=pushes[n.id],
        )
        for n in policy.notifications
    ]
    geolocation: Toggle | None = None
    geo = policy.geolocation
    if (
        geo is not None
        and geo.subject_can_switch_off
        and user.subject.kind in {policy.category(c).subject for c in geo.categories}
    ):
        geolocation = Toggle(
            name="geolocation",
            title=translate("portal.choices.geo.title", lang),
            description=translate(f"portal.choices.geo.{geo.window}", lang),
            on=is_allowed(
                uow, policy=policy, holder=holder, kind=NoticeKind.GEOLOCATION, notice="collection"
            ),
        )
    device = _device_id(request)
    cookies: list[Toggle] | None = None
    if device is not None and policy.cookies:
        state = _cookie_state(vault, uow, policy, _device_holder(vault, device), at)
        if state is not None:
            cookies = [
                Toggle(
                    name=f"cookie:{c.id}",
                    title=c.title(lang),
                    description=c.description(lang),
                    on=state[c.id],
                    locked=not c.consent_required,
                )
                for c in policy.cookies
            ]
    return {
        "notifications": notifications,
        "geolocation": geolocation,
        "cookies": cookies,
        "push_clauses": sorted({c for n in policy.notifications for c in n.clauses}),
        "geo_clauses": sorted(geo.clauses) if geo is not None else [],
        "has_cookies": bool(policy.cookies),
        "cookie_policy": policy.id,
    }


@router.get("/choices", response_class=HTMLResponse)
def choices_page(request: Request, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """Push notifications, the location switch and this device's cookie choices."""
    return render(request, "portal/choices.html", **_choices(request, vault, uow, user))


@router.get("/cookies", response_class=HTMLResponse)
def cookies_page(request: Request, user: UserDep) -> Response:
    """This device's cookie choice, made in the operator's own cookie banner (the banner's
    script, served by the API, records it under the device's pseudonym)."""
    return render(request, "portal/cookies.html", cookie_policy=user.policy_id)


def _served_text(toggles: Sequence[Toggle], lang: str) -> str:
    """The words the choices page showed for `toggles` (what the ledger entry cites)."""
    lines = [translate("portal.choices.title", lang)]
    lines += [f"{t.title}: {t.description}" for t in toggles]
    return "\n".join(lines)


def _serve(
    vault: Vault, uow: UnitOfWork, policy: Policy, kind: ServedNoticeKind, text: str, lang: str
) -> str:
    at = vault.clock.now()
    register_policy_version(uow, policy, at=at)  # the loaded policy's version is on record
    version = current_version(uow, policy_id=policy.id, at=at).version
    return serve_notice(
        uow, policy_id=policy.id, version=version, kind=kind, language=lang, text=text, at=at
    )


@router.post("/choices")
def save_choices(
    request: Request, form: FormDep, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """Record what changed: one ledger entry per changed choice (method and source portal)."""
    lang = _lang(request)
    shown = _choices(request, vault, uow, user)
    asked = set(form.getlist("on"))
    at = vault.clock.now()
    policy = user.policy
    subject_toggles: list[Toggle] = list(shown["notifications"])
    if shown["geolocation"] is not None:
        subject_toggles.append(shown["geolocation"])
    changed_subject: list[ChoiceInput] = []
    for toggle in subject_toggles:
        want = toggle.name in asked
        if want == toggle.on:
            continue
        choice = Choice.OPT_IN if want else Choice.OPT_OUT
        if toggle.name == "geolocation":
            changed_subject.append(ChoiceInput(NoticeKind.GEOLOCATION, "collection", choice))
        else:
            notice = toggle.name.split(":", 1)[1]
            changed_subject.append(ChoiceInput(NoticeKind.NOTIFICATION, notice, choice))
    changed = 0
    if changed_subject:
        served = _serve(
            vault, uow, policy, ServedNoticeKind.NOTIFICATION, _served_text(subject_toggles, lang),
            lang,
        )  # fmt: skip
        record_choices(
            uow, policy=policy, holder=user.subject.pseudonym, holder_kind=HolderKind.SUBJECT,
            choices=changed_subject, method=Method.PORTAL, source=Source.PORTAL, language=lang,
            actor_id=user.actor.id, actor_role=user.role, at=at, served_notice_id=served,
        )  # fmt: skip
        changed += len(changed_subject)
    device = _device_id(request)
    cookies: list[Toggle] | None = shown["cookies"]
    if device is not None and cookies is not None:
        changed_device = [
            ChoiceInput(
                NoticeKind.COOKIE,
                t.name.split(":", 1)[1],
                Choice.OPT_IN if t.name in asked else Choice.OPT_OUT,
            )
            for t in cookies
            if not t.locked and (t.name in asked) != t.on
        ]
        if changed_device:
            served = _serve(
                vault, uow, policy, ServedNoticeKind.COOKIE_BANNER, _served_text(cookies, lang),
                lang,
            )  # fmt: skip
            record_choices(
                uow, policy=policy, holder=_device_holder(vault, device),
                holder_kind=HolderKind.DEVICE, choices=changed_device, method=Method.PORTAL,
                source=Source.PORTAL, language=lang, actor_id=user.actor.id,
                actor_role=user.role, at=at, served_notice_id=served,
            )  # fmt: skip
            changed += len(changed_device)
    flash(request, "portal.choices.saved" if changed else "portal.choices.unchanged",
          count=str(changed))  # fmt: skip
    return redirect(request, "/portal/choices")


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class PolicyState:
    """Which version binds the subject, which is in force, and whether it accepted it."""

    governing: str
    current: str
    effective: Any
    accepted: list[str]
    rule: str
    needs_acceptance: bool


def _policy_state(vault: Vault, uow: UnitOfWork, user: PortalUser, at: datetime) -> PolicyState:
    register_policy_version(uow, user.policy, at=at)
    current = current_version(uow, policy_id=user.policy_id, at=at)
    governing = governing_version(
        uow, policy_id=user.policy_id, holder=user.subject.pseudonym, at=at
    )
    explicit = current_choices(uow, policy_id=user.policy_id, holder=user.subject.pseudonym)
    accepted = sorted(
        notice
        for (kind, notice), choice in explicit.items()
        if kind is NoticeKind.POLICY and choice is Choice.ACKNOWLEDGE
    )
    return PolicyState(
        governing=governing.version,
        current=current.version,
        effective=current.effective,
        accepted=accepted,
        rule=user.policy.consent.changes_take_effect,
        needs_acceptance=current.version not in accepted,
    )


def _notice_body(html: str) -> str:
    """The notice's own content (its `<main>`): the page has its own head and styles."""
    start, end = html.find("<main>"), html.rfind("</main>")
    if start < 0 or end < 0:
        return ""
    return html[start + len("<main>") : end]


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep) -> Response:
    """The version I accepted, the one in force, its text, and accepting it."""
    lang = _lang(request)
    at = vault.clock.now()
    state = _policy_state(vault, uow, user, at)
    text = version_notice(uow, policy_id=user.policy_id, version=state.current, lang=lang,
                          format="html")  # fmt: skip
    served = serve_notice(
        uow, policy_id=user.policy_id, version=state.current, kind=ServedNoticeKind.POLICY,
        language=lang, text=text, at=at, media_type="text/html; charset=utf-8",
    )  # fmt: skip
    from markupsafe import Markup

    return render(
        request,
        "portal/policy.html",
        state=state,
        notice=Markup(_notice_body(text)),
        served_id=served,
    )


@router.post("/policy/accept")
def accept_policy(
    request: Request, form: FormDep, user: UserDep, vault: VaultDep, uow: UnitOfWorkDep
) -> Response:
    """Accept the version in force, citing the notice the page showed."""
    served = form.text("served_notice_id")
    version = form.text("version")
    if not served or len(served) > 40 or not version or len(version) > 40:
        flash(request, "portal.policy.reload", level="error")
        return redirect(request, "/portal/policy")
    at = vault.clock.now()
    try:
        accept_version(
            vault, uow, subject_id=user.subject.id, actor_id=user.actor.id, actor_role=user.role,
            at=at, method=Method.PORTAL, source=Source.PORTAL, version=version,
            served_notice_id=served,
        )  # fmt: skip
    except (Invalid, NotFound):
        flash(request, "portal.policy.reload", level="error")
        return redirect(request, "/portal/policy")
    flash(request, "portal.policy.accepted.flash", version=version)
    return redirect(request, "/portal/policy")
