"""`mexfi keys`: create the key file, rotate the master key, reseal records in format 2."""

from __future__ import annotations

import base64
import json
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mexfi.cli.context import open_vault
from mexfi.cli.options import OutputFormat
from mexfi.cli.output import err, out

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="Master keys and data keys (envelope encryption).", no_args_is_help=True
)


@keys_app.command("init")
def init_command() -> None:
    """Write the key file and, apart from it, the audit signing key and its public key.

    The key file: MEXFI_KEY_FILE (default .mexfi/keys.json). The audit key:
    MEXFI_AUDIT_KEY_FILE (default .mexfi/audit-signing.key) and its .pub beside it. Writes
    what is missing; a key file that still holds the audit key has it moved out.
    """
    import os

    from mexfi.errors import Conflict
    from mexfi.secrets import (
        audit_key_path,
        audit_public_key_path,
        init_audit_key,
        init_key_file,
        key_file_path,
        load_audit_signing_key,
        move_legacy_audit_key,
    )

    done = False
    moved = move_legacy_audit_key()
    if moved is not None:
        out.print(
            f"moved the audit signing key out of {key_file_path()} into {moved} (mode 0600), "
            f"its public key into {audit_public_key_path(moved)}"
        )
        done = True
    if not key_file_path().exists():
        path = init_key_file()
        out.print(f"wrote {path} (mode 0600); keep it out of version control and back it up apart")
        done = True
    key_path = audit_key_path()
    if "MEXFI_AUDIT_SIGNING_KEY" not in os.environ and not key_path.exists():
        init_audit_key(key_path)
        out.print(
            f"wrote the audit signing key {key_path} (mode 0600) and its public key "
            f"{audit_public_key_path(key_path)}; keep the signing key apart from the key file "
            "and the records, and give auditors the public key"
        )
        done = True
    public = audit_public_key_path(key_path)
    if not public.exists() and ("MEXFI_AUDIT_SIGNING_KEY" in os.environ or key_path.exists()):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = load_audit_signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        public.parent.mkdir(parents=True, exist_ok=True)
        public.write_text(base64.b64encode(raw).decode("ascii") + "\n", encoding="ascii")
        out.print(f"wrote the audit public key {public}")
        done = True
    if not done:
        raise Conflict(
            f"key file {key_file_path()} and audit signing key {key_path} already exist",
            hint="a new key file would make every stored record unreadable; "
            "use `mexfi keys rotate` to change the master key",
        )


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
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
) -> None:
    """Rewrap every data key under the current master key; records are not touched.

    Each batch commits on its own, so an interrupted rotation resumes with --resume.
    """
    from mexfi.secrets import add_master_key

    if new_key:
        added = add_master_key()
        err.print(f"added master key {added.id} to the key file")
    with open_vault() as vault:
        with vault.unit_of_work() as uow:
            total = vault.keys_pending_rotation(uow)
        done = 0
        with Progress(
            TextColumn("rewrapping data keys"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress:
            task = progress.add_task("rotate", total=total)
            while True:
                with vault.unit_of_work() as uow:
                    count = vault.rotate_keys(uow, batch_size=batch_size)
                if count == 0:
                    break
                done += count
                progress.update(task, advance=count)
        current = vault.master_key_id
    if format is OutputFormat.json:
        out.print_json(json.dumps({"rewrapped": done, "master_key_id": current}))
        return
    out.print(
        f"{done} data keys now under master key {current}; "
        "older master keys can be retired once no backup needs them"
    )


@keys_app.command("reseal")
def reseal_command(
    batch_size: Annotated[int, typer.Option(min=1, help="Records resealed per commit.")] = 5000,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
) -> None:
    """Convert records sealed one field at a time (format 1) to one seal per record (format 2).

    Keys and values do not change. Each batch commits on its own: run it again to resume.
    """
    with open_vault() as vault:
        with vault.unit_of_work() as uow:
            total = vault.records_pending_reseal(uow)
        done = 0
        cursor: str | None = None
        with Progress(
            TextColumn("resealing records"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress:
            task = progress.add_task("reseal", total=total)
            while True:
                with vault.unit_of_work() as uow:
                    count, cursor = vault.reseal(uow, batch_size=batch_size, after=cursor)
                done += count
                progress.update(task, advance=count)
                if cursor is None:
                    break
        with vault.unit_of_work() as uow:
            left = vault.records_pending_reseal(uow)
    if format is OutputFormat.json:
        out.print_json(json.dumps({"resealed": done, "left_in_format_1": left}))
    else:
        out.print(f"{done} records resealed in format 2; {left} left in format 1")
    if left:
        err.print(
            "records left in format 1 have no key any more: a pending destruction removes "
            "them; run `mexfi retention run`"
        )
