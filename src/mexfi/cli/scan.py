"""`mexfi scan` and `mexfi redact`: find personal data in JSONL, files, tables, data lakes.

The lead mounts these on the root app (`app.command("scan")(scan_command)`); each is a
plain function so that tests register it on their own `typer.Typer()`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from mexfi.cli.options import OutputFormat
from mexfi.cli.output import Force, claim_output, claim_output_dir, err, out
from mexfi.errors import Invalid, NotFound

if TYPE_CHECKING:
    from mexfi.bench import ScanReport
    from mexfi.scan import Mode, Pseudonymizer

__all__ = ["bench_scan_command", "redact_command", "scan_command"]

_LANGS = ("az", "ru", "en")
_BIG = 1 << 20  # inputs above 1 MiB get a progress bar (on a terminal)


def _types(value: str | None) -> list[str] | None:
    if value is None:
        return None
    from mexfi.scan import ENTITY_TYPES

    chosen = [part.strip().upper() for part in value.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(ENTITY_TYPES))
    if unknown:
        raise Invalid(
            f"unknown entity type(s): {', '.join(unknown)}",
            hint=f"choose among {', '.join(ENTITY_TYPES)}",
        )
    return chosen


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Any]:
    """A byte-counting progress bar on stderr, shown only on a terminal for big inputs."""
    if total < _BIG or not err.is_terminal:
        yield lambda advance: None
        return
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda advance: progress.advance(task, advance)


def _open_out(path: Path | None) -> contextlib.AbstractContextManager[IO[str]]:
    if path is None:
        return contextlib.nullcontext(sys.stdout)
    return path.open("w", encoding="utf-8")


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(bytes, record) of each line of a JSONL input of `{"id", "text", "lang"?}`."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Invalid(
                    f"{path}:{number}: not UTF-8 text",
                    hint="convert the file to UTF-8, e.g. iconv -f cp1251 -t utf-8",
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise Invalid(f"{path}:{number}: not JSON ({exc.msg})") from exc
            except (ValueError, RecursionError):
                # json's own limits: an integer of thousands of digits, nesting past the stack.
                raise Invalid(f"{path}:{number}: a number too long or nesting too deep") from None
            if not isinstance(record, dict):
                raise Invalid(f"{path}:{number}: expected an object")
            text = record.get("text")
            if not isinstance(text, str):
                raise Invalid(f"{path}:{number}: field 'text' must be a string")
            # A lone surrogate (an escaped "\ud800") parses but can never be written out;
            # only a line with escapes can hold one.
            if "\\u" in line and not _encodable(json.dumps(record, ensure_ascii=False)):
                raise Invalid(f"{path}:{number}: a string that is not valid Unicode")
            record_id = record.get("id")
            if not isinstance(record_id, str | int):
                raise Invalid(f"{path}:{number}: field 'id' must be a string")
            lang = record.get("lang")
            if lang is not None and lang not in _LANGS:
                raise Invalid(f"{path}:{number}: field 'lang' must be one of az, ru, en")
            yield len(raw), record


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scan_jsonl(
    source: Path, target: Path | None, *, types: list[str] | None, min_score: float
) -> None:
    from mexfi.scan import Scanner

    if not source.is_file():
        raise NotFound(f"input file {source} does not exist")
    scanner = Scanner(types=types, min_score=min_score)
    with _open_out(target) as sink, _progress(source.stat().st_size, "scanning") as advance:
        for size, record in _records(source):
            found = scanner.scan(record["text"], lang=record.get("lang"))
            line = {"id": record["id"], "entities": [e.as_dict() for e in found]}
            sink.write(json.dumps(line, ensure_ascii=False) + "\n")
            advance(size)


def _file_texts(path: Path) -> Iterator[tuple[int, str]]:
    """(bytes consumed, text) of the text units of a .txt, .csv or .jsonl file."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                yield len(line.encode()), line.rstrip("\n")
    elif suffix == ".csv":
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            reader = csv.reader(handle)
            try:
                for row in reader:
                    size = sum(len(cell.encode()) + 1 for cell in row)
                    for cell in row:
                        yield 0, cell
                    yield size, ""
            except csv.Error as exc:
                # e.g. a cell over csv.field_size_limit() (128 KiB): not a table of values.
                raise Invalid(
                    f"{path}:{reader.line_num}: not readable as CSV ({exc})",
                    hint="scan it as .txt, or split cells longer than "
                    f"{csv.field_size_limit() // 1024} KiB",
                ) from None
    elif suffix == ".jsonl":
        for size, record in _records(path):
            yield size, record["text"]
    else:
        raise Invalid(
            f"{path}: unsupported file type {suffix or '(none)'}", hint="use .txt, .csv or .jsonl"
        )


