"""The Alembic history matches the ORM models, on both backends."""

from __future__ import annotations

from alembic import command

from mexfi.db import Store
from mexfi.migrations import alembic_config


def test_migrations_match_models(store: Store) -> None:
    # `store` is already upgraded to head; `check` fails if autogenerate would add anything.
    for part, engine in (("records", store.records_engine), ("keys", store.keys_engine)):
        with engine.begin() as connection:
            command.check(alembic_config(part, connection, compare_live=True))
