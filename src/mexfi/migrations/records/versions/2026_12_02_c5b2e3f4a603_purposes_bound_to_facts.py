"""security: lawful demands and the facts purposes are bound to

Revision ID: c5b2e3f4a603
Revises: b4a1d2e3f502
Create Date: 2026-12-02 12:00:00

Issue 10, item 3: a read for a request purpose cites an open, verified request of its
subject (`request_bases`, written by the request workflow), and a lawful-request read cites
a lawful demand the DPO recorded (`lawful_demands`: authority, reference, law, scope, term).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "c5b2e3f4a603"
down_revision: str | None = "b4a1d2e3f502"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_bases",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=80), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("include_passive", sa.Boolean(), nullable=False),
        sa.Column("opened_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "purpose", name=op.f("pk_request_bases")),
    )
    with op.batch_alter_table("request_bases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_bases_subject_id"), ["subject_id"], unique=False
        )
    op.create_table(
        "lawful_demands",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("law", sa.String(length=200), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("received_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lawful_demands")),
    )
    with op.batch_alter_table("lawful_demands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lawful_demands_subject_id"), ["subject_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lawful_demands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lawful_demands_subject_id"))
    op.drop_table("lawful_demands")
    with op.batch_alter_table("request_bases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_bases_subject_id"))
    op.drop_table("request_bases")
