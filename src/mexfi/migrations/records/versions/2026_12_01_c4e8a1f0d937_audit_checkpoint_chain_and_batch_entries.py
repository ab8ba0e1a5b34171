"""audit: chained checkpoints (head remembers the last one), batch entries and their subject index

Revision ID: c4e8a1f0d937
Revises: 5e1a7c0d2b64
Create Date: 2026-12-01 10:00:00

Existing entries keep their hashes (`subjects` is hashed only when present) and
existing checkpoints become the legacy ones (`ordinal` NULL). The head starts the
chained checkpoints after the newest legacy checkpoint, so the first commit after
the upgrade signs checkpoint 1 over everything written since.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e8a1f0d937"
down_revision: str | None = "5e1a7c0d2b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def _seq() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subjects", sa.Text(), nullable=True))

    op.create_table(
        "audit_entry_subjects",
        sa.Column("seq", _seq(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", "subject", name=op.f("pk_audit_entry_subjects")),
    )
    with op.batch_alter_table("audit_entry_subjects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_entry_subjects_subject"), ["subject"], unique=False
        )

    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checkpoint_ordinal", _seq(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("checkpoint_seq", _seq(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "checkpoint_digest",
                sa.String(length=64),
                server_default=sa.text(f"'{GENESIS_HASH}'"),
                nullable=False,
            )
        )

    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ordinal", _seq(), nullable=True))
        batch_op.add_column(sa.Column("prev_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("max_gap", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_checkpoints_ordinal"), ["ordinal"], unique=True)

    # The head of an empty log is seeded here: the `after_create` hook that seeds it for
    # `create_all` never runs under Alembic, and two first appenders racing to seed it
    # would see each other's entries before a head. A log with entries but no head is
    # left as it is: that is for `audit verify` to name.
    op.execute(
        "INSERT INTO audit_head (id, seq, hash) "
        f"SELECT 1, 0, '{GENESIS_HASH}' "
        "WHERE NOT EXISTS (SELECT 1 FROM audit_head) "
        "AND NOT EXISTS (SELECT 1 FROM audit_entries)"
    )
    # Only the head moves (its triggers refuse DELETE, not UPDATE).
    op.execute(
        "UPDATE audit_head SET checkpoint_seq = "
        "COALESCE((SELECT MAX(seq) FROM audit_checkpoints), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_checkpoints_ordinal"))
        batch_op.drop_column("max_gap")
        batch_op.drop_column("prev_digest")
        batch_op.drop_column("ordinal")

    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("checkpoint_digest")
        batch_op.drop_column("checkpoint_seq")
        batch_op.drop_column("checkpoint_ordinal")

    with op.batch_alter_table("audit_entry_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_subjects_subject"))

    op.drop_table("audit_entry_subjects")

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("subjects")
