"""requests: identity verification (one-time codes, out-of-band checks)

Revision ID: d6c3f4a5b704
Revises: c5b2e3f4a603
Create Date: 2026-12-03 09:00:00

Issue 11, item 1: codes sent to the subject's registered phone (kept as a keyed MAC), attempts
and locks, how each request was verified, a written request's details against the store.

A request is now verified (a one-time code, or the DPO's out-of-band check) before it opens
any read. Requests left `in_progress` by the old intake were never verified: they go back to
`verifying` and their read bases are closed, so none is answered on a phone number alone.
(A migration cannot sign audit entries: the request's history shows the step as the state
it is in, not as an entry.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "d6c3f4a5b704"
down_revision: str | None = "c5b2e3f4a603"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subject_requests",
        sa.Column("verified_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column("subject_requests", sa.Column("verification", sa.String(40), nullable=True))
    op.add_column(
        "subject_requests",
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "subject_requests",
        sa.Column("identity_checks", sa.Text(), nullable=False, server_default="{}"),
    )
    op.add_column(
        "subject_requests",
        sa.Column("language_given", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "request_verification_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("phone_bucket", sa.Integer(), nullable=True),
        sa.Column("code_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("sent_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_by", sa.String(length=120), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_requests.id"],
            name=op.f("fk_request_verification_codes_request_id_subject_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_verification_codes")),
    )
    with op.batch_alter_table("request_verification_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_verification_codes_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(
            "ix_request_verification_codes_subject_id_sent_at",
            ["subject_id", "sent_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_request_verification_codes_phone_bucket_sent_at",
            ["phone_bucket", "sent_at"],
            unique=False,
        )
    requests = sa.table(
        "subject_requests", sa.column("id", sa.String), sa.column("state", sa.String)
    )
    bases = sa.table(
        "request_bases",
        sa.column("request_id", sa.String),
        sa.column("closed_at", mexfi.db.UTCDateTime(timezone=True)),
    )
    unverified = sa.select(requests.c.id).where(requests.c.state == "in_progress")
    op.execute(
        bases.update()
        .where(bases.c.request_id.in_(unverified), bases.c.closed_at.is_(None))
        .values(closed_at=datetime.now(UTC))
    )
    op.execute(requests.update().where(requests.c.state == "in_progress").values(state="verifying"))


def downgrade() -> None:
    with op.batch_alter_table("request_verification_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_request_verification_codes_phone_bucket_sent_at")
        batch_op.drop_index("ix_request_verification_codes_subject_id_sent_at")
        batch_op.drop_index(batch_op.f("ix_request_verification_codes_request_id"))
    op.drop_table("request_verification_codes")
    with op.batch_alter_table("subject_requests", schema=None) as batch_op:
        batch_op.drop_column("language_given")
        batch_op.drop_column("identity_checks")
        batch_op.drop_column("failed_attempts")
        batch_op.drop_column("verification")
        batch_op.drop_column("verified_at")
