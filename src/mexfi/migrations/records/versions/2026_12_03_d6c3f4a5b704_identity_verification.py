"""requests: identity verification (one-time codes, out-of-band checks)

Revision ID: d6c3f4a5b704
Revises: c5b2e3f4a603
Create Date: 2026-12-03 09:00:00

Issue 11: codes sent to the subject's registered phone, attempts and locks (filled by the verification work).
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "d6c3f4a5b704"
down_revision: str | None = "c5b2e3f4a603"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
