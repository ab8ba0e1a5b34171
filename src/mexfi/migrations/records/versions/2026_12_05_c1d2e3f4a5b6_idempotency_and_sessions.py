"""api: idempotent writes and data subjects' sessions

Revision ID: c1d2e3f4a5b6
Revises: b0c1d2e3f4a5
Create Date: 2026-12-05 10:00:00

Issue 12: stored first answers of writes retried with an Idempotency-Key, and the
short-lived sessions data subjects get with a one-time code (filled by that work).
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "c1d2e3f4a5b6"
down_revision: str | None = "b0c1d2e3f4a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
