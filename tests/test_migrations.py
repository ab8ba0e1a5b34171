"""The Alembic history matches the ORM models, on both backends."""

from __future__ import annotations

from alembic import command

from mexfi.db import Store
from mexfi.migrations import alembic_config


def test_migrations_match_models(fresh_store: Store) -> None:
    store = fresh_store
    # `store` is already upgraded to head; `check` fails if autogenerate would add anything.
    for part, engine in (("records", store.records_engine), ("keys", store.keys_engine)):
        with engine.begin() as connection:
            command.check(alembic_config(part, connection, compare_live=True))


def test_a_migrated_store_has_the_audit_head_to_lock(fresh_store: Store) -> None:
    # Two first appenders must find a head row to queue on; Alembic never runs the
    # `create_all` hook that seeds it, so the migration does.
    from sqlalchemy import text

    with fresh_store.records() as session:
        head = session.execute(text("SELECT id, seq FROM audit_head")).all()
    assert [tuple(row) for row in head] == [(1, 0)]
