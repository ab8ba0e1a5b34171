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

Routes raise `mexfi.errors` and never build an error response: `mexfi.api.problems` turns
the error tree into `application/problem+json`. No personal value goes in a path or a query
string (a phone look-up is a POST with the phone in the body).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mexfi.apikeys import ApiKeyRead, OutOfScope, authenticate
from mexfi.db import UnitOfWork
from mexfi.vault import Actor, Vault

__all__ = [
    "PURPOSE_HEADER",
    "ActorDep",
    "CallerDep",
    "PurposeDep",
    "UnitOfWorkDep",
    "VaultDep",
    "get_actor",
    "get_caller",
    "get_purpose",
    "get_unit_of_work",
    "get_vault",
    "require_policy",
]

PURPOSE_HEADER = "X-Mexfi-Purpose"


def get_vault(request: Request) -> Vault:
    """The vault the app was made with."""
    vault: Vault = request.app.state.vault
    return vault


VaultDep = Annotated[Vault, Depends(get_vault)]


def get_unit_of_work(vault: VaultDep) -> Iterator[UnitOfWork]:
    """One unit of work for the request: committed once if the route returns, else rolled
    back."""
    uow = vault.unit_of_work()
    try:
        yield uow
    except BaseException:
        uow.rollback()
        raise
    else:
        try:
            uow.commit()
        except BaseException:
            uow.rollback()
            raise
    finally:
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
    """The API key of `Authorization: Bearer <key>`; `Unauthenticated` (401) otherwise."""
    return authenticate(vault, uow, credentials.credentials if credentials else None)


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
