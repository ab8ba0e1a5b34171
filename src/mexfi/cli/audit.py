"""`mexfi audit`: verify the tamper-evident audit log and read its entries."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mexfi.cli.options import OutputFormat
from mexfi.cli.output import err, out

if TYPE_CHECKING:
    from mexfi.db import Store

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit log of every operation on personal data: verify its hash chain and "
    "signed checkpoints (TX-4.2), read its entries (TX-3.4).",
    no_args_is_help=True,
)


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
]


def _open() -> Store:
    """The store from the environment, checked to hold the audit tables."""
    from sqlalchemy import inspect

    from mexfi.db import open_store
    from mexfi.errors import Unavailable

    store = open_store()
    store.check()
    if not inspect(store.records_engine).has_table("audit_entries"):
        store.dispose()
        raise Unavailable(
            "the records database has no audit log",
            hint="run `mexfi db upgrade` to create the schema",
        )
    return store


@audit_app.command("verify")
def verify_command(
    format: FormatOption = OutputFormat.text,
    checkpoint_every: Annotated[
        int | None,
        typer.Option(
            "--checkpoint-every",
            min=1,
            help="Also report missing automatic checkpoints, made every N entries.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Walk the hash chain and check every signed checkpoint; exit 1 if the log was tampered."""
    from mexfi.audit import verify_log
    from mexfi.secrets import load_secrets

    public_key = load_secrets().audit_signing_key.public_key()
    store = _open()
    try:
        with store.records() as session:
            report = verify_log(session, public_key=public_key, checkpoint_every=checkpoint_every)
    finally:
        store.dispose()

    if format is OutputFormat.json:
        out.print_json(report.model_dump_json())
    else:
        head = "none" if report.head_seq is None else str(report.head_seq)
        out.print(f"entries checked:     {report.checked}")
        out.print(f"checkpoints checked: {report.checkpoints}")
        out.print(f"head:                entry {head}")
        if report.ok:
            out.print("[green]audit log intact[/]: no sign of tampering")
        else:
            table = Table(title=f"{len(report.problems)} problems", show_lines=True)
            table.add_column("entry", justify="right", no_wrap=True)
            table.add_column("kind", no_wrap=True)
            table.add_column("what happened")
            for problem in report.problems:
                table.add_row(
                    "-" if problem.seq is None else str(problem.seq),
                    f"[red]{problem.kind.value}[/]",
                    escape(problem.message),
                )
            out.print(table)
    if not report.ok:
        err.print(
            f"[bold red]the audit log was tampered with[/]: {len(report.problems)} "
            f"problem{'' if len(report.problems) == 1 else 's'}"
        )
        raise typer.Exit(1)


@audit_app.command("show")
def show_command(
    subject: Annotated[
        str | None,
        typer.Option("--subject", "-s", help="Only entries about this subject PSEUDONYM."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show the newest N matching entries.")
    ] = 50,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Print audit entries, oldest first: who did what to which subject's data, and why."""
    from mexfi.audit import read_entries

    store = _open()
    try:
        with store.records() as session:
            entries = read_entries(session, subject=subject, limit=limit)
    finally:
        store.dispose()

    if format is OutputFormat.json:
        out.print_json(json.dumps([entry.model_dump(mode="json") for entry in entries]))
        return
    if not entries:
        err.print("no audit entries match")
        return
    # One line an entry, key=value: greppable, and no table squeezed to the terminal's width.
    for entry in entries:
        fields = [
            f"{entry.seq:>7}",
            entry.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            f"{entry.actor_id} ({entry.actor_role})",
            f"{entry.action.value}/{entry.outcome.value}",
        ]
        for name, value in (
            ("subject", entry.subject),
            ("purpose", entry.purpose),
            ("policy", entry.policy_id),
            ("categories", ",".join(entry.categories)),
            ("clauses", ",".join(entry.clauses)),
            ("count", str(entry.count) if entry.count != 1 else None),
            ("reason", entry.reason),
            ("ref", entry.reference),
        ):
            if value:
                fields.append(f"{name}={value}")
        out.print(escape("  ".join(fields)))
