"""The store: SQLAlchemy engines for the records and for the key store, kept apart, and the
unit of work that writes to both.

Records (subjects, encrypted records, audit, registers) and data keys live in
different databases (SQLite: two files) or schemas (PostgreSQL: `mexfi` and
`mexfi_keys`), so a backup of the records alone never revives destroyed data.

One operation is one `UnitOfWork`: service functions take it, write through its two
sessions and flush; the caller (a CLI command, an API request, a worker batch) commits
once. Two databases cannot commit atomically, so `UnitOfWork.commit` writes in an order
chosen so that a crash between any two commits leaves nothing inconsistent:

1. the key store: keys this operation created. A crash after it leaves an orphan key,
   which decrypts nothing and is harmless; a record is never committed without its key.
2. the records store: records, registers and audit entries together, and the intent of
   any destruction (pending evidence). Once this commits the operation has happened.
3. the steps queued with `UnitOfWork.then`, in order, each committing on its own: the
   vault's crypto-shredding deletes the keys, then the rows, then completes the evidence.
   A crash among them leaves pending evidence, which the next retention run completes.

`crash_point` marks each boundary so the crash tests can kill the process there.
"""

from __future__ import annotations

import copy
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    insert,
    text,
)
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
    "UnitOfWork",
    "crash_point",
    "data_dir",
    "insert_rows",
    "new_id",
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


