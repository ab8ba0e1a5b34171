"""security: quarantined records (faults stay where they are)

Revision ID: a3f0c1d2e401
Revises: c4e8a1f0d937
Create Date: 2026-12-02 10:00:00

Issue 10, item 5: `quarantined_records` holds records that would not open (ciphertext
and evidence, never plaintext), and `retention_runs.heartbeat_at` lets a run tell a
killed run (its heartbeat older than the lease) from a live one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "a3f0c1d2e401"
down_revision: str | None = "c4e8a1f0d937"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quarantined_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("collected_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("format", sa.SmallInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("detected_by", sa.String(length=80), nullable=False),
        sa.Column("quarantined_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_records")),
    )
    for column in ("policy_id", "subject_id", "key_id"):
        op.create_index(
            op.f(f"ix_quarantined_records_{column}"), "quarantined_records", [column], unique=False
        )
    # Plain ADD COLUMN: SQLite adds a nullable column in place.
    op.add_column(
        "retention_runs",
        sa.Column("heartbeat_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("retention_runs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
    for column in ("key_id", "subject_id", "policy_id"):
        op.drop_index(op.f(f"ix_quarantined_records_{column}"), table_name="quarantined_records")
    op.drop_table("quarantined_records")
