"""The request dependencies every capability's HTTP router uses (infrastructure, like `mexfi.db`).

A capability serves HTTP from `src/mexfi/<capability>/views.py`: a module its `__init__` does
not import (so importing the capability never pulls in FastAPI, and no cycle forms), holding
`router = APIRouter(prefix="/things", tags=["things"])`. `mexfi.api.app` imports each views
module and mounts its router under `/api/v1`. A route declares what it needs by type:

    from mexfi.deps import ActorDep, CallerDep, PurposeDep, UnitOfWorkDep, VaultDep

    @router.post("/{subject_id}/read", response_model=RecordsOut)
    def read(subject_id: str, body: ReadIn, vault: VaultDep, uow: UnitOfWorkDep,
             actor: ActorDep, caller: CallerDep, purpose: PurposeDep) -> RecordsOut:
        require_policy(caller, vault.subject(uow, subject_id).policy_id)
        return RecordsOut.of(vault.read(uow, subject_id, purpose=purpose, actor=actor, ...))

- `VaultDep`: the app's `Vault` (`app.state.vault`).
- `UnitOfWorkDep`: one unit of work per HTTP request. Services flush, never commit; the
  dependency commits once after the route returns, before the response is sent (a failed
  commit is an error response, not a 200), and rolls back if the route raises (writes kept
  on rollback, such as a denied read's audit entry, stay: the vault's rule).
- `CallerDep`: the API key the request authenticated with (`Authorization: Bearer <key>`),
  as `mexfi.apikeys.ApiKeyRead` (its policy and role); none, unknown or revoked is 401.
- `ActorDep`: the same caller as the vault's `Actor` (id `apikey:<key id>`, the key's role):
  pass it to every vault or service call.
- `PurposeDep`: the `X-Mexfi-Purpose` header, required where a route reads personal data.
  The route passes it on; the vault checks it (declared for the role, bound to its facts).
- `require_policy(caller, policy_id)`: a key reaches only its own policy's data (`OutOfScope`,
  403). Call it once the route knows the subject's policy.

- `require_roles(*roles)`: the caller's `Actor`, if its role is one of `roles`
  (`RoleNotAllowed`, 403): `DpoDep = Annotated[Actor, Depends(require_roles("dpo"))]`.
- `PolicyRoleDep`: the caller's `Actor`, if its role is one the key's policy declares: the
  auditor (a role of mexfi's, not of a policy) reads no subject (`RoleNotAllowed`, 403).
- `require_action(action)`: declares that the route does a role action the policy grants
  (`open_order`, `set_status`); the vault checks it and audits a refusal.
- `SessionDep`: a data subject's session (`Authorization: Bearer <session token>`), for the
  subject's own routes; `SubjectActorDep` the same as an `Actor` bound to the subject.
- `no_kept_answer`: a POST whose answer holds personal data takes no `Idempotency-Key`.
- `Page[T]`, `encode_cursor`, `decode_cursor`: every list answers a page and an opaque
  cursor (URL-safe base64 of the keyset of the last item) for the next one.

What a route asks of its caller is read off its dependencies by `describe_access` and shown
in the OpenAPI document: `x-mexfi-auth` (`apikey`, `session`, `none`), `x-mexfi-roles` (the
fixed roles; `["*"]` for any role a key may have; `["@policy"]` for the roles the key's
policy declares, so not the auditor), `x-mexfi-purpose` (the role must
be one the `X-Mexfi-Purpose` purpose gives), `x-mexfi-action`, `x-mexfi-idempotent`.

Idempotent writes: a POST with `Idempotency-Key` (see `mexfi.api.idempotency`) commits its
unit of work only once the answer is known, with the answer in it (`IDEMPOTENT_STATE`).

Routes raise `mexfi.errors` and never build an error response: `mexfi.api.problems` turns
the error tree into `application/problem+json`. No personal value goes in a path or a query
string (a phone look-up is a POST with the phone in the body).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from mexfi.apikeys import (
    ApiKeyRead,
    KeptAnswer,
    OutOfScope,
    RoleNotAllowed,
    SessionRead,
    authenticate,
    authenticate_session,
    find_answer,
    is_session_token,
)
from mexfi.db import UnitOfWork
from mexfi.errors import Invalid
from mexfi.policy import RoleAction
from mexfi.vault import Actor, Vault

__all__ = [
    "IDEMPOTENT_STATE",
    "PURPOSE_HEADER",
    "ActorDep",
    "AnswerKept",
    "CallerDep",
    "IdempotentWrite",
    "Page",
    "PolicyRoleDep",
    "PurposeDep",
    "SessionDep",
    "SubjectActorDep",
    "UnitOfWorkDep",
    "VaultDep",
    "decode_cursor",
    "describe_access",
    "due_keyset",
    "encode_cursor",
    "get_actor",
    "get_caller",
    "get_purpose",
    "get_session",
    "get_unit_of_work",
    "get_vault",
    "no_kept_answer",
    "page_of",
    "require_action",
    "require_policy",
    "require_roles",
]

PURPOSE_HEADER = "X-Mexfi-Purpose"


def get_vault(request: Request) -> Vault:
    """The vault the app was made with."""
    vault: Vault = request.app.state.vault
    return vault


VaultDep = Annotated[Vault, Depends(get_vault)]


#: `request.state` attribute of an idempotent write: `mexfi.api.idempotency` puts the key
#: there, this dependency the unit of work it leaves open for the answer to join.
IDEMPOTENT_STATE = "mexfi_idempotent"


class IdempotentWrite:
    """An idempotent write under way: its key and request fingerprint (set by
    `mexfi.api.idempotency`), its caller and unit of work (set here)."""

    def __init__(self, key: str, fingerprint: str) -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.caller: str | None = None
        self.uow: UnitOfWork | None = None


class AnswerKept(Exception):
    """Not an error: the write was done before under this key; its first answer is sent."""

    def __init__(self, answer: KeptAnswer) -> None:
        super().__init__("answer kept")
        self.answer = answer


def _idempotent(vault: Vault, uow: UnitOfWork, request: Request) -> IdempotentWrite | None:
    """The idempotent write this request is, if it is one: a POST with `Idempotency-Key` to
    a route that keeps answers, with a credential. Raises `AnswerKept` for a retry (of a
    caller still signed in) and `IdempotencyKeyReused` for the key sent with another request."""
    pending: IdempotentWrite | None = getattr(request.state, IDEMPOTENT_STATE, None)
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    secret = request.headers.get("authorization", "").partition(" ")[2].strip()
    if pending is None or not extra.get("x-mexfi-idempotent") or not secret:
        setattr(request.state, IDEMPOTENT_STATE, None)
        return None
    pending.caller = vault.api_key_digest(secret)
    kept = find_answer(
        uow,
        caller=pending.caller,
        key=pending.key,
        fingerprint=pending.fingerprint,
        now=vault.clock.now(),
    )
    if kept is not None:
        # Only to a caller still signed in: a revoked key gets no old answer back.
        if is_session_token(secret):
            authenticate_session(vault, uow, secret)
        else:
            authenticate(vault, uow, secret)
        raise AnswerKept(kept)
    return pending


def get_unit_of_work(vault: VaultDep, request: Request) -> Iterator[UnitOfWork]:
    """One unit of work for the request: committed once if the route returns, else rolled
    back. An idempotent write's is committed by `mexfi.api.idempotency`, with its answer."""
    uow = vault.unit_of_work()
    try:
        _idempotent(vault, uow, request)
    except BaseException:
        uow.close()
        raise
    handed_over = False
    try:
        yield uow
    except BaseException:
        uow.rollback()
        raise
    else:
        pending = getattr(request.state, IDEMPOTENT_STATE, None)
        if pending is not None:
            pending.uow = uow
            handed_over = True
            return
        try:
            uow.commit()
        except BaseException:
            uow.rollback()
            raise
    finally:
        if not handed_over:
            uow.close()


