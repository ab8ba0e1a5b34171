"""api: sign-in codes rate-limited per phone, whether anyone holds it or not

Revision ID: f4a5b6c7d8e9
Revises: e3f4a5b6c7d8
Create Date: 2026-12-06 12:00:00

Issue 12: a start of a session for a phone nobody holds sent no code but was never limited,
so a caller could fill the challenge table, and a known phone answered 429 where an unknown
one did not. Each challenge now keeps the phone's keyed pseudonym (`phone_key`, never the
phone), and the limit counts by it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f4a5b6c7d8e9"
down_revision: str | None = "e3f4a5b6c7d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subject_session_challenges") as batch:
        batch.add_column(sa.Column("phone_key", sa.String(length=40), nullable=True))
        batch.create_index(
            batch.f("ix_subject_session_challenges_phone_key"), ["phone_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subject_session_challenges") as batch:
        batch.drop_index(batch.f("ix_subject_session_challenges_phone_key"))
        batch.drop_column("phone_key")
