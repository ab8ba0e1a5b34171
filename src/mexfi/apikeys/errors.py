"""Errors of the API keys.

MexfiError
├── NotFound
│   └── ApiKeyNotFound      no key with that id
├── Invalid
│   └── RoleNotKeyable      a key for a role no key may hold
└── Denied
    ├── Unauthenticated     no key, an unknown key or a revoked one (HTTP 401)
    └── OutOfScope          the key's policy is not the subject's
"""

from __future__ import annotations

from mexfi.errors import Denied, Invalid, NotFound

__all__ = ["ApiKeyNotFound", "OutOfScope", "RoleNotKeyable", "Unauthenticated"]


class ApiKeyNotFound(NotFound):
    """No API key with that id."""


class RoleNotKeyable(Invalid):
    """The role is not one a key may be scoped to."""


class Unauthenticated(Denied):
    """The caller gave no API key, or one that is unknown or revoked."""


class OutOfScope(Denied):
    """The key is scoped to another policy than the data it reaches for."""
