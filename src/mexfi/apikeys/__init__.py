"""API keys: how operator services, staff, the DPO and auditors authenticate to the HTTP API.

A key is random, shown once, stored only as a keyed hash (`Vault.api_key_digest`), scoped to
one policy and one role, labelled (no personal data), and revocable; making and revoking one
is audited. A capability of its own (not part of `mexfi.api`) because the CLI
(`mexfi apikeys`) and the request dependencies (`mexfi.deps`) both use it, and neither may
import the API front.

    MexfiError
    ├── NotFound     ApiKeyNotFound
    ├── Invalid      RoleNotKeyable
    └── Denied       Unauthenticated (HTTP 401), OutOfScope
"""

from mexfi.apikeys.errors import ApiKeyNotFound, OutOfScope, RoleNotKeyable, Unauthenticated
from mexfi.apikeys.models import ApiKey
from mexfi.apikeys.schemas import EXTRA_ROLES, ApiKeyCreated, ApiKeyRead
from mexfi.apikeys.service import authenticate, create_api_key, list_api_keys, revoke_api_key

__all__ = [
    "EXTRA_ROLES",
    "ApiKey",
    "ApiKeyCreated",
    "ApiKeyNotFound",
    "ApiKeyRead",
    "OutOfScope",
    "RoleNotKeyable",
    "Unauthenticated",
    "authenticate",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
]
