"""`mexfi bench`: measure mexfi's hot paths; each command is a thin layer over `mexfi.bench`.

Every command prints one report: with `--format json` one JSON object on stdout (the
figures, the same-run baseline, the ratio, each goal with `met`, the query plans), in
text a table that fits 80 columns; progress goes to stderr. `--fail-on-miss` exits 1
when a goal is missed or a check fails, for CI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich import box
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
from mexfi.errors import Invalid

if TYPE_CHECKING:
    from mexfi.bench import ApiReport, DsrReport, Goal, IngestReport, Plan, RetentionReport

__all__ = ["bench_app", "bench_progress", "finish_report"]

bench_app = typer.Typer(help="Benchmarks: how fast mexfi keeps its promises.", no_args_is_help=True)

#: A plan line is cut here in text output (the JSON keeps it whole).
PLAN_WIDTH = 76


@contextmanager
def bench_progress() -> Iterator[Callable[[str, str, int, int], None]]:
    """A progress bar per (store, phase) on stderr; yields the callback benchmarks report to."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        tasks: dict[tuple[str, str], TaskID] = {}

        def advance(store: str, phase: str, done: int, total: int) -> None:
            key = (store, phase)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{store} {phase}", total=total)
            progress.update(tasks[key], completed=done, total=total)

        yield advance


class _Report(Protocol):
    def misses(self) -> list[str]: ...

    def to_dict(self) -> dict[str, Any]: ...


def finish_report(
    report: _Report, format: OutputFormat, fail_on_miss: bool, print_text: Callable[[], None]
) -> None:
    """Print a report as one JSON object or as text; exit 1 on a miss if asked to."""
    if getattr(report, "profiled", False):
        err.print("timed under cProfile: the engine's figures are slower than without it")
    if format is OutputFormat.json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        print_text()
        for miss in report.misses():
            out.print(f"MISSED: {miss}", markup=False, soft_wrap=False)
    if fail_on_miss and report.misses():
        raise typer.Exit(1)


class BenchBackend(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"
    both = "both"


def _backends(backend: BenchBackend) -> list[str]:
    return ["sqlite", "postgres"] if backend is BenchBackend.both else [backend.value]


def _postgres_url(given: str | None) -> str | None:
    if given:
        return given
    url = os.environ.get("MEXFI_DATABASE_URL")
    return url if url and url.startswith(("postgresql", "postgres:")) else None


def _table(title: str, columns: Sequence[str], *, left: int = 1) -> Table:
    """A compact table: the first `left` columns left-aligned, the figures right-aligned."""
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        title_justify="left",
    )
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index < left else "right", no_wrap=True)
    return table


def _met(goal: Goal | None) -> str:
    if goal is None:
        return "-"
    return "[green]met[/]" if goal.met else "[red]MISSED[/]"


def _print_goals(goals: Sequence[Goal]) -> None:
    """The goals met (the missed ones are printed last, with every other miss)."""
    for goal in goals:
        if goal.met:
            out.print(f"met: {goal.verdict()}", markup=False, soft_wrap=False)


def _print_plans(plans: Sequence[Plan], where: str) -> None:
    for plan in plans:
        if plan.uses_index:
            verdict = "index"
        elif not plan.index_available:
            verdict = "NO INDEX SERVES IT"
        elif plan.large_whole_reads():
            verdict = "READS A LARGE TABLE WHOLE (an index is available)"
        else:
            verdict = "reads a small table whole (an index serves it once it grows)"
        out.print(f"plan of {plan.title}, {where}: {verdict}", markup=False, soft_wrap=False)
        for line in plan.short_lines():
            cut = line if len(line) <= PLAN_WIDTH else line[: PLAN_WIDTH - 1] + "…"
            out.print(f"  {cut}", markup=False, highlight=False)


Backend = Annotated[
    BenchBackend,
    typer.Option(help="Which store(s) to measure; both skips PostgreSQL without a URL."),
]
PostgresUrl = Annotated[
    str | None,
    typer.Option(
        help="PostgreSQL to measure on, in temporary schemas dropped afterwards "
        "(default: MEXFI_DATABASE_URL when it is PostgreSQL)."
    ),
]
Seed = Annotated[int, typer.Option(help="Seed of every random choice (printed in the report).")]
ProfileDir = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        help="Write cProfile stats of the engine's timed work to this directory "
        "(the profiler slows Python code: time without it for figures).",
    ),
]
Format = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
]
FailOnMiss = Annotated[
    bool, typer.Option("--fail-on-miss", help="Exit 1 when a goal is missed or a check fails.")
]
Explain = Annotated[
    bool, typer.Option("--explain", help="Print the query plans of the hot queries (text).")
]


