"""The API's operations as data: each function builds one `Call` (method, path, body, purpose,
how to read the answer) and sends nothing; `MexfiClient` and `AsyncMexfiClient` send them.

Bodies are the server's own pydantic models (the capabilities' `views`), so a field the
server adds or renames is the client's at once. Personal values go only into bodies: a path
holds ids (checked to be ids, so a phone passed by mistake never reaches a URL), a query
string codes and pseudonyms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from mexfi.apikeys.views import (
    ChallengeOut,
    MeOut,
    MyData,
    MyRead,
    MyRequest,
    SessionOut,
    SessionStart,
    SessionVerify,
)
from mexfi.audit import AuditAction, AuditCheckpointRead, VerifyReport
from mexfi.audit.views import EntryPage
from mexfi.deps import Page
from mexfi.errors import Invalid
from mexfi.policy.views import PolicyRead
from mexfi.requests.views import (
    AnswerIn,
    AnswerOut,
    CodeIn,
    LetterIn,
    PreviewOut,
    RequestCreate,
    RequestOut,
    RequestPage,
    RequestStatus,
    VerificationOut,
    WithdrawIn,
)
from mexfi.retention.views import CertificateOut, HoldCreate, HoldOut, LiftOut, StatusOut
from mexfi.scan.views import RedactIn, RedactOut, ScanIn, ScanOut
from mexfi.vault.views import (
    AppSessionOpen,
    AppSessionOut,
    DriverPositionOut,
    FindSubject,
    LocationStatusOut,
    LocationSwitch,
    NetworkIn,
    NetworkLocaleOut,
    OrderCreate,
    OrderCreated,
    ReadRequest,
    RecordsWritten,
    RecordWrite,
    RecordWriteItem,
    RecordWriteMany,
    Rectification,
    StatusChange,
    SubjectCreate,
    SubjectDataOut,
    SubjectOut,
)

__all__ = ["Call"]

T = TypeVar("T")

#: The ids mexfi makes (`mexfi.db.new_id`): 128 random bits in hex.
_ID = re.compile(r"^[0-9a-f]{32}$")
_PSEUDONYM = re.compile(r"^ps_[0-9a-f]{24}$")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP exchange with the API: what to send, and how to read a 2xx answer."""

    method: Literal["GET", "POST"]
    path: str
    parse: Callable[[Any], T]
    body: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    purpose: str | None = None
    #: The answer is not JSON (a letter): `parse` gets the bytes.
    raw: bool = False


def _id(value: str, what: str) -> str:
    if not _ID.fullmatch(str(value)):
        # Never the value: it may be a phone or a name passed in the wrong place.
        raise Invalid(
            f"{what} is not an id (32 hex characters)",
            hint=f"give the {what} the API returned; personal values go in bodies only",
        )
    return value


def _body(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """`fields` checked by the server's model, as JSON; an error names fields, never values."""
    try:
        checked = model(**fields)
    except ValidationError as exc:
        where = ", ".join(sorted({".".join(map(str, e["loc"])) for e in exc.errors()}))
        raise Invalid(
            f"the request is not valid at: {where}", hint="see /docs for its shape"
        ) from None
    dumped: dict[str, Any] = checked.model_dump(mode="json", exclude_unset=True)
    return dumped


def _model(kind: Any) -> Callable[[Any], Any]:
    return TypeAdapter(kind).validate_python


def _none(_: Any) -> None:
    return None


def _record_id(data: Any) -> str:
    ids: list[str] = RecordsWritten.model_validate(data).ids
    return ids[0]


def _ids(data: Any) -> list[str]:
    ids: list[str] = RecordsWritten.model_validate(data).ids
    return ids


def _order_id(data: Any) -> str:
    order_id: str = OrderCreated.model_validate(data).id
    return order_id


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v is not False}


# ------------------------------------------------------------------------------ general


def health() -> Call[dict[str, str]]:
    """Whether the server answers."""
    return Call("GET", "/health", _model(dict[str, str]))


def policies() -> Call[list[PolicyRead]]:
    """The policies the server has loaded."""
    return Call("GET", "/policies", _model(list[PolicyRead]))


# ------------------------------------------------------------------------------ subjects


