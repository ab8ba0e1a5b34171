"""Making, listing, revoking and checking API keys.

A key is `mexfi_` and 32 random bytes (URL-safe base64); the store holds only its keyed hash
(`Vault.api_key_digest`), so a copy of the database authenticates nobody. Functions take the
vault and the caller's unit of work and flush; the caller commits.
"""

from __future__ import annotations

import secrets as stdlib_secrets

from sqlalchemy import select

from mexfi.apikeys.errors import ApiKeyNotFound, RoleNotKeyable, Unauthenticated
from mexfi.apikeys.models import ApiKey
from mexfi.apikeys.schemas import EXTRA_ROLES, ApiKeyCreated, ApiKeyRead
from mexfi.audit import AuditAction, AuditEvent
from mexfi.db import UnitOfWork, new_id
from mexfi.errors import Invalid
from mexfi.policy import RoleKind
from mexfi.scan import refuse_personal_data
from mexfi.vault import Actor, Vault

__all__ = ["authenticate", "create_api_key", "list_api_keys", "revoke_api_key"]

PREFIX = "mexfi_"
#: Role kinds a key may be scoped to: people and programs acting on the operator's side.
#: A data subject signs in with a one-time code instead (a session of their own).
KEYABLE_KINDS = (RoleKind.STAFF, RoleKind.SYSTEM)
MAX_LABEL = 200


def _read(row: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=row.id,
        policy_id=row.policy_id,
        role=row.role,
        label=row.label,
        created_by=row.created_by,
        created_at=row.created_at,
        revoked_by=row.revoked_by,
        revoked_at=row.revoked_at,
    )


def _check_role(vault: Vault, policy_id: str, role: str) -> None:
    policy = vault.policy(policy_id)
    if role in EXTRA_ROLES:
        return
    keyable = sorted({r.id for r in policy.roles if r.kind in KEYABLE_KINDS} | set(EXTRA_ROLES))
    declared = {r.id: r for r in policy.roles}
    if role not in declared or declared[role].kind not in KEYABLE_KINDS:
        raise RoleNotKeyable(
            f"role {role!r} cannot hold an API key in policy {policy_id!r}",
            hint=f"choose one of: {', '.join(keyable)} (data subjects sign in with a "
            "one-time code, not a key)",
        )


def create_api_key(
    vault: Vault, uow: UnitOfWork, *, policy_id: str, role: str, label: str, actor: Actor
) -> ApiKeyCreated:
    """A new key scoped to `policy_id` and `role`; the secret is in the result only."""
    _check_role(vault, policy_id, role)
    label = label.strip()
    if not label or len(label) > MAX_LABEL:
        raise Invalid(
            f"the label must be 1 to {MAX_LABEL} characters",
            hint="name the service or team the key is for, e.g. 'bakikart-backend'",
        )
    refuse_personal_data(label, field="label")
    secret = PREFIX + stdlib_secrets.token_urlsafe(32)
    now = vault.clock.now()
    row = ApiKey(
        id=new_id(),
        digest=vault.api_key_digest(secret),
        policy_id=policy_id,
        role=role,
        label=label,
        created_by=actor.id,
        created_at=now,
    )
    uow.records.add(row)
    uow.records.flush()
    vault.audit.append(
        uow.records,
        AuditEvent(
            action=AuditAction.API_KEY_CREATE,
            at=now,
            actor_id=actor.id,
            actor_role=actor.role,
            policy_id=policy_id,
            reference=row.id,
            reason=f"role {role}",
        ),
    )
    return ApiKeyCreated(key=_read(row), secret=secret)


def list_api_keys(
    uow: UnitOfWork, *, policy_id: str | None = None, include_revoked: bool = True
) -> list[ApiKeyRead]:
    """Every key (of one policy if given), oldest first; never a secret."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if policy_id is not None:
        query = query.where(ApiKey.policy_id == policy_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [_read(row) for row in uow.records.scalars(query)]


def revoke_api_key(vault: Vault, uow: UnitOfWork, key_id: str, *, actor: Actor) -> ApiKeyRead:
    """Revoke a key (from the next request on); revoking a revoked key changes nothing."""
    row = uow.records.get(ApiKey, key_id)
    if row is None:
        raise ApiKeyNotFound(
            f"no API key {key_id!r}", hint="`mexfi apikeys list` shows the keys and their ids"
        )
    if row.revoked_at is not None:
        return _read(row)
    now = vault.clock.now()
    row.revoked_at = now
    row.revoked_by = actor.id
    uow.records.flush()
    vault.audit.append(
        uow.records,
        AuditEvent(
            action=AuditAction.API_KEY_REVOKE,
            at=now,
            actor_id=actor.id,
            actor_role=actor.role,
            policy_id=row.policy_id,
            reference=row.id,
        ),
    )
    return _read(row)


def authenticate(vault: Vault, uow: UnitOfWork, secret: str | None) -> ApiKeyRead:
    """The active key `secret` is; `Unauthenticated` if none is given, unknown or revoked."""
    hint = "send `Authorization: Bearer <key>` with a key from `mexfi apikeys create`"
    if not secret:
        raise Unauthenticated("no API key given", hint=hint)
    row = uow.records.scalar(select(ApiKey).where(ApiKey.digest == vault.api_key_digest(secret)))
    # The same answer for unknown and revoked: a caller learns nothing about other keys.
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("the API key is unknown or revoked", hint=hint)
    return _read(row)
