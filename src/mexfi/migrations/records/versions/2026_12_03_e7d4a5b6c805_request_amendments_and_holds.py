"""requests: amendments, withdrawal and requests on hold

Revision ID: e7d4a5b6c805
Revises: d6c3f4a5b704
Create Date: 2026-12-03 10:00:00

Issue 11, items 4 and 5: a request blocked by a legal hold waits on it (`on_hold`) with its
due date suspended: `holds` names the holds, `suspended_at` and `days_left` let the due date
resume where it stopped. `amended_at` dates the last amendment (what changed is in the audit
log). The new states (`on_hold`, `withdrawn`) fit the existing `state` column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "e7d4a5b6c805"
down_revision: str | None = "d6c3f4a5b704"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds a column in place (the NOT NULL one with its default).
    op.add_column(
        "subject_requests",
        sa.Column("holds", sa.Text(), nullable=False, server_default="{}"),
    )
    op.add_column(
        "subject_requests",
        sa.Column("suspended_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column("subject_requests", sa.Column("days_left", sa.Integer(), nullable=True))
    op.add_column(
        "subject_requests",
        sa.Column("amended_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("subject_requests", schema=None) as batch_op:
        batch_op.drop_column("amended_at")
        batch_op.drop_column("days_left")
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("holds")
