"""The store: SQLAlchemy engines for the records and for the key store, kept apart.

Records (subjects, encrypted records, audit, registers) and data keys live in
different databases (SQLite: two files) or schemas (PostgreSQL: `mexfi` and
`mexfi_keys`), so a backup of the records alone never revives destroyed data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mexfi.errors import Invalid, Unavailable

__all__ = [
    "PASSIVE_SCHEMA",
    "Base",
    "KeyBase",
    "Store",
    "StoreConfig",
    "UTCDateTime",
    "data_dir",
    "open_store",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: mexfi stores only timezone-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of the record-side tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class KeyBase(DeclarativeBase):
    """Base of the key-store tables: a separate metadata, a separate database or schema."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def data_dir() -> Path:
    """Where the zero-config SQLite store and dev key file live: `MEXFI_DATA_DIR` or ./.mexfi."""
    return Path(os.environ.get("MEXFI_DATA_DIR", ".mexfi"))


@dataclass(frozen=True)
class StoreConfig:
    """Where records and keys live. PostgreSQL schemas apply only to PostgreSQL URLs."""

    records_url: str
    keys_url: str
    records_schema: str = "mexfi"
    keys_schema: str = "mexfi_keys"
    #: The passive tier's tables (BK-3.3); on SQLite they share the records file.
    passive_schema: str = "mexfi_passive"
    echo: bool = False
    engine_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> StoreConfig:
        """`MEXFI_DATABASE_URL` / `MEXFI_KEYSTORE_URL`, else SQLite files in the data directory."""
        records = os.environ.get("MEXFI_DATABASE_URL")
        keys = os.environ.get("MEXFI_KEYSTORE_URL")
        if records is None:
            directory = data_dir()
            records = f"sqlite:///{directory / 'mexfi.sqlite'}"
            keys = keys or f"sqlite:///{directory / 'mexfi-keys.sqlite'}"
        elif keys is None:
            if make_url(records).get_backend_name() == "sqlite":
                raise Invalid(
                    "MEXFI_DATABASE_URL is a SQLite file but MEXFI_KEYSTORE_URL is not set",
                    hint="data keys must live apart from the records: set MEXFI_KEYSTORE_URL "
                    "to another SQLite file",
                )
            keys = records  # same PostgreSQL database, separate schema
        return cls(
            records_url=records,
            keys_url=keys,
            records_schema=os.environ.get("MEXFI_RECORDS_SCHEMA", "mexfi"),
            keys_schema=os.environ.get("MEXFI_KEYS_SCHEMA", "mexfi_keys"),
            passive_schema=os.environ.get("MEXFI_PASSIVE_SCHEMA", "mexfi_passive"),
        )


def _normalise_url(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


#: Tables declared with this schema live in the passive tier (see `StoreConfig.passive_schema`).
PASSIVE_SCHEMA = "passive_tier"


def _make_engine(
    url: str, schema: str, options: dict[str, Any], echo: bool, passive_schema: str | None
) -> Engine:
    parsed = _normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Transactions are begun by the "begin" hook below, not by the driver.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # IMMEDIATE takes the write lock up front: two processes never both read, then
            # both try to write (SQLite would fail one of them instead of making it wait).
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        # One file: the passive tier is a separate table set in it.
        return engine.execution_options(schema_translate_map={PASSIVE_SCHEMA: None})
    if backend == "postgresql":
        # Unqualified table names resolve in the store's own schema.
        connect_args = {"options": f"-csearch_path={schema}"}
        pg_engine = create_engine(
            parsed, echo=echo, connect_args=connect_args, pool_pre_ping=True, **options
        )
        return pg_engine.execution_options(
            schema_translate_map={PASSIVE_SCHEMA: passive_schema or PASSIVE_SCHEMA}
        )
    raise Invalid(
        f"unsupported database backend {backend!r} in the store URL",
        hint="use sqlite:///path/to/file.sqlite or postgresql+psycopg://user@host/db",
    )


class Store:
    """Two engines, records and keys, and their session factories."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.records_engine = _make_engine(
            config.records_url,
            config.records_schema,
            config.engine_options,
            config.echo,
            config.passive_schema,
        )
        self.keys_engine = _make_engine(
            config.keys_url, config.keys_schema, config.engine_options, config.echo, None
        )
        if (
            self.records_engine.url == self.keys_engine.url
            and config.records_schema == config.keys_schema
        ) or (self.is_sqlite and self.records_engine.url == self.keys_engine.url):
            raise Invalid(
                "the key store and the records share one database and schema",
                hint="keys must live apart from records: give MEXFI_KEYSTORE_URL its own "
                "SQLite file or a different PostgreSQL schema",
            )
        self._records = sessionmaker(self.records_engine, expire_on_commit=False)
        self._keys = sessionmaker(self.keys_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.records_engine.dialect.name == "sqlite"

    @property
    def dialect(self) -> str:
        return self.records_engine.dialect.name

    def create_schemas(self) -> None:
        """Create the PostgreSQL schemas if missing (no-op on SQLite)."""
        for engine, schema in (
            (self.records_engine, self.config.records_schema),
            (self.records_engine, self.config.passive_schema),
            (self.keys_engine, self.config.keys_schema),
        ):
            if engine.dialect.name == "postgresql":
                with engine.begin() as connection:
                    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

    @contextmanager
    def records(self) -> Iterator[Session]:
        """A records session that commits on success and rolls back on error."""
        with self._records() as session, session.begin():
            yield session

    @contextmanager
    def keys(self) -> Iterator[Session]:
        """A key-store session that commits on success and rolls back on error."""
        with self._keys() as session, session.begin():
            yield session

    def check(self) -> None:
        """Raise `Unavailable` when either database cannot be reached."""
        for name, engine in (("records", self.records_engine), ("key store", self.keys_engine)):
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            except Exception as exc:
                raise Unavailable(
                    f"the {name} database at {engine.url.render_as_string(hide_password=True)} "
                    f"cannot be reached ({type(exc).__name__})",
                    hint="check MEXFI_DATABASE_URL / MEXFI_KEYSTORE_URL and that the server runs",
                ) from exc

    def dispose(self) -> None:
        self.records_engine.dispose()
        self.keys_engine.dispose()


def open_store(config: StoreConfig | None = None) -> Store:
    return Store(config or StoreConfig.from_env())
