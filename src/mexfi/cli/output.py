"""Where the CLI writes: data on stdout, messages on stderr, and files only where it may.

No output option (`--out`) replaces a file it did not create without `--force`, and none
ever writes over mexfi's own key files, audit anchor or SQLite stores, `--force` or not:
a report written over keys.json would make every stored record unreadable.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

__all__ = [
    "ID_WIDTH",
    "Force",
    "add_id_column",
    "claim_output",
    "claim_output_dir",
    "err",
    "listing",
    "out",
    "when",
]

Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing output file (never mexfi's key files or stores).",
    ),
]

# No emoji codes: audit reasons are `kind:state:code` strings, and rich would turn
# `access:locked:…` into a padlock.
#: Data the user asked for (reports, JSON): pipe-able.
out = Console(highlight=False, soft_wrap=True, emoji=False)
#: Messages, progress and errors.
err = Console(stderr=True, highlight=False, emoji=False)


def _own_files() -> list[Path]:
    """The key file, the audit key and its .pub, the anchor, the SQLite stores and journals."""
    from sqlalchemy.engine import make_url

    from mexfi.audit import default_anchor_path
    from mexfi.db import StoreConfig
    from mexfi.errors import MexfiError
    from mexfi.secrets import audit_key_path, audit_public_key_path, key_file_path

    files = [key_file_path(), audit_key_path(), audit_public_key_path(), default_anchor_path()]
    try:
        config = StoreConfig.from_env()
    except MexfiError:
        return files  # a misconfigured store is refused by the commands that open it
    for url in (config.records_url, config.keys_url):
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            database = Path(str(parsed.database))
            files += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    return files


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return a.resolve() == b.resolve()


def _refuse_own_file(path: Path, option: str) -> None:
    from mexfi.errors import Denied

    for own in _own_files():
        if _same_file(path, own):
            raise Denied(
                f"{option} {path} is mexfi's own file {own}: no output is ever written over "
                "it, --force or not",
                hint=f"choose another {option} path",
            )


def claim_output(path: Path, *, force: bool, option: str = "--out") -> None:
    """Refuse to write the file `path` over mexfi's own files, or over any file without `force`."""
    from mexfi.errors import Conflict, Invalid

    _refuse_own_file(path, option)
    if path.is_dir():
        raise Invalid(f"{option} {path} is a directory", hint=f"give {option} a file path")
    if path.exists() and not force:
        raise Conflict(
            f"{option} {path} already exists",
            hint="pass --force to replace it, or choose another path",
        )


def claim_output_dir(path: Path, *, force: bool, option: str = "--out") -> None:
    """Refuse an output directory that would be replaced whole: one holding mexfi's own files
    ever, any other non-empty one without `force`."""
    from mexfi.errors import Conflict, Denied, Invalid

    if path.exists() and not path.is_dir():
        raise Invalid(f"{option} {path} is not a directory", hint=f"give {option} a directory")
    target = path.resolve()
    for own in _own_files():
        if _same_file(path, own) or target in own.resolve().parents:
            raise Denied(
                f"{option} {path} holds mexfi's own file {own}: it is never replaced, "
                "--force or not",
                hint=f"choose another {option} directory",
            )
    if path.is_dir() and any(path.iterdir()) and not force:
        raise Conflict(
            f"{option} {path} is not empty and would be replaced",
            hint="pass --force to replace it, or choose another directory",
        )


def when(moment: datetime | None) -> str:
    """A time for a table cell: UTC to the second ("-" for none); JSON keeps it whole."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


#: The width of an id (32 hex digits): what the other commands take, never cut.
ID_WIDTH = 32


def listing(title: str) -> Table:
    """A table for a listing: a rule under the header, columns two spaces apart, no frame,
    so that a 32-character id and a few short columns fit in 80 columns."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def add_id_column(table: Table, header: str = "id") -> None:
    """An id column: whole ids on one line, whatever the width (other columns fold)."""
    table.add_column(header, no_wrap=True, min_width=ID_WIDTH)
