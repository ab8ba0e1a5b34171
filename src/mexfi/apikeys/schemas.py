"""What the API keys service returns: a key's record without its secret, and a new key once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["ApiKeyCreated", "ApiKeyRead"]

#: The roles a key may hold in any policy, besides the policy's own staff and system roles.
#: `auditor` reads the audit log, certificates and reports; never personal values.
EXTRA_ROLES = ("auditor", "dpo")


@dataclass(frozen=True)
class ApiKeyRead:
    """An API key as listed: its id, scope and label; never the key or its hash."""

    id: str
    policy_id: str
    role: str
    label: str
    created_by: str
    created_at: datetime
    revoked_by: str | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor_id(self) -> str:
        """The id the key acts as in the audit log."""
        return f"apikey:{self.id}"


@dataclass(frozen=True)
class ApiKeyCreated:
    """A new key: its record, and the key itself, shown this once."""

    key: ApiKeyRead
    secret: str = field(repr=False)
