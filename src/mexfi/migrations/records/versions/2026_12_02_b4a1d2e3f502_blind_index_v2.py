"""security: truncated, slow blind index of phones

Revision ID: b4a1d2e3f502
Revises: a3f0c1d2e401
Create Date: 2026-12-02 11:00:00

Issue 10, item 2. `subjects.phone_index` was a full HMAC-SHA256 of the phone, unique per
policy: with the index key, trying every number inverted it. Its successor, `phone_bucket`,
is a truncated scrypt value many numbers share (`mexfi/vault/phone_index.py`), indexed with
the policy and not unique. The old values are emptied here, not converted (that needs the
index key and the phones): each subject that had one gets bucket -1, and `mexfi keys
reindex` rebuilds it from the subject's decrypted phone. Until it has run, those subjects
are not found by phone.

Plain ALTERs, no table copy: on SQLite a copy of `subjects` trips the foreign keys of every
record at commit, and is slow on a large store. So the emptied `phone_index` column stays
(SQLite cannot drop a column of a unique constraint in place); always NULL, it holds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4a1d2e3f502"
down_revision: str | None = "a3f0c1d2e401"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("subjects", sa.Column("phone_bucket", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE subjects SET phone_bucket = -1, phone_index = NULL WHERE phone_index IS NOT NULL"
    )
    op.drop_index("ix_subjects_phone_index", table_name="subjects")
    op.create_index(
        "ix_subjects_policy_phone_bucket", "subjects", ["policy_id", "phone_bucket"], unique=False
    )


def downgrade() -> None:
    # The HMACs are gone for good: subjects come back without an index (not found by phone).
    op.drop_index("ix_subjects_policy_phone_bucket", table_name="subjects")
    op.drop_column("subjects", "phone_bucket")
    op.create_index("ix_subjects_phone_index", "subjects", ["phone_index"], unique=False)
