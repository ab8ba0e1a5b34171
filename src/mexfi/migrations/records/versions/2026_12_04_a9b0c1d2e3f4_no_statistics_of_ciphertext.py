"""records: no planner statistics of ciphertext columns (PostgreSQL)

Revision ID: a9b0c1d2e3f4
Revises: f8e5b6c7d906
Create Date: 2026-12-04 11:00:00

Issue 10, item 1: ANALYZE copies a sample of each column's values into `pg_statistic`, a
catalog that neither VACUUM of ours nor a destruction reaches, so sealed payloads of
destroyed records lingered there. The planner never filters on a ciphertext, so these
columns keep no statistics; changing a column's type to its own type drops the sample
already taken (PostgreSQL clears a column's statistics on ALTER TYPE; bytea to bytea needs
no table rewrite).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "a9b0c1d2e3f4"
down_revision: str | None = "f8e5b6c7d906"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sealed() -> tuple[str, ...]:
    """The tables whose `payload` is a sealed ciphertext, the passive tier's in the schema
    the store maps its placeholder to (a raw ALTER does not go through the translation)."""
    translate = op.get_bind().get_execution_options().get("schema_translate_map") or {}
    passive = translate.get("passive_tier", "passive_tier")
    return ("records", f'"{passive}".passive_records', "quarantined_records")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _sealed():
        op.execute(f"ALTER TABLE {table} ALTER COLUMN payload SET STATISTICS 0")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN payload TYPE bytea")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _sealed():
        op.execute(f"ALTER TABLE {table} ALTER COLUMN payload SET STATISTICS -1")