def _scan_files(
    files: list[Path], *, types: list[str] | None, min_score: float, format: OutputFormat
) -> None:
    from mexfi.scan import ENTITY_TYPES, Scanner

    scanner = Scanner(types=types, min_score=min_score)
    for path in files:
        if not path.is_file():
            raise NotFound(f"input file {path} does not exist")
    counts: dict[Path, Counter[str]] = {}
    total = sum(path.stat().st_size for path in files)
    with _progress(total, "scanning") as advance:
        for path in files:
            counter: Counter[str] = Counter()
            for size, text in _file_texts(path):
                if text:
                    counter.update(e.type for e in scanner.scan(text))
                advance(size)
            counts[path] = counter
    if format is OutputFormat.json:
        out.print_json(
            json.dumps(
                [
                    {"file": str(path), "found": {k: counts[path][k] for k in ENTITY_TYPES}}
                    for path in files
                ],
                ensure_ascii=False,
            )
        )
        return
    table = Table(title="Personal data found")
    table.add_column("type")
    for path in files:
        table.add_column(path.name, justify="right")
    for kind in ENTITY_TYPES:
        if any(counts[path][kind] for path in files):
            table.add_row(kind, *(str(counts[path][kind]) for path in files))
    table.add_row("total", *(str(sum(counts[path].values())) for path in files), style="bold")
    out.print(table)


def _scan_db(
    url: str,
    table_name: str,
    column: str | None,
    sample: int | None,
    *,
    types: list[str] | None,
    min_score: float,
    format: OutputFormat,
) -> None:
    from mexfi.scan import ENTITY_TYPES, Scanner, scan_table

    report = scan_table(
        url,
        table_name,
        column=column,
        sample=sample,
        scanner=Scanner(types=types, min_score=min_score),
    )
    if format is OutputFormat.json:
        payload = {
            "table": report.table,
            "rows": report.rows,
            "sampled": report.sampled,
            "columns": [
                {
                    "column": col.name,
                    "values": col.values,
                    "found": {k: col.hits[k] for k in ENTITY_TYPES if col.hits[k]},
                }
                for col in report.columns
            ],
        }
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    how = f"sample of {report.rows} rows" if report.sampled else f"all {report.rows} rows"
    table = Table(title=f"Personal data in table {report.table} ({how})")
    table.add_column("column")
    table.add_column("values", justify="right")
    table.add_column("type")
    table.add_column("values with it", justify="right")
    table.add_column("ratio", justify="right")
    for col in report.columns:
        kinds = [k for k in ENTITY_TYPES if col.hits[k]]
        if not kinds:
            table.add_row(col.name, str(col.values), "-", "0", "0.00")
        for index, kind in enumerate(kinds):
            table.add_row(
                col.name if index == 0 else "",
                str(col.values) if index == 0 else "",
                kind,
                str(col.hits[kind]),
                f"{col.ratio(kind):.2f}",
            )
    out.print(table)


