"""API keys: how operator services, staff, the DPO and auditors authenticate to the HTTP API.

A key is random, shown once, stored only as a keyed hash (`Vault.api_key_digest`), scoped to
one policy and one role, labelled (no personal data), and revocable; making and revoking one
is audited. A capability of its own (not part of `mexfi.api`) because the CLI
(`mexfi apikeys`) and the request dependencies (`mexfi.deps`) both use it, and neither may
import the API front.

    MexfiError
    ├── NotFound     ApiKeyNotFound
    ├── Invalid      RoleNotKeyable
    ├── Conflict     IdempotencyKeyReused
    └── Denied       Unauthenticated (HTTP 401), OutOfScope, RoleNotAllowed, SessionLocked

Data subjects sign in with a one-time code and get a short-lived session of their own
(`sessions`); writes retried with an `Idempotency-Key` get their first answer back
(`idempotency`).
"""

from mexfi.apikeys.errors import (
    ApiKeyNotFound,
    IdempotencyKeyReused,
    OutOfScope,
    RoleNotAllowed,
    RoleNotKeyable,
    SessionLocked,
    Unauthenticated,
)
from mexfi.apikeys.idempotency import ANSWER_TTL, KeptAnswer, find_answer, keep_answer
from mexfi.apikeys.models import ApiKey, IdempotentAnswer, SessionChallenge, SubjectSession
from mexfi.apikeys.schemas import EXTRA_ROLES, ApiKeyCreated, ApiKeyRead
from mexfi.apikeys.service import authenticate, create_api_key, list_api_keys, revoke_api_key
from mexfi.apikeys.sessions import (
    SESSION_TTL,
    ChallengeRead,
    SessionCreated,
    SessionRead,
    authenticate_session,
    is_session_token,
    revoke_session,
    start_session,
    verify_session,
)

__all__ = [
    "ANSWER_TTL",
    "EXTRA_ROLES",
    "SESSION_TTL",
    "ApiKey",
    "ApiKeyCreated",
    "ApiKeyNotFound",
    "ApiKeyRead",
    "ChallengeRead",
    "IdempotencyKeyReused",
    "IdempotentAnswer",
    "KeptAnswer",
    "OutOfScope",
    "RoleNotAllowed",
    "RoleNotKeyable",
    "SessionChallenge",
    "SessionCreated",
    "SessionLocked",
    "SessionRead",
    "SubjectSession",
    "Unauthenticated",
    "authenticate",
    "authenticate_session",
    "create_api_key",
    "find_answer",
    "is_session_token",
    "keep_answer",
    "list_api_keys",
    "revoke_api_key",
    "revoke_session",
    "start_session",
    "verify_session",
]
