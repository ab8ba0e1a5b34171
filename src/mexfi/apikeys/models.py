"""The API keys table: a keyed hash of each key, never the key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import Base

__all__ = ["ApiKey"]


class ApiKey(Base):
    """One API key: scoped to a policy and one role, revocable."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: HMAC-SHA256 of the key under a key derived from the store's secrets (hex).
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(80))
    label: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    revoked_by: Mapped[str | None] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None]