def scan_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Files to summarise: .txt, .csv or .jsonl.", show_default=False),
    ] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help='JSONL input: {"id", "text", "lang"?} per line.')
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Output JSONL file (--jsonl) or directory (--spark)."),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (SQLAlchemy).")] = None,
    table: Annotated[str | None, typer.Option("--table", help="Table to scan (with --db).")] = None,
    column: Annotated[str | None, typer.Option("--column", help="Only this column.")] = None,
    sample: Annotated[
        int, typer.Option("--sample", max=10_000_000, help="Rows to sample (with --db).")
    ] = 1000,
    full: Annotated[bool, typer.Option("--full", help="Scan every row (with --db).")] = False,
    spark: Annotated[
        Path | None,
        typer.Option("--spark", help="Input directory (Parquet, CSV or JSONL) for PySpark."),
    ] = None,
    types: Annotated[
        str | None, typer.Option("--types", help="Comma-separated entity types (default: all).")
    ] = None,
    min_score: Annotated[
        float, typer.Option("--min-score", help="Report entities scoring at least this.")
    ] = 0.5,
    format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="The FILE and --db summaries as text or json (--jsonl and --spark write "
            "JSON lines either way).",
        ),
    ] = OutputFormat.text,
    force: Force = False,
) -> None:
    """Find personal data (phones, FINs, cards, names, addresses ...) in text."""
    chosen = _types(types)
    modes = [
        name
        for name, given in (("--jsonl", jsonl), ("FILE", files), ("--db", db), ("--spark", spark))
        if given
    ]
    if len(modes) != 1:
        raise Invalid(
            "give exactly one input" if modes else "nothing to scan",
            hint="use --jsonl IN, FILE..., --db URL --table T, or --spark DIR --out DIR",
        )
    if out_path is not None and jsonl is None and spark is None:
        raise Invalid("--out applies to --jsonl and --spark only")
    if out_path is not None and spark is not None:
        claim_output_dir(out_path, force=force)  # Spark replaces the directory whole
    elif out_path is not None:
        claim_output(out_path, force=force)
    if jsonl is not None:
        _scan_jsonl(jsonl, out_path, types=chosen, min_score=min_score)
    elif files:
        _scan_files(files, types=chosen, min_score=min_score, format=format)
    elif db is not None:
        if table is None:
            raise Invalid("--db needs --table")
        _scan_db(
            db,
            table,
            column,
            None if full else sample,
            types=chosen,
            min_score=min_score,
            format=format,
        )
    elif spark is not None:
        if out_path is None:
            raise Invalid("--spark needs --out OUTPUT_DIR")
        from mexfi.scan import scan_directory

        written = scan_directory(spark, out_path, types=chosen, min_score=min_score)
        err.print(f"scanned {written} records into {out_path}")


def _store_pseudonyms() -> Pseudonymizer:
    """The vault's keyed pseudonym function: the store's pseudonym key never leaves it."""
    from mexfi.cli.context import open_vault
    from mexfi.errors import Unavailable

    try:
        with open_vault() as vault:
            return vault.value_pseudonym
    except Unavailable as exc:
        raise Unavailable(
            f"pseudonyms are made under the store's pseudonym key, and {exc.message}",
            hint=f"{exc.hint + '; ' if exc.hint else ''}or give another key with --key-file",
        ) from exc