# --------------------------------------------------------------------------- ingest


@bench_app.command("ingest")
def ingest_command(
    records: Annotated[int, typer.Option(min=1, help="Records to write on each path.")] = 50_000,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Records per batch (one transaction) on both paths.")
    ] = 1000,
    subjects: Annotated[
        int, typer.Option(min=2, help="Pre-registered riders and drivers the records belong to.")
    ] = 200,
    backend: Backend = BenchBackend.both,
    postgres_url: PostgresUrl = None,
    seed: Seed = 0,
    profile: ProfileDir = None,
    format: Format = OutputFormat.text,
    fail_on_miss: FailOnMiss = False,
) -> None:
    """Write N records through the vault and the same rows as plain inserts; compare.

    The vault path is `Vault.write_many`, one unit of work a batch (checks, data keys,
    AES-256-GCM, audit); the baseline is SQLAlchemy Core inserts of the same rows,
    values as plaintext JSON, into a table shaped like `records`. Goal: vault time at
    most 1.3x plain time at batches of 1,000.
    """
    from mexfi.bench import run_ingest

    with bench_progress() as advance:
        report = run_ingest(
            records=records,
            batch_size=batch_size,
            backends=_backends(backend),
            postgres_url=_postgres_url(postgres_url),
            subjects=subjects,
            seed=seed,
            profile_dir=profile,
            progress=advance,
        )
    finish_report(report, format, fail_on_miss, lambda: _print_ingest(report))


def _print_ingest(report: IngestReport) -> None:
    table = _table(
        f"ingest: {report.records:,} records, batches of {report.batch_size:,}, "
        f"{report.subjects} subjects, seed {report.seed}",
        ("backend", "vault rec/s", "plain rec/s", "vault us/rec", "ratio", "goal"),
    )
    for result in report.results:
        if result.vault is None or result.plain is None or result.ratio is None:
            table.add_row(result.backend, "-", "-", "-", "-", "skipped")
            continue
        table.add_row(
            result.backend,
            f"{result.vault.records_per_second:,.0f}",
            f"{result.plain.records_per_second:,.0f}",
            f"{result.vault.us_per_record:,.1f}",
            f"{result.ratio:.2f}x",
            _met(result.goals()[0]),
        )
    out.print(table)
    for result in report.results:
        if result.skipped:
            out.print(f"{result.backend}: skipped ({result.skipped})", markup=False)
    _print_goals([g for r in report.results for g in r.goals()])
    for result in report.results:
        for path in result.profiles:
            err.print(f"profile: {path}", markup=False)


# --------------------------------------------------------------------------- retention


