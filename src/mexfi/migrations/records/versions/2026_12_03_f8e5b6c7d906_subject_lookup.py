"""subjects: finding a subject after destruction

Revision ID: f8e5b6c7d906
Revises: e7d4a5b6c805
Create Date: 2026-12-03 11:00:00

Issue 11: a destruction that takes a subject's phone records the subject's 16-bit
blind-index value (`subjects.phone_bucket`, shared by a thousand-odd numbers) in its
evidence, so a phone that matches no live subject can name the destroyed subjects sharing
its value as candidates, without the phone being kept. Destructions completed before this
revision cleared the value and cannot be backfilled.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f8e5b6c7d906"
down_revision: str | None = "e7d4a5b6c805"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds a nullable column in place.
    op.add_column("destruction_evidence", sa.Column("phone_bucket", sa.Integer(), nullable=True))
    op.create_index(
        "ix_destruction_evidence_phone_bucket",
        "destruction_evidence",
        ["phone_bucket"],
        unique=False,
        postgresql_where=sa.text("phone_bucket IS NOT NULL"),
        sqlite_where=sa.text("phone_bucket IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_destruction_evidence_phone_bucket", table_name="destruction_evidence")
    with op.batch_alter_table("destruction_evidence", schema=None) as batch_op:
        batch_op.drop_column("phone_bucket")
