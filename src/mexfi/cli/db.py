"""`mexfi db`: create or upgrade the store's schema."""

from __future__ import annotations

import typer

from mexfi.cli.output import out

__all__ = ["db_app"]

db_app = typer.Typer(help="The store: records and key-store schemas.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Bring the records database and the key store to the newest schema (Alembic)."""
    from mexfi.db import open_store
    from mexfi.migrations import upgrade_store

    store = open_store()
    store.check()
    upgrade_store(store)
    out.print(
        f"records: {store.records_engine.url.render_as_string(hide_password=True)}\n"
        f"keys:    {store.keys_engine.url.render_as_string(hide_password=True)}\nup to date"
    )
