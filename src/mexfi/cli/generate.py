"""`mexfi generate`: fill the store with synthetic riders and drivers, through the vault."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mexfi.cli.options import AllowFuture, OutputFormat, parse_time
from mexfi.cli.output import err, out

__all__ = ["generate_command"]


def generate_command(
    riders: Annotated[
        int, typer.Option(min=0, max=10_000_000, help="BakıKart riders to register.")
    ] = 200,
    drivers: Annotated[
        int, typer.Option(min=0, max=10_000_000, help="Taxsee drivers to register.")
    ] = 50,
    days: Annotated[
        int,
        typer.Option(min=1, max=3650, help="Days of history before --end (taps, shifts, orders)."),
    ] = 7,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same values.")] = 0,
    batch_size: Annotated[
        int,
        typer.Option(min=1, max=1_000_000, help="Records per write_many batch (one transaction)."),
    ] = 500,
    pings_per_shift: Annotated[
        int,
        typer.Option(
            min=1, max=100_000, help="Location pings kept per driver shift (every 5-10 s)."
        ),
    ] = 24,
    customers: Annotated[
        int | None,
        typer.Option(min=0, max=10_000_000, help="Taxsee customers (default: two per driver)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            help="End of the generated history, ISO 8601 with a zone (default: now). Fix it "
            "together with --seed to reproduce timestamps too."
        ),
    ] = None,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Summary as a table or JSON.")
    ] = OutputFormat.text,
    allow_future: AllowFuture = False,
) -> None:
    """Fill the store (MEXFI_DATABASE_URL) with realistic synthetic data of both services.

    Riders tap about twice a day, top up and buy QR tickets; drivers ping their location
    every few seconds during shifts and serve orders with addresses in Baku. Everything
    goes through the vault, encrypted, in batches.
    """
    from mexfi.cli.context import open_vault
    from mexfi.services import generate

    until = parse_time(end, "--end", allow_future=allow_future)
    with (
        open_vault() as vault,
        Progress(
            TextColumn("generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("subjects · {task.fields[records]:,} records"),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task("generate", total=None, records=0)

        def advance(done: int, planned: int, records: int) -> None:
            progress.update(task, completed=done, total=planned, records=records)

        summary = generate(
            vault,
            riders=riders,
            drivers=drivers,
            days=days,
            seed=seed,
            batch_size=batch_size,
            pings_per_shift=pings_per_shift,
            customers=customers,
            end=until,
            progress=advance,
        )
    if format is OutputFormat.json:
        out.print_json(json.dumps(summary.to_dict(), ensure_ascii=False))
        return
    table = Table(title=f"generated (seed {seed}, {days} days)")
    table.add_column("policy")
    table.add_column("category")
    table.add_column("records", justify="right")
    for (policy_id, category), count in sorted(summary.records.items()):
        table.add_row(policy_id, category, f"{count:,}")
    table.add_section()
    table.add_row("", "total", f"{summary.total_records:,}")
    out.print(table)
    subjects = ", ".join(f"{n:,} {kind}s" for (_, kind), n in sorted(summary.subjects.items()))
    rate = summary.total_records / summary.seconds if summary.seconds else 0.0
    err.print(
        f"{subjects}; {summary.total_records:,} records in {summary.batches} batches, "
        f"{summary.seconds:.1f} s ({rate:,.0f} records/s)"
    )