def register(
    *,
    policy_id: str,
    kind: str,
    purpose: str,
    records: Mapping[str, Mapping[str, Any]] | None = None,
    lookup_phone: str | None = None,
) -> Call[SubjectOut]:
    """Register a subject with its first records (category → field → value) for `purpose`;
    `lookup_phone` is the phone to find it by later."""
    body = _body(
        SubjectCreate,
        policy_id=policy_id,
        kind=kind,
        records={c: dict(v) for c, v in (records or {}).items()},
        lookup_phone=lookup_phone,
    )
    return Call("POST", "/subjects", SubjectOut.model_validate, body, purpose=purpose)


def find_by_phone(*, policy_id: str, phone: str) -> Call[SubjectOut]:
    """The subject registered with `phone` (sent in the body; `SubjectNotFound` if none)."""
    body = _body(FindSubject, policy_id=policy_id, phone=phone)
    return Call("POST", "/subjects/find", SubjectOut.model_validate, body)


def subject(subject_id: str) -> Call[SubjectOut]:
    """A subject's ids and status."""
    return Call("GET", f"/subjects/{_id(subject_id, 'subject id')}", SubjectOut.model_validate)


def set_status(
    subject_id: str, *, status: Literal["active", "blocked", "prohibited"], reason: str
) -> Call[SubjectOut]:
    """Block, unblock or prohibit processing of a subject's data (`reason`: a code or case)."""
    body = _body(StatusChange, status=status, reason=reason)
    path = f"/subjects/{_id(subject_id, 'subject id')}/status"
    return Call("POST", path, SubjectOut.model_validate, body)


# ------------------------------------------------------------------------------- records


def write(
    subject_id: str,
    category: str,
    values: Mapping[str, Any],
    *,
    purpose: str,
    collected_at: datetime | None = None,
) -> Call[str]:
    """Write one record of a subject for `purpose`; returns its id."""
    body = _body(RecordWrite, category=category, values=dict(values), collected_at=collected_at)
    path = f"/subjects/{_id(subject_id, 'subject id')}/records"
    return Call("POST", path, _record_id, body, purpose=purpose)


def write_many(records: Sequence[RecordWriteItem], *, purpose: str) -> Call[list[str]]:
    """Write records of several subjects at once (all checked, then all written); returns
    their ids in order."""
    for item in records:
        _id(item.subject_id, "subject id")
    body = _body(RecordWriteMany, records=list(records))
    return Call("POST", "/records/write-many", _ids, body, purpose=purpose)


def read(
    subject_id: str,
    categories: Sequence[str],
    *,
    purpose: str,
    tiers: Sequence[Literal["active", "passive"]] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    request_id: str | None = None,
    demand_id: str | None = None,
) -> Call[SubjectDataOut]:
    """A subject's records of `categories`, read for `purpose` (the vault checks it)."""
    fields: dict[str, Any] = {"categories": list(categories)}
    if tiers is not None:
        fields["tiers"] = list(tiers)
    body = _body(
        ReadRequest,
        **fields,
        since=since,
        until=until,
        request_id=request_id,
        demand_id=demand_id,
    )
    path = f"/subjects/{_id(subject_id, 'subject id')}/read"
    return Call("POST", path, SubjectDataOut.model_validate, body, purpose=purpose)


def rectify(
    record_id: str, values: Mapping[str, Any], *, purpose: str, request_id: str | None = None
) -> Call[None]:
    """Change fields of an active record (TX-3.5)."""
    body = _body(Rectification, values=dict(values), request_id=request_id)
    path = f"/records/{_id(record_id, 'record id')}/rectify"
    return Call("POST", path, _none, body, purpose=purpose)


# -------------------------------------------------------------------------------- orders


def open_order(*, driver_id: str, customer_id: str) -> Call[str]:
    """Open an order (the order backend): its customer may see the driver until it closes."""
    body = _body(
        OrderCreate,
        driver_id=_id(driver_id, "driver id"),
        customer_id=_id(customer_id, "customer id"),
    )
    return Call("POST", "/orders", _order_id, body)


def close_order(order_id: str) -> Call[None]:
    """Close an order (closing a closed one changes nothing)."""
    return Call("POST", f"/orders/{_id(order_id, 'order id')}/close", _none)