@bench_app.command("retention")
def retention_command(
    records: Annotated[
        list[int] | None,
        typer.Option(
            "--records",
            min=1,
            help="Due records in the store; repeat for several sizes (a fresh store each). "
            "Default: 100,000 and 1,000,000.",
        ),
    ] = None,
    destruction_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of the due records that are driver registrations to destroy (one "
            "per driver); the rest are card taps due for the passive tier.",
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
    backend: Backend = BenchBackend.both,
    postgres_url: PostgresUrl = None,
    seed: Seed = 0,
    profile: ProfileDir = None,
    explain: Explain = False,
    format: Format = OutputFormat.text,
    fail_on_miss: FailOnMiss = False,
) -> None:
    """Time the tiering and destruction sweeps against plain SQL doing the same moves.

    For each size, a fresh store gets that many due records through the vault (BakıKart
    taps over a year old, Taxsee registrations over 23 h old; not timed); then
    `RetentionEngine(vault, batch_size=B).run()` is timed for each rule on its own,
    beside a plain `INSERT … SELECT` + `DELETE` (tiering) and a plain `DELETE`
    (destruction) of the same rows in plaintext tables. Goals: tiering at most 8x,
    destruction at most 20x the baseline's time, per-row cost flat across sizes.
    """
    from mexfi.bench import run_retention

    with bench_progress() as advance:
        report = run_retention(
            sizes=records or [100_000, 1_000_000],
            destruction_share=destruction_share,
            batch_size=batch_size,
            write_batch=write_batch,
            taps_per_rider=taps_per_rider,
            backends=_backends(backend),
            postgres_url=_postgres_url(postgres_url),
            seed=seed,
            profile_dir=profile,
            progress=advance,
        )
    finish_report(report, format, fail_on_miss, lambda: _print_retention(report, explain))


def _print_retention(report: RetentionReport, explain: bool) -> None:
    from mexfi.bench import GOAL_DESTRUCTION_RATIO, GOAL_TIERING_RATIO

    sizes = " / ".join(f"{s:,}" for s in report.sizes)
    table = _table(
        f"retention: {sizes} due records ({report.destruction_share:.0%} to destroy), "
        f"batches of {report.batch_size:,}, seed {report.seed}",
        ("backend", "size", "sweep", "engine/s", "plain/s", "us/row", "ratio", "goal"),
        left=3,
    )
    for run in report.runs:
        if run.skipped:
            table.add_row(run.backend, f"{run.size:,}", "skipped", "-", "-", "-", "-", "-")
            continue
        for sweep in run.sweeps:
            per_row = sweep.vault.us_per_row
            table.add_row(
                run.backend,
                f"{run.size:,}",
                sweep.sweep,
                f"{sweep.vault.rows_per_second:,.0f}",
                f"{sweep.plain.rows_per_second:,.0f}",
                f"{per_row:,.0f}" if per_row is not None else "-",
                f"{sweep.ratio:.1f}x" if sweep.ratio is not None else "-",
                _met(sweep.goal(run.backend, run.size) if sweep.due else None),
            )
    out.print(table)
    out.print("engine/s, plain/s: rows a second; us/row: engine microseconds a row", markup=False)
    out.print(
        f"ratio: engine time / plain time; goals: tiering <= {GOAL_TIERING_RATIO:g}x, "
        f"destruction <= {GOAL_DESTRUCTION_RATIO:g}x",
        markup=False,
    )
    for run in report.runs:
        for sweep in run.sweeps:
            out.print(
                f"{run.backend} {run.size:,} {sweep.sweep}: {sweep.vault.rows:,} rows in "
                f"{sweep.vault.seconds:,.2f} s (plain {sweep.plain.seconds:,.3f} s)",
                markup=False,
            )
    _print_goals(report.flatness())
    for run in report.runs:
        if run.skipped:
            out.print(f"{run.backend}: skipped ({run.skipped})", markup=False)
        if explain:
            _print_plans(run.plans, f"{run.backend} at {run.size:,}")
        for path in run.profiles:
            err.print(f"profile: {path}", markup=False)


# --------------------------------------------------------------------------- dsr


@bench_app.command("dsr")
def dsr_command(
    records: Annotated[
        list[int] | None,
        typer.Option(
            "--records",
            min=1,
            help="Records in the store; repeat to measure as it grows (one store, filled in "
            "steps). Default: 500,000 and 5,000,000.",
        ),
    ] = None,
    sizes: Annotated[
        str, typer.Option(help="Records of the measured subjects, comma-separated.")
    ] = "10,1000,10000",
    runs: Annotated[int, typer.Option(min=1, help="Timed exports per subject and step.")] = 30,
    batch_size: Annotated[int, typer.Option(min=100, help="Records per write batch.")] = 20_000,
    backend: Backend = BenchBackend.both,
    postgres_url: PostgresUrl = None,
    seed: Seed = 0,
    profile: ProfileDir = None,
    explain: Explain = False,
    format: Format = OutputFormat.text,
    fail_on_miss: FailOnMiss = False,
) -> None:
    """Time the access export (streamed JSON) of subjects with 10, 1,000 and 10,000 records.

    The store is filled through `Vault.write_many` with card_use taps of the measured
    riders and many filler riders; p50 and p95 over `runs` exports per size, beside a
    baseline reading the same rows in plaintext with SQLAlchemy Core and writing the
    same JSON. Goals: p95 at most 150 ms and at most 3x the baseline for 10,000
    records, flat in store size.
    """
    from mexfi.bench import run_dsr

    try:
        subject_sizes = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise Invalid("--sizes takes whole numbers separated by commas") from None
    with bench_progress() as advance:
        report = run_dsr(
            store_sizes=records or [500_000, 5_000_000],
            subject_sizes=subject_sizes,
            runs=runs,
            backends=_backends(backend),
            postgres_url=_postgres_url(postgres_url),
            batch_size=batch_size,
            seed=seed,
            profile_dir=profile,
            progress=advance,
        )
    finish_report(report, format, fail_on_miss, lambda: _print_dsr(report, explain))


def _print_dsr(report: DsrReport, explain: bool) -> None:
    from mexfi.bench import GOAL_EXPORT_RATIO, GOAL_P95_MS

    table = _table(
        f"dsr: access export, {report.runs_per_size} runs a size, seed {report.seed}",
        ("backend", "store", "records", "p50 ms", "p95 ms", "plain p95", "ratio", "goal"),
    )
    for run in report.runs:
        if run.skipped:
            table.add_row(run.backend, "-", "-", "-", "-", "-", "-", "skipped")
            continue
        for size in run.sizes:
            goals = size.goals(run.backend, run.store_records)
            verdict = (
                "-"
                if not goals
                else ("[green]met[/]" if all(g.met for g in goals) else "[red]MISSED[/]")
            )
            table.add_row(
                run.backend,
                f"{run.store_records:,}",
                f"{size.records:,}",
                f"{size.engine.p50:.1f}",
                f"{size.engine.p95:.1f}",
                f"{size.baseline.p95:.1f}",
                f"{size.ratio:.1f}x",
                verdict,
            )
    out.print(table)
    out.print(
        f"goals for 10,000 records: p95 <= {GOAL_P95_MS:g} ms, engine p95 / plain p95 <= "
        f"{GOAL_EXPORT_RATIO:g}x,",
        markup=False,
    )
    out.print("and p95 flat in store size", markup=False)
    _print_goals(report.flatness())
    for run in report.runs:
        if run.skipped:
            out.print(f"{run.backend}: skipped ({run.skipped})", markup=False)
            continue
        out.print(
            f"{run.backend}: {run.store_records:,} records, filled in "
            f"{run.fill_seconds:,.0f} s so far",
            markup=False,
        )
        if explain:
            _print_plans(run.plans, f"{run.backend} at {run.store_records:,}")
        for path in run.profiles:
            err.print(f"profile: {path}", markup=False)


# --------------------------------------------------------------------------- api


@bench_app.command("api")
def api_command(
    requests: Annotated[
        int, typer.Option(min=1, help="Requests a phase at most (intake: one a rider).")
    ] = 5000,
    seconds: Annotated[float, typer.Option(min=0.1, help="Seconds a phase at most.")] = 30.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Connections the client keeps.")] = 8,
    workers: Annotated[int, typer.Option(min=1, help="`mexfi serve --workers`.")] = 2,
    subjects: Annotated[int, typer.Option(min=1, help="Riders registered (and then read).")] = 500,
    postgres_url: PostgresUrl = None,
    seed: Seed = 0,
    format: Format = OutputFormat.text,
    fail_on_miss: FailOnMiss = False,
) -> None:
    """Load `mexfi serve` on PostgreSQL over loopback: reads, writes, request intake.

    A fresh store in temporary schemas; the server's framework ceiling (`GET /health`) is
    measured in the same run, and each phase's throughput is given as a ratio to it. Goal:
    purpose-bound reads >= 1,000 req/s with p99 < 50 ms, every read audited.
    """
    from mexfi.bench import run_api

    with bench_progress() as advance:
        report = run_api(
            postgres_url=_postgres_url(postgres_url),
            requests=requests,
            seconds=seconds,
            concurrency=concurrency,
            workers=workers,
            subjects=subjects,
            seed=seed,
            progress=advance,
        )
    finish_report(report, format, fail_on_miss, lambda: _print_api(report))


def _print_api(report: ApiReport) -> None:
    table = _table(
        f"api: {report.workers} workers, {report.concurrency} connections, seed {report.seed}",
        ("phase", "requests", "2xx", "req/s", "p50 ms", "p99 ms", "/ceiling"),
    )
    ceiling = report.phases.get("ceiling")
    for phase in report.phases.values():
        row = phase.to_dict(ceiling)
        ratio = row["ratio_to_ceiling"]
        table.add_row(
            phase.name,
            f"{phase.requests:,}",
            f"{phase.ok:,}",
            f"{phase.per_second:,.0f}",
            f"{phase.p50:.1f}",
            f"{phase.p99:.1f}",
            f"{ratio:.2f}" if ratio is not None else "-",
        )
    out.print(table)
    out.print(f"reads audited: {report.reads_audited}", markup=False)
    _print_goals(report.goals())
