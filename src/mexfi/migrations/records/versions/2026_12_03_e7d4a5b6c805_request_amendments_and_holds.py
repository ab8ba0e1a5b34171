"""requests: amendments, withdrawal and requests on hold

Revision ID: e7d4a5b6c805
Revises: d6c3f4a5b704
Create Date: 2026-12-03 10:00:00

Issue 11: amended requests keep their history; a request blocked by a legal hold waits on it (filled by that work).
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "e7d4a5b6c805"
down_revision: str | None = "d6c3f4a5b704"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