def driver_position(order_id: str, *, purpose: str) -> Call[SubjectDataOut]:
    """Where the order's driver is now, read for the order's customer (TX-13): the newest
    position only, and only while the order is open."""
    path = f"/orders/{_id(order_id, 'order id')}/driver-position"
    return Call("POST", path, SubjectDataOut.model_validate, purpose=purpose)


def my_driver_position(order_id: str, *, purpose: str) -> Call[DriverPositionOut]:
    """Where the driver of the signed-in customer's order is now (TX-13), with the
    customer's own session token as the client's key: only while that order is open."""
    path = f"/me/orders/{_id(order_id, 'order id')}/driver-position"
    return Call("POST", path, DriverPositionOut.model_validate, purpose=purpose)


# ------------------------------------------------------------------- TX-12, TX-20 – TX-22


def open_app_session(subject_id: str) -> Call[AppSessionOut]:
    """The app started (the app's backend): location is accepted for times inside the
    session until it closes (TX-12)."""
    body = _body(AppSessionOpen, subject_id=_id(subject_id, "subject id"))
    return Call("POST", "/app-sessions", AppSessionOut.model_validate, body)


def close_app_session(app_session_id: str) -> Call[AppSessionOut]:
    """The app stopped: later pings are refused (closing a closed session changes nothing)."""
    path = f"/app-sessions/{_id(app_session_id, 'app session id')}/close"
    return Call("POST", path, AppSessionOut.model_validate)


def switch_location(
    subject_id: str, *, collect: bool, language: Literal["az", "en", "ru"] | None = None
) -> Call[LocationStatusOut]:
    """Relay the subject's location switch from the app (the app's backend): off stops
    collection at once (TX-12); recorded in the consent ledger."""
    body = _body(LocationSwitch, collect=collect, language=language)
    path = f"/subjects/{_id(subject_id, 'subject id')}/location-switch"
    return Call("POST", path, LocationStatusOut.model_validate, body)


def switch_my_location(
    *, collect: bool, language: Literal["az", "en", "ru"] | None = None
) -> Call[LocationStatusOut]:
    """The signed-in subject (a session's client) switches its location collection."""
    body = _body(LocationSwitch, collect=collect, language=language)
    return Call("POST", "/me/location-switch", LocationStatusOut.model_validate, body)


def my_location_status() -> Call[LocationStatusOut]:
    """Whether the signed-in subject's location is collected now (a session's client)."""
    return Call("GET", "/me/location-switch", LocationStatusOut.model_validate)


def network_locale(*, mcc: str, mnc: str | None = None) -> Call[NetworkLocaleOut]:
    """The country and interface language a mobile network gives, for the key's policy
    (TX-20 – TX-22); the codes travel in the body and are stored nowhere."""
    body = _body(NetworkIn, mcc=mcc, mnc=mnc)
    return Call("POST", "/network-locale", NetworkLocaleOut.model_validate, body)


# ------------------------------------------------------------------------------ requests


def create_request(
    *,
    policy_id: str,
    kind: str,
    channel: str,
    phone: str | None = None,
    subject_id: str | None = None,
    language: Literal["az", "en", "ru"] | None = None,
    written: Mapping[str, Any] | None = None,
    categories: Sequence[str] = (),
    include_passive: bool = False,
    received_at: datetime | None = None,
) -> Call[RequestOut]:
    """Receive a data-subject request (the DPO): checked at intake (TX-11), `rejected` with
    reasons or `verifying`."""
    body = _body(
        RequestCreate,
        policy_id=policy_id,
        kind=kind,
        channel=channel,
        phone=phone,
        subject_id=subject_id,
        language=language,
        written=dict(written) if written is not None else None,
        categories=list(categories),
        include_passive=include_passive,
        received_at=received_at,
    )
    return Call("POST", "/requests", RequestOut.model_validate, body)


