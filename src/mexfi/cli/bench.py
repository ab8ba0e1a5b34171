"""`mexfi bench`: measure mexfi's hot paths; each command is a thin layer over `mexfi.bench`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

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

from mexfi.cli.options import OutputFormat
from mexfi.cli.output import err, out

if TYPE_CHECKING:
    from mexfi.bench.ingest import IngestReport
    from mexfi.bench.retention import RetentionReport

__all__ = ["bench_app"]

bench_app = typer.Typer(help="Benchmarks: how fast mexfi keeps its promises.", no_args_is_help=True)


@contextmanager
def bench_progress(*, phase_width: int) -> Iterator[Callable[[str, str, int, int], None]]:
    """A progress bar per (store, phase) on stderr; yields the callback benchmarks report to."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        tasks: dict[tuple[str, str], TaskID] = {}

        def advance(store: str, phase: str, done: int, total: int) -> None:
            key = (store, phase)
            if key not in tasks:
                label = f"{store:<10} {phase:<{phase_width}}"
                tasks[key] = progress.add_task(label, total=total)
            progress.update(tasks[key], completed=done)

        yield advance


class _Report(Protocol):
    @property
    def results(self) -> Sequence[Any]: ...

    def to_dict(self) -> dict[str, Any]: ...


def _finish(
    report: _Report, format: OutputFormat, fail_on_miss: bool, print_text: Callable[[], None]
) -> None:
    """Print a benchmark report as JSON or text; exit 1 on a missed goal if asked to."""
    if format is OutputFormat.json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        print_text()
    if fail_on_miss and any(result.misses() for result in report.results):
        raise typer.Exit(1)


class BenchBackend(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"
    both = "both"


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
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
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
    with bench_progress(phase_width=5) as advance:
        report = run_ingest(
            records=records,
            batch_size=batch_size,
            backends=backends,
            postgres_url=url,
            subjects=subjects,
            seed=seed,
            progress=advance,
        )
    _finish(report, format, fail_on_miss, lambda: _print_report(report))


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


@bench_app.command("retention")
def retention_command(
    records: Annotated[
        int, typer.Option(min=1, help="Due records to generate on each store.")
    ] = 1_000_000,
    destruction_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of the records that are driver registrations due for destruction "
            "(one per driver); the rest are card taps due for the passive tier.",
        ),
    ] = 0.1,
    batch_size: Annotated[
        int, typer.Option(min=1, help="The retention engine's batch size (one transaction each).")
    ] = 1000,
    write_batch: Annotated[
        int, typer.Option(min=1, help="Records per write_many batch while generating.")
    ] = 5000,
    taps_per_rider: Annotated[
        int, typer.Option(min=1, help="Card taps per rider (sets how many riders there are).")
    ] = 50,
    backend: Annotated[
        BenchBackend,
        typer.Option(help="Which store(s) to measure; both skips PostgreSQL without a URL."),
    ] = BenchBackend.both,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL to measure on, in temporary schemas dropped afterwards "
            "(default: MEXFI_DATABASE_URL when it is PostgreSQL)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated records.")] = 0,
    profile: Annotated[
        Path | None,
        typer.Option(help="Write cProfile stats of each sweep (not the baselines) here."),
    ] = None,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
    fail_on_miss: Annotated[
        bool,
        typer.Option(
            "--fail-on-miss", help="Exit 1 when a sweep left due rows or counts do not match."
        ),
    ] = False,
) -> None:
    """Time the tiering and destruction sweeps against plain SQL doing the same moves.

    Generates N due records through the vault (BakıKart taps over a year old, Taxsee
    driver registrations over 24 h old; not timed), then times
    `RetentionEngine(vault, batch_size=B).run()` for each rule on its own, beside a plain
    `INSERT … SELECT` + `DELETE` (tiering) and a plain `DELETE` (destruction) of the same
    rows with plaintext payloads. Prints rows/s for both and the ratio.
    """
    from mexfi.bench.retention import run_retention

    backends = ["sqlite", "postgres"] if backend is BenchBackend.both else [backend.value]
    url = postgres_url or _default_postgres_url()
    with bench_progress(phase_width=17) as advance:
        report = run_retention(
            records=records,
            destruction_share=destruction_share,
            batch_size=batch_size,
            write_batch=write_batch,
            taps_per_rider=taps_per_rider,
            backends=backends,
            postgres_url=url,
            seed=seed,
            profile_dir=profile,
            progress=advance,
        )
    _finish(report, format, fail_on_miss, lambda: _print_retention_report(report))


def _print_retention_report(report: RetentionReport) -> None:
    table = Table(
        title=f"retention: {report.records:,} due records ({report.tiering_records:,} to tier, "
        f"{report.destruction_records:,} to destroy), batches of {report.batch_size:,}"
    )
    for column in ("store", "sweep", "engine/s", "plain/s", "ratio", "rows"):
        table.add_column(
            column, justify="left" if column in ("store", "sweep") else "right", no_wrap=True
        )
    for result in report.results:
        if result.skipped:
            table.add_row(result.backend, "skipped", "-", "-", "-", "-")
            continue
        for sweep in result.sweeps:
            rows = f"{sweep.vault.rows:,}"
            table.add_row(
                result.backend,
                sweep.sweep,
                f"{sweep.vault.rows_per_second:,.0f}",
                f"{sweep.plain.rows_per_second:,.0f}",
                f"{sweep.ratio:.1f}x" if sweep.ratio is not None else "-",
                f"[red]{rows}[/]" if sweep.misses() else rows,
            )
    out.print(table)
    for result in report.results:
        if result.skipped:
            out.print(f"{result.backend}: skipped ({result.skipped})", markup=False)
            continue
        for sweep in result.sweeps:
            ratio = f"ratio {sweep.ratio:.1f}x" if sweep.ratio is not None else "no ratio"
            out.print(
                f"{result.backend} {sweep.sweep}: engine {sweep.vault.rows_per_second:,.0f} "
                f"rows/s ({sweep.vault.rows:,} rows in {sweep.vault.seconds:,.2f} s), "
                f"plain {sweep.plain.rows_per_second:,.0f} rows/s, {ratio}",
                markup=False,
            )
        for miss in result.misses():
            out.print(f"MISSED: {result.backend} {miss}", markup=False)
        for path in result.profiles:
            err.print(f"profile: {path}", markup=False)
    err.print(
        "ratio = plain rows/s / engine rows/s (how many times slower than plain SQL); "
        "destruction rows = registration records crypto-shredded (one per driver)"
    )
