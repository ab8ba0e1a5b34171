"""vault v2: one seal per record, indexes for set-based retention and streamed exports

Revision ID: 5e1a7c0d2b64
Revises: 9500c23d9265
Create Date: 2026-11-29 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1a7c0d2b64"
down_revision: str | None = "9500c23d9265"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PENDING = sa.text("status = 'pending'")


def _tables() -> tuple[tuple[str, str | None], ...]:
    """The records tables of both tiers, the passive one in the schema the store maps
    its placeholder to (ALTER TABLE does not go through the schema translation)."""
    translate = op.get_bind().get_execution_options().get("schema_translate_map") or {}
    return (("records", None), ("passive_records", translate.get("passive_tier", "passive_tier")))


FORMAT_V1 = sa.text("format = 1")


def upgrade() -> None:
    # Plain ALTERs, not batch mode: SQLite adds a column with a default in place, and a
    # batch table copy cannot rename a table of the passive tier's placeholder schema.
    for table, schema in _tables():
        # Records written before v2 keep format 1 (one ciphertext per field) until resealed.
        op.add_column(
            table,
            sa.Column("format", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
            schema=schema,
        )
        op.drop_index(f"ix_{table}_subject_category", table_name=table, schema=schema)
        op.create_index(
            f"ix_{table}_subject_category_collected",
            table,
            ["subject_id", "category", "collected_at", "id"],
            unique=False,
            schema=schema,
        )
        op.create_index(f"ix_{table}_key_id", table, ["key_id"], unique=False, schema=schema)
        op.create_index(
            f"ix_{table}_format_v1",
            table,
            ["id"],
            unique=False,
            schema=schema,
            postgresql_where=FORMAT_V1,
            sqlite_where=FORMAT_V1,
        )
    op.create_index(
        "ix_subjects_policy_kind_id", "subjects", ["policy_id", "kind", "id"], unique=False
    )
    op.create_index(
        "ix_destruction_evidence_pending",
        "destruction_evidence",
        ["subject_id"],
        unique=False,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_destruction_evidence_pending", table_name="destruction_evidence")
    op.drop_index("ix_subjects_policy_kind_id", table_name="subjects")
    for table, schema in _tables():
        op.drop_index(f"ix_{table}_format_v1", table_name=table, schema=schema)
        op.drop_index(f"ix_{table}_key_id", table_name=table, schema=schema)
        op.drop_index(f"ix_{table}_subject_category_collected", table_name=table, schema=schema)
        op.create_index(
            f"ix_{table}_subject_category", table, ["subject_id", "category"], schema=schema
        )
        with op.batch_alter_table(table, schema=schema) as batch_op:
            batch_op.drop_column("format")
