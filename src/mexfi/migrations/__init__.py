"""Schema migrations (Alembic): one history for the records, one for the key store.

`upgrade_store` brings both to head; `mexfi db upgrade` calls it. New revisions:
`python -m mexfi.migrations revision records|keys "message"` (autogenerate against a
scratch SQLite store).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from mexfi.db import Store

__all__ = ["alembic_config", "import_models", "upgrade_store"]

HERE = Path(__file__).resolve().parent


def import_models() -> None:
    """Import every capability, whose tables register on Base / KeyBase as it loads."""
    import mexfi.apikeys
    import mexfi.audit
    import mexfi.consent
    import mexfi.requests
    import mexfi.retention
    import mexfi.vault  # noqa: F401


def alembic_config(
    part: str, connection: Connection | None = None, *, compare_live: bool = False
) -> Config:
    """The Alembic config of `records` or `keys`, bound to `connection`.

    `compare_live` makes `alembic check` compare against the store's real schema names.
    """
    config = Config()
    config.set_main_option("script_location", str(HERE / part))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes["compare_live"] = compare_live
    return config


def upgrade_store(store: Store) -> None:
    """Bring the records and the key store to the newest schema."""
    import_models()
    store.create_schemas()
    for part, engine in (("records", store.records_engine), ("keys", store.keys_engine)):
        with engine.begin() as connection:
            command.upgrade(alembic_config(part, connection), "head")
            if part == "records":
                from mexfi.audit import protect_audit_tables

                # Triggers refuse UPDATE and DELETE on the audit log (append-only).
                protect_audit_tables(connection)
