"""geolocation: drivers' app sessions (TX-12); location pings only inside one

Revision ID: e3f4a5b6c7d8
Revises: d2e3f4a5b6c7
Create Date: 2026-12-06 10:00:00

Issue 13: a subject's app session, opened and closed by the app's backend; a location ping
is accepted only at a time one covers (ids and times, no personal value).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "e3f4a5b6c7d8"
down_revision: str | None = "d2e3f4a5b6c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("opened_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_app_sessions_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_sessions")),
    )
    op.create_index(
        "ix_app_sessions_subject_opened",
        "app_sessions",
        ["subject_id", "opened_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_app_sessions_subject_opened", table_name="app_sessions")
    op.drop_table("app_sessions")
