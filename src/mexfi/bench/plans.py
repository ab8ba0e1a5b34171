"""Query plans of the vault's hot queries, taken from the statements the vault really runs.

A `PlanCapture` listens on the store's engines while a benchmark runs. The first
statement of each hot kind (the due-subject page of a sweep, the key look-up, the
shredding deletes, the pending-evidence query, the export read) is explained right
there, on the same connection, with the same parameters, inside a savepoint: the plan is
the one the planner picks for that query on that data, not a copy of the SQL that could
drift from the vault's. PostgreSQL gets `EXPLAIN`, SQLite `EXPLAIN QUERY PLAN`.

A plan "uses an index" when no table of its kind is read whole: on PostgreSQL no `Seq
Scan` of it, on SQLite no bare `SCAN` of it (`SEARCH`, `USING INDEX`, `USING COVERING
INDEX` are index reads). On a small table PostgreSQL rightly prefers reading it whole;
then the query is explained once more with sequential scans priced out (`enable_seqscan
= off`, undone with its savepoint) to show that an index would serve it once the table
is large (`index_available`). A query no index can serve reads the table whole even then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from mexfi.db import Store

__all__ = ["FULL_SIZE", "HOT_QUERIES", "HotQuery", "Plan", "PlanCapture", "plan_misses"]

#: A whole read of a table this large (by the planner's statistics) is a miss; of a
#: smaller one it can be the planner's right choice (an index must still be available,
#: see `Plan.index_available`).
FULL_SIZE = 100_000

#: Distinct statements of one kind explained under one label.
PER_KIND = 3
_NAME = r'(?:"?\w+"?\.)?'
#: An array literal of ids in a plan line: kept short in reports.
_ARRAY = re.compile(r"'\{([^}]{60,})\}'")


@dataclass(frozen=True)
class HotQuery:
    """A kind of statement worth a plan: how to recognise it, which tables it must not scan."""

    name: str
    pattern: re.Pattern[str]
    tables: tuple[str, ...]


def _query(name: str, pattern: str, *tables: str) -> HotQuery:
    return HotQuery(name, re.compile(pattern), tables)


#: Matched against the statement in lower case with its whitespace collapsed.
HOT_QUERIES: tuple[HotQuery, ...] = (
    _query(
        "due page",
        r"^select subjects\.id from subjects where .*exists .*order by subjects\.id",
        "records",
        "passive_records",
    ),
    _query(
        "key look-up",
        r"^select data_keys\.id, .*from data_keys where data_keys\.subject_id (?:= any|in)",
        "data_keys",
    ),
    _query("shred records", r"^delete from records where records\.key_id", "records"),
    _query(
        "shred passive records",
        rf"^delete from {_NAME}passive_records where {_NAME}passive_records\.key_id",
        "passive_records",
    ),
    _query(
        "pending evidence",
        r"^select destruction_evidence\.id from destruction_evidence where "
        r"destruction_evidence\.status = .*order by destruction_evidence\.subject_id",
        "destruction_evidence",
    ),
    _query(
        "export read",
        r"^select records\.id, records\.category, .*from records where records\.subject_id = "
        r".*order by records\.subject_id, records\.category, records\.collected_at, records\.id",
        "records",
    ),
)


def _shorten(line: str) -> str:
    """A plan line with long array literals (a batch's ids) cut to their first value."""

    def cut(match: re.Match[str]) -> str:
        values = match.group(1).split(",")
        return f"'{{{values[0]},… {len(values)} values}}'"

    return _ARRAY.sub(cut, line)


def _whole_reads(lines: Sequence[str], tables: Sequence[str], backend: str) -> list[str]:
    """The lines of a plan that read one of `tables` whole."""
    found = []
    for line in lines:
        for table in tables:
            if backend == "postgresql":
                whole = re.search(rf"\bSeq Scan on {_NAME}{table}\b", line)
            else:
                whole = re.search(rf"\bSCAN {_NAME}{table}\b(?! USING)", line)
            if whole:
                found.append(_shorten(line.strip()))
    return found


def _indexed(lines: Sequence[str], tables: Sequence[str], backend: str) -> bool:
    markers = ("Index",) if backend == "postgresql" else ("USING", "SEARCH")
    some_index = any(m in line for line in lines for m in markers)
    return some_index and not _whole_reads(lines, tables, backend)


@dataclass(frozen=True)
class Plan:
    """The plan of one hot query, as the database printed it."""

    name: str
    label: str
    backend: str
    statement: str
    lines: tuple[str, ...]
    tables: tuple[str, ...]
    #: PostgreSQL, when `lines` read a table whole: the plan with sequential scans priced out.
    forced_lines: tuple[str, ...] = ()
    #: PostgreSQL: the planner's row estimate of each of `tables` (`pg_class.reltuples`).
    table_rows: tuple[tuple[str, int], ...] = ()

    @property
    def title(self) -> str:
        return f"{self.name} ({self.label})" if self.label else self.name

    def scans(self) -> list[str]:
        """The lines that read one of the query's tables whole."""
        return _whole_reads(self.lines, self.tables, self.backend)

    @property
    def uses_index(self) -> bool:
        """The plan the database chose reads the query's tables through indexes only."""
        return _indexed(self.lines, self.tables, self.backend)

    @property
    def index_available(self) -> bool:
        """An index serves the query: chosen, or chosen once whole reads are priced out."""
        if self.uses_index:
            return True
        return bool(self.forced_lines) and _indexed(self.forced_lines, self.tables, self.backend)

    def large_whole_reads(self) -> list[str]:
        """Whole reads of a table of at least `FULL_SIZE` rows (SQLite: every whole read,
        as it never prefers one to a usable index without ANALYZE, which mexfi never runs)."""
        if self.backend != "postgresql":
            return self.scans()
        large = [t for t, rows in self.table_rows if rows >= FULL_SIZE]
        return _whole_reads(self.lines, large, self.backend)

    def short_lines(self) -> list[str]:
        return [_shorten(line) for line in self.lines]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.name,
            "label": self.label,
            "backend": self.backend,
            "statement": " ".join(self.statement.split()),
            "plan": self.short_lines(),
            "uses_index": self.uses_index,
            "full_scans": self.scans(),
            "index_available": self.index_available,
            "plan_without_seqscan": [_shorten(line) for line in self.forced_lines],
            "table_rows": dict(self.table_rows),
        }


