"""`mexfi keys`: create the key file, rotate the master key, reseal records in format 2,
rebuild the phone blind index."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mexfi.cli.context import open_vault
from mexfi.cli.options import ActorId, OutputFormat
from mexfi.cli.output import err, listing, out, when

if TYPE_CHECKING:
    from mexfi.vault import Vault

#: How often the worker looks at the master keys: often enough to rotate within the hour
#: the epoch ends, rarely enough that counting the data keys costs nothing.
KEY_CHECK_EVERY = timedelta(hours=1)
#: Who the worker's rotations and retirements are audited as.
WORKER_ACTOR_ID = "mexfi-worker"

__all__ = ["init_command", "keys_app", "scheduled_key_maintenance"]

keys_app = typer.Typer(
    help="Master keys and data keys (envelope encryption).", no_args_is_help=True
)


def _write_key_files() -> bool:
    """Write whichever key file is missing (key file, audit signing key, its public key) and
    move an audit key out of an old key file; say what was written. True if anything was."""
    import os

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
    return done


@keys_app.command("init")
def init_command(
    if_missing: Annotated[
        bool,
        typer.Option(
            "--if-missing",
            help="When the store already exists, say so and exit 0 instead of failing "
            "(for scripts that run on machines set up before).",
        ),
    ] = False,
) -> None:
    """Create a store (key files and schemas) and say where; also `mexfi keys init`.

    The key file, apart from it the audit signing key and its public key, and
    the records and key-store schemas. The only command that creates a store
    or a key file: every other one refuses without them, saying where it
    looked. MEXFI_DATA_DIR (default ./.mexfi) holds the SQLite files and the
    key file; MEXFI_DATABASE_URL, MEXFI_KEYSTORE_URL and MEXFI_KEY_FILE name
    them elsewhere.

    Writes what is missing, never overwrites, and refuses a new key file for a
    store written under another. With nothing missing it exits 3, or 0 with
    --if-missing (applying pending migrations, as `mexfi db upgrade` does).
    """
    import os

    from mexfi.cli.context import store_places
    from mexfi.db import StoreConfig, open_store, store_presence
    from mexfi.errors import Conflict
    from mexfi.migrations import upgrade_store
    from mexfi.secrets import key_file_path, load_secrets
    from mexfi.vault import Vault, key_store_in_use

    config = StoreConfig.from_env()
    presence = store_presence(config)
    has_keys = "MEXFI_MASTER_KEY" in os.environ or key_file_path().exists()
    if presence.records and not presence.keys:
        raise Conflict(
            "the records database is there but its key store is not: a new key store would "
            f"open none of its records; looked at\n{store_places(config, presence)}",
            hint="set MEXFI_KEYSTORE_URL to the key store these records were written with, "
            "or restore it from its backup",
        )
    if presence.keys and not has_keys:
        store = open_store(config)
        try:
            with store.keys() as session:
                in_use = key_store_in_use(session)
        finally:
            store.dispose()
        if in_use:
            raise Conflict(
                "the store is there, written under a key file that is not: a new key file "
                f"would open none of it; looked at\n{store_places(config, presence, keys=False)}",
                hint="point MEXFI_KEY_FILE at the key file this store was written with (or set "
                "MEXFI_MASTER_KEY); nothing was written",
            )
    wrote_keys = _write_key_files()
    created = not (presence.records and presence.keys)
    store = open_store(config)
    try:
        store.check()
        upgrade_store(store)
        if created:
            # The key store's check row: this store and these keys belong together from now
            # on (an existing store's keys are checked by every command that opens it).
            with store.keys() as session:
                Vault(store, {}, load_secrets()).check_keys(session)
    finally:
        store.dispose()
    if created:
        out.print(f"created the store:\n{store_places(config)}")
        return
    if wrote_keys:
        return
    if not if_missing:
        raise Conflict(
            f"the store and its keys already exist:\n{store_places(config, presence, keys=True)}",
            hint="a new key file would make every stored record unreadable; use `mexfi keys "
            "rotate` to change the master key, `mexfi db upgrade` to upgrade the schema",
        )
    out.print(
        "the store and its keys already exist; nothing created (schema up to date):\n"
        f"{store_places(config, presence, keys=True)}"
    )


@keys_app.command("rotate")
def rotate_command(
    actor: ActorId,
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key/--resume",
            help="Add a fresh master key to the key file first (default), or only finish an "
            "interrupted rotation.",
        ),
    ] = True,
    batch_size: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Data keys rewrapped per commit.")
    ] = 1000,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
) -> None:
    """Rewrap every data key under the current master key; records are not touched.

    Each batch commits on its own, so an interrupted rotation resumes with --resume.
    Audited as key_rotate, naming the key and the number of data keys rewrapped.
    """
    from mexfi.secrets import refuse_master_keys_from_environment
    from mexfi.vault import Actor

    if new_key:
        # The one refusal, before the store is opened, saying what to do instead.
        refuse_master_keys_from_environment("rotate")
    # open_vault checks the keys against the key store: a new key never joins a wrong file.
    with (
        open_vault() as vault,
        Progress(
            TextColumn("rewrapping data keys"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            disable=not err.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("rotate", total=None)
        report = vault.rotate_master_key(
            actor=Actor(actor, "dpo"),
            new_key=new_key,
            batch_size=batch_size,
            on_start=lambda total: progress.update(task, total=total),
            on_batch=lambda count: progress.advance(task, count),
        )
    if report.added is not None:
        err.print(f"added master key {report.added} to the key file")
    if format is OutputFormat.json:
        out.print_json(
            json.dumps(
                {
                    "added": report.added,
                    "rewrapped": report.rewrapped,
                    "master_key_id": report.master_key_id,
                }
            )
        )
        return
    out.print(
        f"{report.rewrapped} data keys now under master key {report.master_key_id}; "
        "older master keys are destroyed by `mexfi keys retire` (and the worker) once "
        "no backup within the backup window needs them"
    )


@keys_app.command("retire")
def retire_command(
    actor: ActorId,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say which master keys would be retired.")
    ] = False,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
) -> None:
    """Destroy master keys that no live data key and no backup within the window needs.

    A master key is retired (removed from the key file; only the time is recorded, in the
    key store) once it wraps no live data key and was superseded longer ago than the backup
    window, MEXFI_BACKUP_WINDOW_DAYS (default 1). Key-store backups older than that, and
    the keys of destroyed subjects they hold, can then no longer be opened. With keys from
    MEXFI_MASTER_KEY only --dry-run works: remove the keys it lists by hand. Each key
    retired is audited as key_retire, naming it.
    """
    from mexfi.secrets import master_keys_from_environment, refuse_master_keys_from_environment
    from mexfi.vault import Actor, EpochSettings

    settings = EpochSettings.from_env()
    if not dry_run:
        # The one refusal, before the store is opened, saying what to do instead.
        refuse_master_keys_from_environment("retire")
    with open_vault() as vault:
        report = vault.retire_master_keys(
            actor=Actor(actor, "dpo"), backup_window=settings.backup_window, dry_run=dry_run
        )
    if format is OutputFormat.json:
        payload = {
            "dry_run": report.dry_run,
            "at": report.at.isoformat(),
            "backup_window_days": report.backup_window.total_seconds() / 86400,
            "retired": list(report.retired),
            "retirable": list(report.retirable),
            "keys": [
                {
                    "id": k.id,
                    "current": k.current,
                    "created_at": k.created_at.isoformat(),
                    "superseded_at": k.superseded_at and k.superseded_at.isoformat(),
                    "retire_after": k.retire_after and k.retire_after.isoformat(),
                    "live_data_keys": k.live_data_keys,
                    "retirable": k.retirable,
                }
                for k in report.keys
            ],
        }
        out.print_json(json.dumps(payload))
        return
    window_days = report.backup_window.total_seconds() / 86400
    table = listing(f"master keys (backup window {window_days:g} days)")
    table.add_column("id", no_wrap=True)  # what MEXFI_MASTER_KEY and the key file name
    for column in ("state", "superseded", "retire after", "live data keys"):
        table.add_column(column, overflow="fold")
    for k in report.keys:
        if k.current:
            state = "current"
        elif k.id in report.retired:
            state = "retired now"
        else:
            state = "retirable" if k.retirable else "kept"
        table.add_row(
            k.id,
            state,
            when(k.superseded_at),
            when(k.retire_after),
            str(k.live_data_keys),
        )
    out.print(table)
    if report.retired:
        out.print(f"retired {len(report.retired)} master key(s): {', '.join(report.retired)}")
    elif report.retirable and master_keys_from_environment():
        out.print(
            f"retirable: {', '.join(report.retirable)}; remove them from MEXFI_MASTER_KEY "
            "and wherever it is kept, then restart every mexfi process"
        )
    elif report.retirable:
        out.print(f"would retire: {', '.join(report.retirable)} (dry run)")
    else:
        out.print("no master key to retire yet")


@keys_app.command("compact")
def compact_command(
    force: Annotated[
        bool,
        typer.Option("--force", help="Rewrite the table even if no shredding is pending."),
    ] = False,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
) -> None:
    """Rewrite the data-key table now, so that shredded keys leave its files (PostgreSQL).

    PostgreSQL keeps a deleted key's bytes in the table's free space until a rewrite
    (VACUUM FULL: the table is locked while it runs). Each retention run does one at its
    end when a shredding is pending, at most every MEXFI_KEY_COMPACTION_MINUTES (default
    15); this does it at once. On SQLite there is nothing to do: deleted keys are zeroed.
    """
    from datetime import timedelta

    with open_vault() as vault:
        report = vault.compact_key_store(interval=timedelta(0), force=force)
    if format is OutputFormat.json:
        out.print_json(
            json.dumps(
                {
                    "pending": report.pending,
                    "rewritten": report.rewritten,
                    "seconds": report.seconds,
                    "note": report.note,
                }
            )
        )
        return
    if report.rewritten:
        out.print(
            f"rewrote the data-key table in {report.seconds or 0:.2f} s; the keys of "
            f"{report.pending} shredding commit(s) are gone from its files"
        )
    else:
        out.print(f"nothing rewritten: {report.note}")


@keys_app.command("reseal")
def reseal_command(
    batch_size: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Records resealed per commit.")
    ] = 5000,
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


@keys_app.command("reindex")
def reindex_command(
    batch_size: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Subjects reindexed per commit.")
    ] = 500,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
) -> None:
    """Rebuild the phone blind index of subjects indexed before it was truncated.

    The upgrade that truncated the index dropped the old values (they let anyone holding the
    index key recover every phone); until this runs, those subjects are not found by phone.
    Each batch commits on its own: run it again to resume.
    """
    with open_vault() as vault:
        with vault.unit_of_work() as uow:
            total = vault.phones_pending_reindex(uow)
        done = 0
        with Progress(
            TextColumn("reindexing phones"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress:
            task = progress.add_task("reindex", total=total)
            while True:
                with vault.unit_of_work() as uow:
                    count = vault.reindex_phones(uow, batch_size=batch_size)
                if count == 0:
                    break
                done += count
                progress.update(task, advance=count)
    if format is OutputFormat.json:
        out.print_json(json.dumps({"reindexed": done}))
    else:
        out.print(f"{done} subjects reindexed; every phone index is truncated")


def scheduled_key_maintenance(vault: Vault, *, batch_size: int) -> Callable[[], None]:
    """The worker's master-key schedule: at most every `KEY_CHECK_EVERY` (the vault's clock),
    rotate once the epoch is over and retire what the backup window allows.

    An error is reported and retried at the next check: retention goes on meanwhile.
    """
    from mexfi.errors import MexfiError
    from mexfi.vault import Actor, EpochSettings

    settings = EpochSettings.from_env()
    actor = Actor(WORKER_ACTOR_ID, "system")
    every = min(KEY_CHECK_EVERY, settings.epoch) if settings.epoch else KEY_CHECK_EVERY
    next_check: list[datetime | None] = [None]

    def maintain() -> None:
        now = vault.clock.now()
        due_at = next_check[0]
        if due_at is not None and now < due_at:
            return
        next_check[0] = now + every
        try:
            report = vault.maintain_master_keys(settings, actor=actor, batch_size=batch_size)
        except MexfiError as exc:
            err.print(f"[bold red]master keys:[/] {exc.message}")
            if exc.hint:
                err.print(f"[dim]hint:[/] {exc.hint}")
            return
        if report.rotation is not None:
            added = report.rotation.added
            err.print(
                f"master keys: {'added ' + added + ', ' if added else ''}"
                f"{report.rotation.rewrapped} data keys rewrapped under "
                f"{report.rotation.master_key_id}"
            )
        if report.retirement.retired:
            err.print(f"master keys: retired {', '.join(report.retirement.retired)}")
        if report.rotation_due:
            err.print(
                "[yellow]master keys:[/] the current key's epoch is over, but the keys come "
                "from MEXFI_MASTER_KEY: put a new key first there, restart, and run "
                "`mexfi keys rotate --resume`"
            )
        if report.keys_from_environment and report.retirement.retirable:
            err.print(
                f"[yellow]master keys:[/] {', '.join(report.retirement.retirable)} can be "
                "retired: remove them from MEXFI_MASTER_KEY and wherever it is kept"
            )

    return maintain
