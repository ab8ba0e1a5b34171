"""The body of both Alembic env.py files: run migrations on the connection mexfi hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

__all__ = ["run_migrations"]


def run_migrations(metadata: MetaData) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "mexfi migrations run through `mexfi db upgrade` (mexfi.migrations.upgrade_store), "
            "which passes the connection"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
