"""`mexfi db`: upgrade an existing store's schema (`mexfi init` creates a store)."""

from __future__ import annotations

import typer

from mexfi.cli.output import err, out

__all__ = ["db_app"]

db_app = typer.Typer(help="The store: records and key-store schemas.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Bring an existing store's records database and key store to the newest schema
    (Alembic). A store that is not there is refused, naming where it was looked for: only
    `mexfi init` creates one."""
    from mexfi.cli.context import POINT_ELSEWHERE, store_places
    from mexfi.db import StoreConfig, StoreNotFound, open_store, store_presence
    from mexfi.migrations import upgrade_store

    config = StoreConfig.from_env()
    presence = store_presence(config)
    if not (presence.records and presence.keys):
        raise StoreNotFound(
            f"no mexfi store to upgrade; looked for it at\n{store_places(config, presence)}",
            hint=f"{POINT_ELSEWHERE}; `mexfi init` creates a new store (nothing was created)",
        )
    from mexfi.vault import Vault

    store = open_store(config)
    try:
        store.check()
        upgrade_store(store)
        with store.unit_of_work() as uow:
            unindexed = Vault.phones_pending_reindex(uow)
    finally:
        store.dispose()
    out.print(f"up to date:\n{store_places(config)}")
    if unindexed:
        # The upgrade that truncated the blind index emptied the old values: until
        # reindexed, these subjects are not found by phone (requests cannot match them).
        err.print(
            f"[yellow]{unindexed} subject(s) wait for their phone index:[/] they are not "
            "found by phone until you run `mexfi keys reindex` (resumable)"
        )