def new_id() -> str:
    """A random 128-bit id in hex: the id of every row mexfi creates."""
    return os.urandom(16).hex()


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
        # Unqualified names resolve in the store's own schema; times come back in UTC, so
        # a hot read may take the driver's datetimes as they are (see `UTCDateTime`).
        connect_args = {"options": f"-csearch_path={schema} -ctimezone=UTC"}
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

    def bound(self, records: Connection, keys: Connection) -> Store:
        """This store with its sessions on two open connections, sharing the engines.

        Each session joins its connection's transaction through a savepoint: a commit
        releases the savepoint, and the connections' owner (a test harness) rolls it all
        back at the end.
        """
        clone = copy.copy(self)
        clone._records = sessionmaker(
            records, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        clone._keys = sessionmaker(
            keys, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        return clone

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
        """A records session that commits on success and rolls back on error (reads, tools)."""
        with self._records() as session, session.begin():
            yield session

    @contextmanager
    def keys(self) -> Iterator[Session]:
        """A key-store session that commits on success and rolls back on error (reads, tools)."""
        with self._keys() as session, session.begin():
            yield session

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work over both stores; use it as a context manager or commit it."""
        return UnitOfWork(self._records, self._keys)

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


#: From this many rows on, PostgreSQL gets them through COPY rather than INSERT.
COPY_THRESHOLD = 64


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows, value tuples in `columns` order, in the session's transaction.

    PostgreSQL gets many rows through `COPY … FROM STDIN` (a tenth of the time of an
    executemany, which psycopg sends as one statement a row); otherwise it is a Core
    executemany on the session's connection, without the ORM's work a row for objects
    nobody loads. Pending ORM objects are flushed first, as the ORM's autoflush would.
    """
    if not rows:
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    connection = session.connection()
    if len(rows) < COPY_THRESHOLD or connection.dialect.name != "postgresql":
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    translate = connection.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    name = f'"{schema}".{table.name}' if schema else table.name
    driver = connection.connection.driver_connection
    statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)


# --------------------------------------------------------------------------- unit of work

#: Set by the crash tests only: `name` or `name#n` (the n-th time that point is passed)...
_CRASH_AT = os.environ.get("MEXFI_TEST_CRASH_AT")
#: ... and a file each point passed is appended to, as `name#n`.
_CRASH_LOG = os.environ.get("MEXFI_TEST_CRASH_LOG")
_crash_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Die here, as a power cut would, when the environment names this point.

    `MEXFI_TEST_CRASH_AT=uow.records-committed#2` kills the process with SIGKILL the
    second time it passes that point; `MEXFI_TEST_CRASH_LOG` lists the points a run
    passes, so a test can kill it at each in turn. Unset (always, outside the crash
    tests), it costs one comparison.
    """
    if _CRASH_AT is None and _CRASH_LOG is None:
        return
    count = _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _CRASH_LOG is not None:
        with open(_CRASH_LOG, "a", encoding="utf-8") as log:
            log.write(f"{name}#{count}\n")
    if _CRASH_AT is not None:
        target, _, nth = _CRASH_AT.partition("#")
        if target == name and count == (int(nth) if nth else 1):
            os.kill(os.getpid(), signal.SIGKILL)


Step = Callable[["UnitOfWork"], None]


class UnitOfWork:
    """One operation's transactions on the records store and the key store.

    Sessions open on first use; the records session always begins before the key
    store's, so two units of work never wait on each other's locks in opposite orders.
    `commit` runs the designed order (see the module docstring); leaving the `with`
    block commits, an exception rolls back. Writes registered with `keep_on_rollback`
    (the audit entry of a denied access) are made again after a rollback and committed,
    so a refusal is on record even though the operation it refused is not.
    """

    def __init__(
        self, records_factory: Callable[[], Session], keys_factory: Callable[[], Session]
    ) -> None:
        self._records_factory = records_factory
        self._keys_factory = keys_factory
        self._records: Session | None = None
        self._keys: Session | None = None
        self._steps: list[Step] = []
        self._kept: list[Callable[[Session], None]] = []
        #: Per-operation state of the capabilities (the vault's unwrapped keys).
        self.info: dict[str, Any] = {}
        self.closed = False

    @property
    def records(self) -> Session:
        if self._records is None:
            self._check_open()
            self._records = self._records_factory()
        return self._records

    @property
    def keys(self) -> Session:
        if self._keys is None:
            # Lock order: the records transaction first, then the key store's.
            self.records.connection()
            self._keys = self._keys_factory()
        return self._keys

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this unit of work is closed: open a new one")

    def then(self, step: Step) -> None:
        """Run `step` after both stores have committed; it commits what it writes itself."""
        self._steps.append(step)

    def keep_on_rollback(self, write: Callable[[Session], None]) -> None:
        """Make `write` again, in a transaction of its own, if this unit of work rolls back."""
        self._kept.append(write)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo the records written inside if it raises, and nothing else.

        Writes kept on rollback that were registered inside are made again at once (a
        denial stays on record), and steps queued inside are dropped. Keys created inside
        stay: a key that seals nothing is harmless.
        """
        kept, steps = len(self._kept), len(self._steps)
        nested = self.records.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            del self._steps[steps:]
            for write in self._kept[kept:]:
                write(self.records)
            raise
        nested.commit()

    def flush(self) -> None:
        if self._keys is not None:
            self._keys.flush()
        if self._records is not None:
            self._records.flush()

    def commit(self) -> None:
        """Commit the key store, then the records, then run the queued steps in order."""
        self._check_open()
        if self._keys is not None:
            self._keys.commit()
            crash_point("uow.keys-committed")
        if self._records is not None:
            self._records.commit()
            crash_point("uow.records-committed")
        self._kept.clear()
        while self._steps:
            self._steps.pop(0)(self)

    def rollback(self) -> None:
        """Undo everything uncommitted, then commit the writes kept on rollback."""
        self._steps.clear()
        self.info.clear()
        for session in (self._keys, self._records):
            if session is not None:
                session.rollback()
        kept, self._kept = self._kept, []
        if kept:
            for write in kept:
                write(self.records)
            self.records.commit()

    def close(self) -> None:
        for session in (self._keys, self._records):
            if session is not None:
                session.close()
        self._keys = self._records = None
        self.closed = True

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        try:
            if kind is not None:
                self.rollback()
                return
            try:
                self.commit()
            except BaseException:
                self.rollback()
                raise
        finally:
            self.close()
