"""Errors of the API keys.

MexfiError
├── NotFound
│   └── ApiKeyNotFound      no key with that id
├── Invalid
│   └── RoleNotKeyable      a key for a role no key may hold
├── Conflict
│   └── IdempotencyKeyReused  an Idempotency-Key sent again with another request
└── Denied
    ├── Unauthenticated     no key, an unknown key or a revoked one (HTTP 401)
    ├── OutOfScope          the key's policy is not the subject's
    ├── RoleNotAllowed      the route is not open to the caller's role
    └── SessionLocked       a sign-in challenge locked by wrong codes, or expired
"""

from __future__ import annotations

from mexfi.errors import Conflict, Denied, Invalid, NotFound

__all__ = [
    "ApiKeyNotFound",
    "IdempotencyKeyReused",
    "OutOfScope",
    "RoleNotAllowed",
    "RoleNotKeyable",
    "SessionLocked",
    "Unauthenticated",
]


class ApiKeyNotFound(NotFound):
    """No API key with that id."""


class RoleNotKeyable(Invalid):
    """The role is not one a key may be scoped to."""


class Unauthenticated(Denied):
    """The caller gave no API key, or one that is unknown or revoked."""


class OutOfScope(Denied):
    """The key is scoped to another policy than the data it reaches for."""


class IdempotencyKeyReused(Conflict):
    """The caller sent an `Idempotency-Key` again with another request than the first."""


class RoleNotAllowed(Denied):
    """The route serves other roles than the caller's (a subject's session included)."""


class SessionLocked(Denied):
    """A sign-in challenge that takes no more codes: locked by wrong ones, used, or expired."""