# scope="function": the commit runs before the response is sent, not after.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work, scope="function")]


#: `Authorization: Bearer <key>`, declared in the OpenAPI document as the security scheme.
_bearer = HTTPBearer(auto_error=False, description="An API key from `mexfi apikeys create`.")


def get_caller(
    vault: VaultDep,
    uow: UnitOfWorkDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKeyRead:
    """The API key of `Authorization: Bearer <key>`; `Unauthenticated` (401) otherwise, and
    `RoleNotAllowed` (403) for a subject's session token (it reaches only the subject's own
    routes)."""
    secret = credentials.credentials if credentials else None
    if secret and is_session_token(secret):
        authenticate_session(vault, uow, secret)  # 401 if it is no live session
        raise RoleNotAllowed(
            "a data subject's session reaches only the subject's own routes (/api/v1/me)",
            hint="operator routes take an API key from `mexfi apikeys create`",
        )
    return authenticate(vault, uow, secret)


CallerDep = Annotated[ApiKeyRead, Depends(get_caller)]


def get_actor(caller: CallerDep) -> Actor:
    """The caller as the vault's `Actor`: the key's id and role."""
    return Actor(caller.actor_id, caller.role)


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_purpose(
    purpose: Annotated[
        str,
        Header(
            alias=PURPOSE_HEADER,
            min_length=1,
            max_length=80,
            description="The declared purpose the personal data is read for (a purpose id "
            "of the policy); the vault refuses an undeclared one.",
        ),
    ],
) -> str:
    """The purpose the request reads personal data for."""
    return purpose


PurposeDep = Annotated[str, Depends(get_purpose)]


def require_policy(caller: ApiKeyRead, policy_id: str) -> None:
    """`OutOfScope` (403) unless the caller's key is scoped to `policy_id`."""
    if caller.policy_id != policy_id:
        raise OutOfScope(
            f"API key {caller.id} is scoped to policy {caller.policy_id!r}, not {policy_id!r}",
            hint="use a key of the subject's policy",
        )


def get_session(
    vault: VaultDep,
    uow: UnitOfWorkDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SessionRead:
    """The data subject's session of `Authorization: Bearer <session token>`; 401 for none,
    unknown, expired or ended, 403 for an API key."""
    return authenticate_session(vault, uow, credentials.credentials if credentials else None)


SessionDep = Annotated[SessionRead, Depends(get_session)]


def _subject_actor(session: SessionDep) -> Actor:
    return session.actor


SubjectActorDep = Annotated[Actor, Depends(_subject_actor)]


# ------------------------------------------------------------------ declared access

_ROLES = "__mexfi_roles__"
_ACTION = "__mexfi_action__"
_NO_ANSWER = "__mexfi_no_kept_answer__"


def require_roles(*roles: str) -> Callable[[Actor], Actor]:
    """A dependency: the caller's `Actor` if its role is one of `roles`, else
    `RoleNotAllowed` (403). The roles show in the OpenAPI document (`x-mexfi-roles`)."""
    allowed = tuple(roles)

    def check(actor: ActorDep) -> Actor:
        if actor.role not in allowed:
            raise RoleNotAllowed(
                f"role {actor.role!r} may not use this route",
                hint=f"use an API key of the role{'s' if len(allowed) > 1 else ''} "
                f"{', '.join(allowed)}",
            )
        return actor

    setattr(check, _ROLES, allowed)
    return check


#: `x-mexfi-roles` of a route for the roles the key's policy declares.
POLICY_ROLES = "@policy"


def _policy_role(actor: ActorDep, caller: CallerDep, vault: VaultDep) -> Actor:
    declared = {role.id for role in vault.policy(caller.policy_id).roles}
    if actor.role not in declared:
        raise RoleNotAllowed(
            f"role {actor.role!r} is not a role of policy {caller.policy_id!r}: it reads no "
            f"subject",
            hint=f"use an API key of one of the roles {', '.join(sorted(declared))}",
        )
    return actor


setattr(_policy_role, _ROLES, (POLICY_ROLES,))

#: The caller, if its role is one its key's policy declares (never the auditor).
PolicyRoleDep = Annotated[Actor, Depends(_policy_role)]


def require_action(action: RoleAction) -> Callable[[], None]:
    """A dependency declaring the role action the route does (`x-mexfi-action`): the vault
    grants it to the roles the policy names, and audits a refusal."""

    def declared() -> None:
        return None

    setattr(declared, _ACTION, action.value)
    return declared


def no_kept_answer() -> None:
    """A dependency marking a POST whose answer holds personal data (a read, an answer, a
    letter, a scan): no answer is kept for it, so it takes no `Idempotency-Key`."""


setattr(no_kept_answer, _NO_ANSWER, True)


def _calls(dependant: Any) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
            yield from _api_routes(route.original_router.routes)


def describe_access(app: FastAPI) -> None:
    """Write what each route asks of its caller into its OpenAPI operation (`x-mexfi-*`),
    read off its dependencies; call once every router is mounted."""
    for route in _api_routes(app.routes):
        calls = list(_calls(route.dependant))
        roles: list[str] | None = None
        for call in calls:
            if hasattr(call, _ROLES):
                roles = list(getattr(call, _ROLES))
        action = next((getattr(c, _ACTION) for c in calls if hasattr(c, _ACTION)), None)
        auth = "session" if get_session in calls else "apikey" if get_caller in calls else "none"
        extra = {
            "x-mexfi-auth": auth,
            "x-mexfi-roles": roles if roles is not None else (["*"] if auth == "apikey" else []),
            "x-mexfi-purpose": get_purpose in calls,
            "x-mexfi-idempotent": "POST" in (route.methods or ())
            and auth != "none"
            and not any(hasattr(c, _NO_ANSWER) for c in calls),
        }
        if action is not None:
            extra["x-mexfi-action"] = action
        route.openapi_extra = {**(route.openapi_extra or {}), **extra}


# ------------------------------------------------------------------------- pages

T = TypeVar("T")
K = TypeVar("K")


class Page(BaseModel, Generic[T]):
    """One page of a list, and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Give it as `cursor` for the next page; opaque. None on the last page."
    )


def encode_cursor(*keys: Any) -> str:
    """The opaque cursor of a keyset (the sort keys of a page's last item)."""
    raw = json.dumps(list(keys), default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, parse: Callable[[list[Any]], K]) -> K | None:
    """The keyset of a cursor `encode_cursor` made, through `parse` (its keys → the typed
    keyset); None for no cursor; `Invalid` for one this API did not give."""
    if cursor is None:
        return None
    try:
        keys = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(keys, list):
            raise TypeError("not a keyset")
        return parse(keys)
    except (ValueError, TypeError, IndexError, KeyError):
        raise Invalid(
            "the cursor is not one this API gave",
            hint="give the next_cursor of the previous page, or leave it out for the first",
        ) from None


def page_of(items: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]) -> Page[T]:
    """The page of the first `limit` of `items` (fetched `limit + 1`, so a further one says
    there is a next page), its cursor the keyset of the last."""
    shown = list(items[:limit])
    more = len(items) > limit and bool(shown)
    return Page[T](items=shown, next_cursor=encode_cursor(*key(shown[-1])) if more else None)


def due_keyset(keys: list[Any]) -> tuple[datetime, str]:
    """The keyset (a due instant, an id) of a cursor of a list by due date (`decode_cursor`)."""
    due, last = keys
    at = datetime.fromisoformat(due)
    if at.tzinfo is None:
        raise ValueError("a due instant has its offset")
    return at, str(last)
