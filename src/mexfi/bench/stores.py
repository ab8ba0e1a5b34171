"""Where benchmarks run: a temporary SQLite directory or temporary PostgreSQL schemas,
removed afterwards, so a benchmark never touches an operator's store; and the few
plain-SQL helpers they need to count rows in it (the vault's tables are read by name,
never through its models)."""

from __future__ import annotations

import base64
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, bindparam, create_engine, text
from sqlalchemy.engine import make_url

from mexfi.db import Store, StoreConfig
from mexfi.errors import Invalid, Unavailable

__all__ = [
    "analyze",
    "check_postgres_url",
    "count_keys",
    "count_rows",
    "drop_schemas",
    "json_default",
    "passive_table",
    "plain_json",
    "postgres_store",
    "sqlite_store",
]


def json_default(value: Any) -> Any:
    """`json.dumps` default for the values benchmarks write as plaintext."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


def plain_json(values: Mapping[str, Any]) -> bytes:
    """The plaintext JSON of a record's values, as a baseline stores them (orjson, as the
    vault seals them: the ratio then measures the vault's extra work, not the encoder)."""
    return orjson.dumps(values, default=json_default)


def passive_table(store: Store) -> str:
    """The passive tier's table, qualified for SQL text on the records engine."""
    if store.dialect == "postgresql":
        return f'"{store.config.passive_schema}".passive_records'
    return "passive_records"


def _count(engine: Engine, sql: str, params: dict[str, Any]) -> int:
    # A list parameter is an `IN :name` list.
    statement = text(sql).bindparams(
        *(bindparam(name, expanding=True) for name, v in params.items() if isinstance(v, list))
    )
    with engine.connect() as connection:
        return int(connection.execute(statement, params).scalar() or 0)


def count_rows(store: Store, sql: str, **params: Any) -> int:
    """`SELECT count(*) …` on the records engine (a list parameter is an `IN :name` list)."""
    return _count(store.records_engine, sql, params)


def count_keys(store: Store, sql: str, **params: Any) -> int:
    """`SELECT count(*) FROM data_keys …` on the key store's engine."""
    return _count(store.keys_engine, sql, params)


def analyze(store: Store) -> None:
    """PostgreSQL: `VACUUM ANALYZE` every table of the store's schemas, as autovacuum leaves
    a store at rest (statistics, visibility map). SQLite is left as mexfi leaves it."""
    if store.dialect != "postgresql":
        return
    config = store.config
    schemas = [config.records_schema, config.keys_schema, config.passive_schema]
    with store.records_engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        tables = connection.execute(
            text("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(:s)"),
            {"s": schemas},
        ).all()
        for schema, table in tables:
            connection.execute(text(f'VACUUM ANALYZE "{schema}"."{table}"'))


@contextmanager
def sqlite_store() -> Iterator[Store]:
    """A store in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mexfi-bench-") as directory:
        root = Path(directory)
        store = Store(
            StoreConfig(
                records_url=f"sqlite:///{root / 'records.sqlite'}",
                keys_url=f"sqlite:///{root / 'keys.sqlite'}",
            )
        )
        try:
            yield store
        finally:
            store.dispose()


def drop_schemas(url: str, *schemas: str) -> None:
    """Drop PostgreSQL schemas and everything in them."""
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


@contextmanager
def postgres_store(url: str) -> Iterator[Store]:
    """A store in two temporary schemas of `url`, dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    schemas = [f"bench_{suffix}", f"bench_{suffix}_keys", f"bench_{suffix}_passive"]
    store = Store(
        StoreConfig(
            records_url=url,
            keys_url=url,
            records_schema=schemas[0],
            keys_schema=schemas[1],
            passive_schema=schemas[2],
            # Throwaway schemas of one database, dropped after the run: never backed up.
            keystore_shared_database=True,
        )
    )
    try:
        store.check()
    except Unavailable:
        store.dispose()
        raise
    try:
        yield store
    finally:
        store.dispose()
        drop_schemas(url, *schemas)


def check_postgres_url(url: str | None) -> str:
    """`url` if it is a PostgreSQL URL; `Invalid` saying how to give one otherwise."""
    if not url:
        raise Invalid(
            "the PostgreSQL benchmark needs a database URL",
            hint="pass --postgres-url postgresql+psycopg://user@host/db, or set "
            "MEXFI_DATABASE_URL to a PostgreSQL URL",
        )
    if make_url(url).get_backend_name() != "postgresql":
        raise Invalid("--postgres-url must be a postgresql:// URL")
    return url
