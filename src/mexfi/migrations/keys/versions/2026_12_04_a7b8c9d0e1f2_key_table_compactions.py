"""key store: key_table_compactions (shredded keys rewritten out of the heap files)

Revision ID: a7b8c9d0e1f2
Revises: f6c3a4b5c704
Create Date: 2026-12-04 10:00:00

Issue 10, item 1: PostgreSQL leaves a deleted row's bytes in its page after VACUUM, so the
data-key table is rewritten (VACUUM FULL) after shredding. `key_table_compactions` counts,
per table, the commits that deleted keys and the count the last rewrite covered, so that a
rewrite owed is never forgotten across crashes and runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "a7b8c9d0e1f2"
down_revision: str | None = "f6c3a4b5c704"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_table_compactions",
        sa.Column("table_name", sa.String(length=80), nullable=False),
        sa.Column("shredded", sa.BigInteger(), nullable=False),
        sa.Column("compacted", sa.BigInteger(), nullable=False),
        sa.Column("compacted_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_key_table_compactions")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE data_keys ALTER COLUMN wrapped SET STATISTICS 0")
        # To its own type: PostgreSQL then drops the sample ANALYZE already took (no rewrite).
        op.execute("ALTER TABLE data_keys ALTER COLUMN wrapped TYPE bytea")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE data_keys ALTER COLUMN wrapped SET STATISTICS -1")
    op.drop_table("key_table_compactions")