def _normalise(statement: str) -> str:
    return " ".join(statement.split()).lower()


class PlanCapture:
    """Explains the first statement of each hot kind run on a store's engines, per label.

    Set `label` to the phase being run ("tiering", "destruction"). Each distinct statement
    of a kind is explained once (a kind has a few: one per shape of its category list), up
    to `PER_KIND` a label, so the capture costs a handful of `EXPLAIN`s a run.
    """

    def __init__(self, store: Store, queries: Sequence[HotQuery] = HOT_QUERIES) -> None:
        self.store = store
        self.backend = store.dialect
        self.queries = tuple(queries)
        self.label = ""
        #: The kinds explained under the current label (all of `queries` when None).
        self.only: frozenset[str] | None = None
        self.plans: list[Plan] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._per_kind: dict[tuple[str, str], int] = {}
        self._explaining = False

    def phase(self, label: str, *names: str) -> None:
        """From now on, explain these kinds (all when none is named) under `label`."""
        self.label = label
        self.only = frozenset(names) if names else None

    @contextmanager
    def listening(self) -> Iterator[PlanCapture]:
        """Capture plans while inside; the listeners go when it ends."""
        engines = (self.store.records_engine, self.store.keys_engine)
        for engine in engines:
            event.listen(engine, "after_cursor_execute", self._after_execute)
        try:
            yield self
        finally:
            for engine in engines:
                event.remove(engine, "after_cursor_execute", self._after_execute)

    def _after_execute(
        self,
        _connection: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        if self._explaining or executemany:
            return
        text = _normalise(statement)
        for query in self.queries:
            if self.only is not None and query.name not in self.only:
                continue
            kind = (self.label, query.name)
            key = (self.label, query.name, text)
            if key in self._seen or self._per_kind.get(kind, 0) >= PER_KIND:
                continue
            if not query.pattern.search(text):
                continue
            self._seen.add(key)
            self._per_kind[kind] = self._per_kind.get(kind, 0) + 1
            self._explaining = True
            try:
                lines = self._explain(cursor, statement, parameters, query.tables)
            finally:
                self._explaining = False
            if lines is not None:
                chosen, forced, rows = lines
                self.plans.append(
                    Plan(
                        query.name,
                        self.label,
                        self.backend,
                        statement,
                        chosen,
                        query.tables,
                        forced_lines=forced,
                        table_rows=rows,
                    )
                )
            return

    def _explain(
        self, cursor: Any, statement: str, parameters: Any, tables: Sequence[str]
    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, int], ...]] | None:
        """(the plan; on PostgreSQL when it reads a table whole, the plan with sequential
        scans priced out; the planner's row estimates of `tables`), on the cursor's own
        connection; None if the database refused."""
        raw = cursor.connection
        if self.backend == "postgresql":
            passive = self.store.config.passive_schema
            names = {t: f'"{passive}".{t}' if t == "passive_records" else t for t in tables}
            # A savepoint: a failed EXPLAIN must not abort the transaction it looks into, and
            # rolling back to it undoes the SET LOCAL.
            with raw.cursor() as explain:
                explain.execute("SAVEPOINT bench_explain")
                try:
                    explain.execute("EXPLAIN " + statement, parameters)
                    chosen = tuple(str(row[0]) for row in explain.fetchall())
                    forced: tuple[str, ...] = ()
                    if _whole_reads(chosen, tables, self.backend):
                        explain.execute("SET LOCAL enable_seqscan = off")
                        explain.execute("EXPLAIN " + statement, parameters)
                        forced = tuple(str(row[0]) for row in explain.fetchall())
                    rows = []
                    for table, name in names.items():
                        explain.execute(
                            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (name,)
                        )
                        found = explain.fetchone()
                        if found is not None:
                            rows.append((table, max(int(found[0]), 0)))
                except Exception:
                    explain.execute("ROLLBACK TO SAVEPOINT bench_explain")
                    return None
                explain.execute("ROLLBACK TO SAVEPOINT bench_explain")
                explain.execute("RELEASE SAVEPOINT bench_explain")
            return chosen, forced, tuple(rows)
        try:
            rows = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        except Exception:
            return None
        # (id, parent, unused, detail): indent by depth as the sqlite3 shell does.
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + str(detail))
        return tuple(lines), (), ()

    def missing(self, expected: Sequence[tuple[str, str]]) -> list[str]:
        """Which of the expected (label, query) pairs got no plan."""
        have = {(p.label, p.name) for p in self.plans}
        return [f"{name} ({label})" for label, name in expected if (label, name) not in have]


def plan_misses(plans: Sequence[Plan], where: str) -> list[str]:
    """What is wrong with a run's plans: no index can serve a query, or the planner chose to
    read a large table whole."""
    missed = []
    for plan in plans:
        if not plan.index_available:
            missed.append(f"{where}: no index serves {plan.title}")
        elif plan.large_whole_reads():
            missed.append(f"{where}: {plan.title} reads a large table whole")
    return missed
