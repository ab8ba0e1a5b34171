"""key store: master-key epochs (rewrap, retire)

Revision ID: f6c3a4b5c704
Revises: eb6448ed1a78
Create Date: 2026-12-02 13:00:00

Issue 10, item 1: `master_key_epochs` records, per master key id (never the key), when it
was first seen, when a newer key superseded it and when it was retired (removed from the
key file), so that a key is destroyed once no backup within the backup window needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "f6c3a4b5c704"
down_revision: str | None = "eb6448ed1a78"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "master_key_epochs",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("created_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", mexfi.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_master_key_epochs")),
    )


def downgrade() -> None:
    op.drop_table("master_key_epochs")