def redact_command(
    source: Annotated[
        Path, typer.Argument(help="Input: .jsonl ({id, text, lang?} per line) or .txt.")
    ],
    mode: Annotated[
        str, typer.Option("--mode", help="tag ([PHONE]), mask (****) or pseudonym.")
    ] = "tag",
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Output file (default: stdout).")
    ] = None,
    keep_separators: Annotated[
        bool, typer.Option("--keep-separators", help="With --mode mask: keep spaces, dashes, dots.")
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Another pseudonym key (a file of base64). Default: the store's own "
            "pseudonym key, so that redacted files join with each other.",
        ),
    ] = None,
    types: Annotated[
        str | None, typer.Option("--types", help="Comma-separated entity types (default: all).")
    ] = None,
    force: Force = False,
) -> None:
    """Replace personal data by type tags, masks, or keyed consistent pseudonyms.

    Pseudonyms are made under the store's pseudonym key (the key file, or
    MEXFI_PSEUDONYM_KEY) unless --key-file gives another.
    """
    from mexfi.scan import Scanner, load_key, redact

    if mode not in ("tag", "mask", "pseudonym"):
        raise Invalid(f"unknown mode {mode!r}", hint="use tag, mask or pseudonym")
    if not source.is_file():
        raise NotFound(f"input file {source} does not exist")
    if out_path is not None:
        claim_output(out_path, force=force)
    chosen_mode = cast("Mode", mode)
    key = load_key(key_file) if mode == "pseudonym" and key_file is not None else None
    pseudonymize: Pseudonymizer | None = None
    if mode == "pseudonym" and key_file is None:
        pseudonymize = _store_pseudonyms()
    scanner = Scanner(types=_types(types))
    suffix = source.suffix.lower()
    if suffix not in (".jsonl", ".txt"):
        raise Invalid(
            f"{source}: unsupported file type {suffix or '(none)'}", hint="use .jsonl or .txt"
        )
    with _open_out(out_path) as sink, _progress(source.stat().st_size, "redacting") as advance:
        if suffix == ".jsonl":
            for size, record in _records(source):
                text = record["text"]
                found = scanner.scan(text, lang=record.get("lang"))
                record["text"] = redact(
                    text,
                    found,
                    mode=chosen_mode,
                    key=key,
                    pseudonymize=pseudonymize,
                    keep_separators=keep_separators,
                )
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                advance(size)
        else:
            with source.open(encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    text = line.rstrip("\n")
                    found = scanner.scan(text)
                    sink.write(
                        redact(
                            text,
                            found,
                            mode=chosen_mode,
                            key=key,
                            pseudonymize=pseudonymize,
                            keep_separators=keep_separators,
                        )
                        + "\n"
                    )
                    advance(len(line.encode()))


def bench_scan_command(
    repeat: Annotated[
        int, typer.Option("--repeat", max=1000, help="Timed passes over the texts.")
    ] = 3,
    presidio: Annotated[
        bool, typer.Option("--presidio/--no-presidio", help="Also run Presidio's default analyzer.")
    ] = True,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
    fail_on_miss: Annotated[
        bool, typer.Option("--fail-on-miss", help="Exit 1 when a goal of issue 6 is missed.")
    ] = False,
) -> None:
    """Throughput and F1 of mexfi's scanner and Presidio's analyzer on the same texts.

    Goals (issue 6): at least 2 MB/s, and at least 20x Presidio's throughput.
    """
    from rich.progress import TimeElapsedColumn

    from mexfi.bench import ScanReport
    from mexfi.cli.bench import finish_report
    from mexfi.scan import run_scan_bench

    if repeat < 1:
        raise Invalid("--repeat must be at least 1")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("scan: the development set, mexfi then presidio", total=None)
        result = run_scan_bench(repeat=repeat, presidio=presidio)
        progress.update(task, total=1, completed=1)
    report = ScanReport(result, repeat)
    finish_report(report, format, fail_on_miss, lambda: _print_scan_bench(report))


def _print_scan_bench(report: ScanReport) -> None:
    from mexfi.bench import DEVSET_SEED
    from mexfi.scan import ENTITY_TYPES

    result = report.result
    rows = [row for row in (result.mexfi, result.presidio) if row is not None]
    summary = Table(
        title=f"Scanner benchmark (held-out development set, seed {DEVSET_SEED}, one core)"
    )
    for name in ("engine", "texts", "texts/s", "MB/s", "micro P", "micro R", "micro F1"):
        summary.add_column(name, justify="left" if name == "engine" else "right")
    for row in rows:
        micro = row.scores.micro
        summary.add_row(
            row.engine,
            str(row.texts),
            f"{row.texts_per_second:,.0f}",
            f"{row.mb_per_second:.3f}",
            f"{micro.precision:.3f}",
            f"{micro.recall:.3f}",
            f"{micro.f1:.3f}",
        )
    out.print(summary)
    if result.ratio is not None:
        out.print(f"mexfi / presidio throughput: [bold]{result.ratio:.1f}x[/]")
    else:
        err.print(f"presidio skipped: {result.presidio_skipped}")
    per_type = Table(title="Exact-span F1 per type")
    per_type.add_column("type")
    for row in rows:
        per_type.add_column(f"{row.engine} P/R/F1", justify="right")
    for kind in ENTITY_TYPES:
        cells = []
        for row in rows:
            score = row.scores.per_type.get(kind)
            cells.append(
                "-" if score is None else f"{score.precision:.2f}/{score.recall:.2f}/{score.f1:.2f}"
            )
        per_type.add_row(kind, *cells)
    out.print(per_type)
    for goal in report.goals():
        if goal.met:
            out.print(f"met: {goal.verdict()}", markup=False)
