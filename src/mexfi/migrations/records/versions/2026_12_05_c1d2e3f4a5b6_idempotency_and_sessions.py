"""api: idempotent writes and data subjects' sessions

Revision ID: c1d2e3f4a5b6
Revises: b0c1d2e3f4a5
Create Date: 2026-12-05 10:00:00

Issue 12: stored first answers of writes retried with an Idempotency-Key, and the
short-lived sessions data subjects get with a one-time code (filled by that work).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "c1d2e3f4a5b6"
down_revision: str | None = "b0c1d2e3f4a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_idempotent_answers",
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=120), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key", name=op.f("pk_api_idempotent_answers")),
    )
    op.create_index(
        op.f("ix_api_idempotent_answers_expires_at"),
        "api_idempotent_answers",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "subject_session_challenges",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=True),
        sa.Column("code_mac", sa.LargeBinary(), nullable=True),
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("sent_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_session_challenges")),
    )
    op.create_index(
        op.f("ix_subject_session_challenges_subject_id"),
        "subject_session_challenges",
        ["subject_id"],
        unique=False,
    )
    op.create_table(
        "subject_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.Column("challenge_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_sessions")),
        sa.UniqueConstraint("digest", name=op.f("uq_subject_sessions_digest")),
    )
    op.create_index(
        op.f("ix_subject_sessions_subject_id"), "subject_sessions", ["subject_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subject_sessions_subject_id"), table_name="subject_sessions")
    op.drop_table("subject_sessions")
    op.drop_index(
        op.f("ix_subject_session_challenges_subject_id"), table_name="subject_session_challenges"
    )
    op.drop_table("subject_session_challenges")
    op.drop_index(op.f("ix_api_idempotent_answers_expires_at"), table_name="api_idempotent_answers")
    op.drop_table("api_idempotent_answers")