def list_requests(
    *,
    state: str | None = None,
    policy_id: str | None = None,
    overdue: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> Call[RequestPage]:
    """A page of the key's policy's requests by due date (`next_cursor` for the next)."""
    params = _params(state=state, policy_id=policy_id, overdue=overdue, cursor=cursor)
    params["limit"] = limit
    return Call("GET", "/requests", RequestPage.model_validate, params=params)


def request_status(request_id: str) -> Call[RequestStatus]:
    """A request's state, due date and verification."""
    path = f"/requests/{_id(request_id, 'request id')}"
    return Call("GET", path, RequestStatus.model_validate)


def send_code(request_id: str) -> Call[VerificationOut]:
    """Send a one-time code to the subject's registered phone (never shown)."""
    path = f"/requests/{_id(request_id, 'request id')}/code"
    return Call("POST", path, VerificationOut.model_validate)


def verify(request_id: str, code: str) -> Call[RequestOut]:
    """Check the code the requester read back."""
    body = _body(CodeIn, code=code)
    path = f"/requests/{_id(request_id, 'request id')}/verify"
    return Call("POST", path, RequestOut.model_validate, body)


def withdraw_request(request_id: str, *, reason: str) -> Call[RequestOut]:
    """Withdraw a request entered by mistake (`reason`: a code)."""
    body = _body(WithdrawIn, reason=reason)
    path = f"/requests/{_id(request_id, 'request id')}/withdraw"
    return Call("POST", path, RequestOut.model_validate, body)


def destruction_preview(request_id: str) -> Call[PreviewOut]:
    """What answering a destruction request would destroy, and what holds keep."""
    path = f"/requests/{_id(request_id, 'request id')}/destruction-preview"
    return Call("GET", path, PreviewOut.model_validate)


def answer(
    request_id: str,
    *,
    confirm: bool = False,
    changes: Mapping[str, Mapping[str, Any]] | None = None,
) -> Call[AnswerOut]:
    """Carry out a verified request and answer it (a destruction needs `confirm=True`)."""
    fields: dict[str, Any] = {"confirm": confirm}
    if changes is not None:
        fields["changes"] = {k: dict(v) for k, v in changes.items()}
    body = _body(AnswerIn, **fields)
    path = f"/requests/{_id(request_id, 'request id')}/answer"
    return Call("POST", path, AnswerOut.model_validate, body)


def letter(
    request_id: str,
    answer: Mapping[str, Any] | None,
    *,
    lang: Literal["az", "en", "ru"] | None = None,
    format: Literal["html", "pdf"] = "html",
) -> Call[bytes]:
    """The answer's letter (HTML or PDF), written from the JSON answer `answer` returned."""
    body = _body(LetterIn, answer=dict(answer) if answer is not None else None)
    path = f"/requests/{_id(request_id, 'request id')}/letter"
    return Call("POST", path, bytes, body, params=_params(lang=lang, format=format), raw=True)


# ----------------------------------------------------------------------------- retention


def holds(
    *, subject_id: str | None = None, cursor: str | None = None, limit: int = 50
) -> Call[Page[HoldOut]]:
    """A page of the live legal holds of the key's policy (of one subject, if given)."""
    subject = _id(subject_id, "subject id") if subject_id is not None else None
    params = _params(subject_id=subject, cursor=cursor)
    params["limit"] = limit
    return Call("GET", "/retention/holds", _model(Page[HoldOut]), params=params)


def place_hold(
    *,
    policy_id: str,
    reason: str,
    subject_id: str | None = None,
    category: str | None = None,
) -> Call[HoldOut]:
    """Put a subject, a category, or a subject's category on legal hold."""
    if subject_id is not None:
        _id(subject_id, "subject id")
    body = _body(
        HoldCreate, policy_id=policy_id, reason=reason, subject_id=subject_id, category=category
    )
    return Call("POST", "/retention/holds", HoldOut.model_validate, body)


def lift_hold(hold_id: str) -> Call[LiftOut]:
    """Lift a legal hold; the destructions it kept waiting are carried out."""
    path = f"/retention/holds/{_id(hold_id, 'hold id')}/lift"
    return Call("POST", path, LiftOut.model_validate)


def certificates(
    subject_id: str, *, cursor: str | None = None, limit: int = 50
) -> Call[Page[CertificateOut]]:
    """A page of a subject's destruction certificates, oldest first."""
    path = f"/retention/certificates/{_id(subject_id, 'subject id')}"
    params = _params(cursor=cursor)
    params["limit"] = limit
    return Call("GET", path, _model(Page[CertificateOut]), params=params)


def retention_status(*, runs: int = 10, quarantined: int = 50) -> Call[StatusOut]:
    """The latest retention runs and the quarantine of the key's policy."""
    params = {"runs": runs, "quarantined": quarantined}
    return Call("GET", "/retention/status", StatusOut.model_validate, params=params)


# --------------------------------------------------------------------------------- audit


def audit_verify() -> Call[VerifyReport]:
    """Verify the audit log: hash chain, signed checkpoints, anchor file."""
    return Call("GET", "/audit/verify", VerifyReport.model_validate)


def audit_entries(
    *,
    subject: str | None = None,
    actor: str | None = None,
    actions: Sequence[AuditAction | str] | None = None,
    purpose: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: int | None = None,
    limit: int = 50,
) -> Call[EntryPage]:
    """Audit entries matching every filter; `subject` is a pseudonym (`ps_…`)."""
    if subject is not None and not _PSEUDONYM.match(subject):
        raise Invalid(
            "subject is not a pseudonym (ps_ and 24 hex characters)",
            hint="name a subject by the pseudonym its SubjectOut carries",
        )
    params = _params(
        subject=subject,
        actor=actor,
        purpose=purpose,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        cursor=cursor,
    )
    if actions:
        params["action"] = [str(a) for a in actions]
    params["limit"] = limit
    return Call("GET", "/audit/entries", EntryPage.model_validate, params=params)


def latest_checkpoint() -> Call[AuditCheckpointRead | None]:
    """The newest signed checkpoint of the audit log (None if never signed)."""
    return Call("GET", "/audit/checkpoints/latest", _model(AuditCheckpointRead | None))


# ---------------------------------------------------------------------------------- scan


def scan(
    text: str, *, lang: Literal["az", "ru", "en"] | None = None, types: Sequence[str] | None = None
) -> Call[ScanOut]:
    """The personal data in a text: entity types and spans."""
    body = _body(ScanIn, text=text, lang=lang, types=list(types) if types is not None else None)
    return Call("POST", "/scan", ScanOut.model_validate, body)


def redact(
    text: str,
    *,
    lang: Literal["az", "ru", "en"] | None = None,
    types: Sequence[str] | None = None,
    mode: Literal["tag", "mask"] = "tag",
    keep_separators: bool = False,
) -> Call[RedactOut]:
    """The text with each entity replaced by its type (`tag`) or masked (`mask`)."""
    body = _body(
        RedactIn,
        text=text,
        lang=lang,
        types=list(types) if types is not None else None,
        mode=mode,
        keep_separators=keep_separators,
    )
    return Call("POST", "/scan/redact", RedactOut.model_validate, body)


# ----------------------------------------------------------------- data subjects' sessions


def start_session(*, policy_id: str, phone: str) -> Call[ChallengeOut]:
    """Send a sign-in code to the subject registered with `phone` (in the body); the same
    answer, and no code, when nobody is. Needs no key."""
    body = _body(SessionStart, policy_id=policy_id, phone=phone)
    return Call("POST", "/sessions/start", ChallengeOut.model_validate, body)


def verify_session(challenge_id: str, code: str) -> Call[SessionOut]:
    """The session token for the right code (shown this once): make a client with it as
    its key to reach the subject's own routes (`me`, `read_mine`, `my_requests`)."""
    body = _body(SessionVerify, challenge_id=_id(challenge_id, "challenge id"), code=code)
    return Call("POST", "/sessions/verify", SessionOut.model_validate, body)


def end_session() -> Call[None]:
    """End the session the client signs in with; its token no longer works."""
    return Call("POST", "/sessions/end", _none)


def me() -> Call[MeOut]:
    """The signed-in subject's ids and status (a session's client)."""
    return Call("GET", "/me", MeOut.model_validate)


def read_mine(
    categories: Sequence[str],
    *,
    purpose: str,
    tiers: Sequence[Literal["active", "passive"]] | None = None,
) -> Call[MyData]:
    """The signed-in subject's own records of `categories`, for a purpose the policy gives
    the subject's role."""
    fields: dict[str, Any] = {"categories": list(categories)}
    if tiers is not None:
        fields["tiers"] = list(tiers)
    return Call("POST", "/me/read", MyData.model_validate, _body(MyRead, **fields), purpose=purpose)


def my_requests(*, cursor: str | None = None, limit: int = 50) -> Call[Page[MyRequest]]:
    """The signed-in subject's own requests and where they stand, a page at a time."""
    params = _params(cursor=cursor, limit=limit)
    return Call("GET", "/me/requests", _model(Page[MyRequest]), params=params)
