"""`mexfi bench`: measure mexfi's hot paths; each command is a thin layer over `mexfi.bench`."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from mexfi.cli.output import err, out

if TYPE_CHECKING:
    from mexfi.bench.ingest import IngestReport

__all__ = ["bench_app"]

bench_app = typer.Typer(help="Benchmarks: how fast mexfi keeps its promises.", no_args_is_help=True)


class BenchBackend(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"
    both = "both"


class BenchFormat(StrEnum):
    text = "text"
    json = "json"


def _default_postgres_url() -> str | None:
    url = os.environ.get("MEXFI_DATABASE_URL")
    return url if url and url.startswith(("postgresql", "postgres:")) else None


@bench_app.command("ingest")
def ingest_command(
    records: Annotated[int, typer.Option(min=1, help="Records to write on each path.")] = 50_000,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Records per batch (one transaction) on both paths.")
    ] = 1000,
    backend: Annotated[
        BenchBackend,
        typer.Option(help="Which store(s) to measure; both skips PostgreSQL without a URL."),
    ] = BenchBackend.both,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL to measure on, in a temporary schema dropped afterwards "
            "(default: MEXFI_DATABASE_URL when it is PostgreSQL)."
        ),
    ] = None,
    subjects: Annotated[
        int, typer.Option(min=2, help="Pre-registered riders and drivers the records belong to.")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the generated records.")] = 0,
    format: Annotated[
        BenchFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = BenchFormat.text,
    fail_on_miss: Annotated[
        bool, typer.Option("--fail-on-miss", help="Exit 1 when a goal of issue 3 is missed (CI).")
    ] = False,
) -> None:
    """Write N records through the vault and the same rows as plain inserts; compare.

    The vault path is `Vault.write_many` (checks, data keys, AES-256-GCM, audit); the
    baseline is SQLAlchemy Core inserts of the same columns with plaintext JSON values.
    Prints records/s for both and the ratio vault time / plain time.
    """
    from mexfi.bench.ingest import run_ingest

    backends = ["sqlite", "postgres"] if backend is BenchBackend.both else [backend.value]
    url = postgres_url or _default_postgres_url()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        tasks: dict[tuple[str, str], TaskID] = {}

        def advance(store: str, path: str, done: int, total: int) -> None:
            key = (store, path)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{store:<10} {path:<5}", total=total)
            progress.update(tasks[key], completed=done)

        report = run_ingest(
            records=records,
            batch_size=batch_size,
            backends=backends,
            postgres_url=url,
            subjects=subjects,
            seed=seed,
            progress=advance,
        )
    missed = any(result.misses() for result in report.results)
    if format is BenchFormat.json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        _print_report(report)
    if missed and fail_on_miss:
        raise typer.Exit(1)


def _print_report(report: IngestReport) -> None:
    from mexfi.bench.ingest import GOAL_RATIO, GOAL_RECORDS_PER_SECOND

    table = Table(
        title=f"ingest: {report.records:,} records, batches of {report.batch_size:,}, "
        f"{report.subjects} subjects"
    )
    for column in ("store", "vault rec/s", "plain rec/s", "ratio", "rows vault/plain", "goal"):
        table.add_column(
            column, justify="left" if column in ("store", "goal") else "right", no_wrap=True
        )
    for result in report.results:
        if result.skipped or result.vault is None or result.plain is None:
            table.add_row(result.backend, "-", "-", "-", "-", "skipped")
            continue
        missed = result.misses()
        table.add_row(
            result.backend,
            f"{result.vault.records_per_second:,.0f}",
            f"{result.plain.records_per_second:,.0f}",
            f"{result.ratio:.2f}x",
            f"{result.vault.rows:,}/{result.plain.rows:,}",
            "[red]MISSED[/]" if missed else "[green]met[/]",
        )
    out.print(table)
    for result in report.results:
        if result.vault is None or result.plain is None or result.ratio is None:
            out.print(f"{result.backend}: skipped ({result.skipped})", markup=False)
            continue
        missed = result.misses()
        verdict = "MISSED: " + "; ".join(missed) if missed else "goal met"
        out.print(
            f"{result.backend}: vault {result.vault.records_per_second:,.0f} records/s, "
            f"plain {result.plain.records_per_second:,.0f} records/s, "
            f"ratio {result.ratio:.2f}x; {verdict}",
            markup=False,
        )
    err.print(
        f"goal (issue 3): >= {GOAL_RECORDS_PER_SECOND:,.0f} encrypted records/s on PostgreSQL, "
        f"vault time <= {GOAL_RATIO}x plain time"
    )
