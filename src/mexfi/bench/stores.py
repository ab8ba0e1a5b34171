"""Where benchmarks run: a temporary SQLite directory or temporary PostgreSQL schemas,
removed afterwards, so a benchmark never touches an operator's store."""

from __future__ import annotations

import base64
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mexfi.db import Store, StoreConfig
from mexfi.errors import Invalid, Unavailable

__all__ = ["check_postgres_url", "drop_schemas", "json_default", "postgres_store", "sqlite_store"]


def json_default(value: Any) -> Any:
    """`json.dumps` default for the values benchmarks write as plaintext."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


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
