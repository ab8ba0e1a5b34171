"""consent: the ledger of choices, its current state, policy versions and served notices

Revision ID: d2e3f4a5b6c7
Revises: c1d2e3f4a5b6
Create Date: 2026-12-06 10:00:00

Issue 13: the hash-chained consent ledger and its one-row head, the current state derived
from it, the daily counters of refused sends; then (helper D's block) the policy versions
and the notices served.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mexfi.db

revision: str = "d2e3f4a5b6c7"
down_revision: str | None = "c1d2e3f4a5b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consent_entries",
        sa.Column("seq", _Seq, autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("policy_version", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("holder_kind", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("notice", sa.String(length=80), nullable=False),
        sa.Column("choice", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("served_notice_id", sa.String(length=64), nullable=True),
        sa.Column("actor_id", sa.String(length=255), nullable=False),
        sa.Column("recorded_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_entries")),
        sa.UniqueConstraint("id", name=op.f("uq_consent_entries_id")),
    )
    op.create_index(
        "ix_consent_entries_holder", "consent_entries", ["policy_id", "holder"], unique=False
    )
    head = op.create_table(
        "consent_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", _Seq, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_consent_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "consent_state",
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("notice", sa.String(length=80), nullable=False),
        sa.Column("choice", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "policy_id", "holder", "kind", "notice", name=op.f("pk_consent_state")
        ),
    )
    op.create_table(
        "consent_refusals",
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("notice", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "policy_id", "kind", "notice", "reason", "day", name=op.f("pk_consent_refusals")
        ),
    )
    # --- policy versions (helper D)
    op.create_table(
        "policy_versions",
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("takes_effect_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("registered_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("categories_hash", sa.String(length=64), nullable=False),
        sa.Column("purposes_hash", sa.String(length=64), nullable=False),
        sa.Column("recipients_hash", sa.String(length=64), nullable=False),
        sa.Column("retention_hash", sa.String(length=64), nullable=False),
        sa.Column("cookies_hash", sa.String(length=64), nullable=False),
        sa.Column("notifications_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "version", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("policy_id", "number", name="uq_policy_versions_policy_number"),
    )
    op.create_index(
        "ix_policy_versions_in_force",
        "policy_versions",
        ["policy_id", "takes_effect_at"],
        unique=False,
    )
    op.create_table(
        "notice_texts",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("stored_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_notice_texts")),
    )
    op.create_table(
        "policy_version_notices",
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"],
            ["notice_texts.digest"],
            name=op.f("fk_policy_version_notices_digest_notice_texts"),
        ),
        sa.PrimaryKeyConstraint(
            "policy_id", "version", "lang", "format", name=op.f("pk_policy_version_notices")
        ),
    )
    op.create_table(
        "served_notices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("served_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"], ["notice_texts.digest"], name=op.f("fk_served_notices_digest_notice_texts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_served_notices")),
    )
    op.create_index(
        "ix_served_notices_policy_served",
        "served_notices",
        ["policy_id", "served_at"],
        unique=False,
    )
    op.create_table(
        "policy_change_notifications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("notification", sa.String(length=80), nullable=False),
        sa.Column("served_notice_id", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.String(length=255), nullable=False),
        sa.Column("sent_at", mexfi.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["served_notice_id"],
            ["served_notices.id"],
            name=op.f("fk_policy_change_notifications_served_notice_id_served_notices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_change_notifications")),
    )
    op.create_index(
        "ix_policy_change_notifications_told",
        "policy_change_notifications",
        ["policy_id", "version", "holder"],
        unique=False,
    )
    # --- end of policy versions (helper D)


def downgrade() -> None:
    # --- policy versions (helper D)
    op.drop_index("ix_policy_change_notifications_told", table_name="policy_change_notifications")
    op.drop_table("policy_change_notifications")
    op.drop_index("ix_served_notices_policy_served", table_name="served_notices")
    op.drop_table("served_notices")
    op.drop_table("policy_version_notices")
    op.drop_table("notice_texts")
    op.drop_index("ix_policy_versions_in_force", table_name="policy_versions")
    op.drop_table("policy_versions")
    # --- end of policy versions (helper D)
    op.drop_table("consent_refusals")
    op.drop_table("consent_state")
    op.drop_table("consent_head")
    op.drop_index("ix_consent_entries_holder", table_name="consent_entries")
    op.drop_table("consent_entries")
