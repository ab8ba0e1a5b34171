"""Set-based statements on either backend: many rows in, many ids matched, in few statements."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, String, Table, Text, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session

from mexfi.db import insert_rows

__all__ = [
    "SQLITE_CHUNK",
    "bulk_insert",
    "bulk_insert_values",
    "chunks",
    "id_chunks",
    "is_postgres",
    "one_of",
]

#: Ids per `IN (…)` on SQLite, under its limit of 32,766 bound parameters.
SQLITE_CHUNK = 30_000
#: From this many values on, SQLite gets them as one JSON array (`json_each`).
JSON_LIST_FROM = 64
#: JSON functions are built into SQLite from 3.38.
_SQLITE_JSON = sqlite3.sqlite_version_info >= (3, 38)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def one_of(
    session: Session, column: InstrumentedAttribute[str], values: Collection[str]
) -> ColumnElement[bool]:
    """`column = ANY(:array)` on PostgreSQL (one parameter, one cached plan), else `IN` (of
    one JSON array parameter when the values are many)."""
    if is_postgres(session):
        listed = list(values)
        joined = ",".join(listed)
        if listed and "" not in listed and joined.count(",") == len(listed) - 1:
            # Ids (no commas) go as one text, split by the server: dumping a list parameter
            # costs the driver ~2 ms a thousand values, in Python; the plan is the same.
            return column == any_(
                func.string_to_array(literal(joined, Text), ",", type_=ARRAY(Text))
            )
        return column == any_(literal(listed, ARRAY(String)))
    listed = list(values)
    if len(listed) >= JSON_LIST_FROM and _SQLITE_JSON:
        # Many values go as one JSON parameter: an `IN` of a thousand bound parameters costs
        # SQLAlchemy ~2 ms to expand on every execution; SQLite still searches the index.
        each = func.json_each(orjson.dumps(listed).decode()).table_valued("value")
        return column.in_(select(each.c.value))
    return column.in_(listed)


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def id_chunks(session: Session, values: Collection[str]) -> Iterator[Sequence[str]]:
    """All of `values` at once on PostgreSQL (an array parameter), in chunks on SQLite."""
    ordered = list(values)
    if not ordered:
        return
    yield from chunks(ordered, len(ordered) if is_postgres(session) else SQLITE_CHUNK)


def _table(model: type[DeclarativeBase]) -> Table:
    target = model.__table__
    assert isinstance(target, Table)
    return target


def bulk_insert_values(
    session: Session,
    table: type[DeclarativeBase],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert rows given as value tuples in `columns` order (COPY on PostgreSQL)."""
    insert_rows(session, _table(table), columns, rows)


def bulk_insert(
    session: Session, table: type[DeclarativeBase], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows given as mappings of the same columns (COPY on PostgreSQL)."""
    if rows:
        columns = list(rows[0])
        insert_rows(session, _table(table), columns, [[row[c] for c in columns] for row in rows])
