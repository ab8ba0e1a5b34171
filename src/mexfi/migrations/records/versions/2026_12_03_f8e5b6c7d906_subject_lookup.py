"""subjects: finding a subject after destruction

Revision ID: f8e5b6c7d906
Revises: e7d4a5b6c805
Create Date: 2026-12-03 11:00:00

Issue 11: what lets a destroyed subject be found without keeping the phone (filled by the subjects work).
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "f8e5b6c7d906"
down_revision: str | None = "e7d4a5b6c805"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
