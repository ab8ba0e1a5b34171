"""`mexfi keys`: create the key file and rotate the master key."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mexfi.cli.output import err, out

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="Master keys and data keys (envelope encryption).", no_args_is_help=True
)


@keys_app.command("init")
def init_command() -> None:
    """Write a new key file with fresh secrets (MEXFI_KEY_FILE, default .mexfi/keys.json)."""
    from mexfi.secrets import init_key_file

    path = init_key_file()
    out.print(f"wrote {path} (mode 0600); keep it out of version control and back it up apart")


@keys_app.command("rotate")
def rotate_command(
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key/--resume",
            help="Add a fresh master key to the key file first (default), or only finish an "
            "interrupted rotation.",
        ),
    ] = True,
    batch_size: Annotated[int, typer.Option(min=1, help="Data keys rewrapped per commit.")] = 1000,
) -> None:
    """Rewrap every data key under the current master key; records are not touched.

    Each batch commits on its own, so an interrupted rotation resumes with --resume.
    """
    from mexfi.db import open_store
    from mexfi.migrations import upgrade_store
    from mexfi.secrets import add_master_key, load_secrets
    from mexfi.vault.keys import KeyService

    if new_key:
        added = add_master_key()
        err.print(f"added master key {added.id} to the key file")
    store = open_store()
    upgrade_store(store)
    service = KeyService(load_secrets())
    with store.keys() as session:
        total = service.pending_rotation(session)
    done = 0
    with Progress(
        TextColumn("rewrapping data keys"), BarColumn(), MofNCompleteColumn(), console=err
    ) as progress:
        task = progress.add_task("rotate", total=total)
        while True:
            with store.keys() as session:
                count = service.rotate_batch(session, batch_size=batch_size)
            if count == 0:
                break
            done += count
            progress.update(task, advance=count)
    out.print(
        f"{done} data keys now under master key {service.secrets.current_master.id}; "
        "older master keys can be retired once no backup needs them"
    )
