"""Scanning database tables: which columns hold which types, sampled or in full."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from mexfi.errors import Invalid, NotFound, Unavailable
from mexfi.scan.engine import Scanner, default_scanner

__all__ = ["ColumnReport", "TableReport", "scan_table"]


@dataclass
class ColumnReport:
    """What one column holds: values scanned and, per type, how many values carry it."""

    name: str
    values: int = 0
    hits: Counter[str] = field(default_factory=Counter)

    def ratio(self, kind: str) -> float:
        """Share of scanned values carrying `kind`."""
        return self.hits[kind] / self.values if self.values else 0.0


@dataclass
class TableReport:
    """The scan of one table: rows read and a report per scanned column."""

    table: str
    rows: int
    sampled: bool
    columns: list[ColumnReport]


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "<unparseable URL>"


def scan_table(
    url: str,
    table: str,
    *,
    column: str | None = None,
    sample: int | None = 1000,
    scanner: Scanner | None = None,
    progress: Callable[[int], None] | None = None,
) -> TableReport:
    """Scan the text of `table` (or one `column`); `sample=None` reads every row."""
    if sample is not None and sample <= 0:
        raise Invalid("--sample must be a positive number of rows")
    scanner = scanner or default_scanner()
    try:
        engine = sa.create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise Invalid(f"cannot use database URL {_safe_url(url)}: {type(exc).__name__}") from exc
    except ImportError as exc:
        # SQLAlchemy knows the dialect (mysql://) but its driver is not installed here.
        raise Unavailable(
            f"the database driver for {_safe_url(url)} is not installed ({exc.name})",
            hint="install that driver, or scan a sqlite:// or postgresql+psycopg:// database",
        ) from exc
    try:
        try:
            meta = sa.MetaData()
            reflected = sa.Table(table, meta, autoload_with=engine)
        except sa.exc.NoSuchTableError as exc:
            raise NotFound(f"table {table!r} not found in {_safe_url(url)}") from exc
        except OperationalError as exc:
            raise Unavailable(f"cannot reach {_safe_url(url)}: {type(exc).__name__}") from exc
        names = [c.name for c in reflected.columns]
        if column is not None:
            if column not in names:
                raise NotFound(f"column {column!r} not found in table {table!r}")
            names = [column]
        query = sa.select(*(reflected.c[name] for name in names))
        if sample is not None:
            if engine.dialect.name in ("sqlite", "postgresql"):
                query = query.order_by(sa.func.random())
            query = query.limit(sample)
        reports = {name: ColumnReport(name) for name in names}
        rows = 0
        with engine.connect() as connection:
            for row in connection.execute(query):
                rows += 1
                for name, value in zip(names, row, strict=True):
                    if value is None or isinstance(value, bytes | bytearray):
                        continue
                    text = value if isinstance(value, str) else str(value)
                    report = reports[name]
                    report.values += 1
                    for kind in {e.type for e in scanner.scan(text)}:
                        report.hits[kind] += 1
                if progress is not None:
                    progress(1)
    except SQLAlchemyError as exc:
        raise Unavailable(f"database error on table {table!r}: {type(exc).__name__}") from exc
    finally:
        engine.dispose()
    return TableReport(table, rows, sample is not None, list(reports.values()))
