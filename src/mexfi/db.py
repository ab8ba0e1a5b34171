"""The store: SQLAlchemy engines for the records and for the key store, kept apart, and the
unit of work that writes to both.

Records (subjects, encrypted records, audit, registers) and data keys live in
different databases (SQLite: two files; PostgreSQL: two databases, one schema of the same
database only when `MEXFI_KEYSTORE_SHARED_DATABASE=1` says so), so a backup of the
records alone never revives destroyed data.

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
4. the physical purge the steps asked for (`UnitOfWork.purge_after_commit`), once: deleted
   rows leave their bytes in free pages and the WAL until the database reuses them, so
   SQLite (`secure_delete` zeroes what is deleted) checkpoints and truncates its WAL, and
   PostgreSQL vacuums the tables that lost rows, outside any transaction. VACUUM does not
   zero what it frees: the vault has the key table rewritten apart (`Store.rewrite`).

`crash_point` marks each boundary so the crash tests can kill the process there.
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mexfi.errors import Invalid, Unavailable

__all__ = [
    "PASSIVE_SCHEMA",
    "Base",
    "KeyBase",
    "Store",
    "StoreConfig",
    "StoreNotFound",
    "StorePresence",
    "UTCDateTime",
    "UnitOfWork",
    "crash_point",
    "data_dir",
    "insert_rows",
    "new_id",
    "open_store",
    "render_url",
    "store_presence",
]

_log = logging.getLogger("mexfi.db")

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
    #: PostgreSQL: let the key store be a schema of the records' own database. One
    #: `pg_dump` then holds the records and the keys that open them (see `__post_init__`).
    keystore_shared_database: bool = False
    echo: bool = False
    engine_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.shares_postgres_database and not self.keystore_shared_database:
            raise Invalid(
                "the key store is a schema of the records' own PostgreSQL database: one "
                "pg_dump would hold the records and the keys that open them, and a restored "
                "dump would revive destroyed data",
                hint="set MEXFI_KEYSTORE_URL to a database of its own (CREATE DATABASE "
                "mexfi_keys), or accept the cost with MEXFI_KEYSTORE_SHARED_DATABASE=1",
            )

    @property
    def shares_postgres_database(self) -> bool:
        """Records and keys in one PostgreSQL database (same host, port and name)."""
        records, keys = _normalise_url(self.records_url), _normalise_url(self.keys_url)
        if records.get_backend_name() != "postgresql" or keys.get_backend_name() != "postgresql":
            return False
        return _database_identity(records) == _database_identity(keys)

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
            keys = records  # PostgreSQL: refused below unless the shared database is allowed
        return cls(
            records_url=records,
            keys_url=keys,
            records_schema=os.environ.get("MEXFI_RECORDS_SCHEMA", "mexfi"),
            keys_schema=os.environ.get("MEXFI_KEYS_SCHEMA", "mexfi_keys"),
            passive_schema=os.environ.get("MEXFI_PASSIVE_SCHEMA", "mexfi_passive"),
            keystore_shared_database=_env_flag("MEXFI_KEYSTORE_SHARED_DATABASE"),
        )


def _env_flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise Invalid(f"{name} must be 1 or 0", hint=f"unset {name} or set it to 1 or 0")


#: Spellings of this machine that name one PostgreSQL server (no host: its local socket).
_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


def _database_identity(url: URL) -> tuple[str, int, str]:
    host = (url.host or "").lower()
    return ("localhost" if host in _LOCAL_HOSTS else host, url.port or 5432, url.database or "")


def _normalise_url(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _create_private_file(path: Path) -> None:
    """Create a missing SQLite file (and its directory) readable by its owner only, and
    tighten an existing one (with its -wal, -shm and -journal) to 0600 and the data
    directory to 0700.

    SQLite gives the -wal and -shm files the mode of the database file, so 0600 here keeps
    all three from other local users, whatever the umask.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    # Only the data directory is mexfi's own: a store placed in another directory (say
    # /srv, or /tmp) leaves that directory's mode to its owner.
    if path.parent.resolve() == data_dir().resolve():
        _tighten(path.parent, 0o700)
    for suffix in ("", "-wal", "-shm", "-journal"):
        _tighten(path.with_name(path.name + suffix), 0o600)


def _tighten(path: Path, mode: int) -> None:
    """Take every permission beyond `mode` away from `path` (a store file, the data
    directory) if it has any, saying so; `Invalid` if that cannot be done (not its owner).

    Tightened rather than refused: a data directory made by an older mexfi, or a store
    copied in with `cp` under the usual umask, is the operator's own and only too open.
    A refusal would stop retention (the 24-hour destruction of TX-7.7) over a mode.
    """
    try:
        current = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if not current & ~mode:
        return
    try:
        os.chmod(path, current & mode)
    except OSError as exc:
        raise Invalid(
            f"{path} is mode {current:04o}: other local users can read the store, and mode "
            f"{current & mode:04o} cannot be set ({exc.strerror or type(exc).__name__})",
            hint=f"run mexfi as the owner of {path}, or `chmod {current & mode:o} {path}` "
            "as its owner",
        ) from None
    _log.warning(
        "%s was mode %04o, readable by other local users: tightened to %04o",
        path,
        current,
        current & mode,
    )


#: Tables declared with this schema live in the passive tier (see `StoreConfig.passive_schema`).
PASSIVE_SCHEMA = "passive_tier"


def _make_engine(
    url: str, schema: str, options: dict[str, Any], echo: bool, passive_schema: str | None
) -> Engine:
    parsed = _normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(Path(parsed.database))
        engine = create_engine(parsed, echo=echo, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Transactions are begun by the "begin" hook below, not by the driver.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # Deleted rows are zeroed, not left in free pages for a carver (upstream SQLite
            # builds leave it off; Debian's turns it on).
            cursor.execute("PRAGMA secure_delete=ON")
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
                "SQLite file or PostgreSQL database",
            )
        if config.shares_postgres_database:
            _log.warning(
                "the key store shares the PostgreSQL database %r with the records "
                "(MEXFI_KEYSTORE_SHARED_DATABASE=1): one pg_dump of it holds the records "
                "and the keys that open them, so restoring it revives destroyed data; "
                "give the key store a database of its own",
                self.keys_engine.url.database,
            )
        self._records = sessionmaker(self.records_engine, expire_on_commit=False)
        self._keys = sessionmaker(self.keys_engine, expire_on_commit=False)
        #: False on a store bound to a test's connections: nothing there is committed yet.
        self._purges = True

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
        clone._purges = False
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
        return UnitOfWork(self._records, self._keys, purge=self.purge if self._purges else None)

    def purge(self, *, keys: Collection[Table] = (), records: Collection[Table] = ()) -> None:
        """Erase from the files what deleting rows of these tables left there, after commit.

        SQLite: the WAL still holds every page as it was before the delete; a TRUNCATE
        checkpoint copies the zeroed pages (`secure_delete`) into the database and empties
        the WAL, in both files. PostgreSQL: VACUUM removes the deleted row versions from
        the heap (the tuples; the free space they leave inside a page is not zeroed: the
        vault has the key table rewritten for that, see `rewrite`). A failure is logged and
        the next purge catches up: the deletion itself has committed.
        """
        for engine, tables, schema in (
            (self.keys_engine, keys, self.config.keys_schema),
            (self.records_engine, records, self.config.records_schema),
        ):
            if not tables:
                continue
            try:
                if engine.dialect.name == "sqlite":
                    _checkpoint(engine)
                else:
                    _vacuum(engine, tables, schema)
            except Exception as exc:  # the deletion has committed: say it is not purged yet
                _log.warning(
                    "deleted rows of %s are not yet purged from the database files (%s); the "
                    "next destruction or `VACUUM` / `PRAGMA wal_checkpoint(TRUNCATE)` does it",
                    ", ".join(sorted(t.name for t in tables)),
                    type(exc).__name__,
                )

    def rewrite(self, *, keys: Collection[Table]) -> float | None:
        """PostgreSQL: rewrite these key-store tables into new files (`VACUUM FULL`) and
        return the seconds it took; None where there is nothing to rewrite.

        PostgreSQL never overwrites a deleted row: VACUUM frees its space but leaves its bytes
        in the page until a new row happens to land there. `VACUUM FULL` copies the live rows
        into a new file and empties the old one at commit (it is unlinked at the next
        checkpoint). It holds an ACCESS EXCLUSIVE lock on the table for its length, and waits
        for that lock at most `REWRITE_LOCK_TIMEOUT_MS` (`Unavailable` then: the next run
        tries again), so that a long transaction never queues every reader behind it.
        SQLite needs no rewrite (`secure_delete` zeroes deleted rows in place), nor does a
        store bound to a test's connections (nothing there is committed).
        """
        if not self._purges or self.keys_engine.dialect.name != "postgresql" or not keys:
            return None
        started = time.perf_counter()
        try:
            _vacuum(self.keys_engine, keys, self.config.keys_schema, full=True)
        except DBAPIError as exc:
            names = ", ".join(sorted(t.name for t in keys))
            locked = getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE
            raise Unavailable(
                f"{names} could not be rewritten: "
                + (
                    f"the table stayed in use for {REWRITE_LOCK_TIMEOUT_MS // 1000} s"
                    if locked
                    else f"the database refused ({type(exc.orig).__name__})"
                ),
                hint="the next retention run (or `mexfi keys compact`) tries again; until "
                "then the shredded keys are unreadable but still in the table's free space",
            ) from None
        return time.perf_counter() - started

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


#: How long a checkpoint waits for other connections' reads to end (the usual wait is 60 s).
CHECKPOINT_WAIT_MS = 5000


def _checkpoint(engine: Engine) -> None:
    """SQLite: copy the WAL into the database and truncate it to nothing."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        # Outside any transaction (the driver's autocommit mode, see `_sqlite_pragmas`).
        cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()
    finally:
        connection.close()
    if busy:
        raise Unavailable("another connection kept reading: the WAL was not truncated")


#: How long `Store.rewrite` waits for its table's lock: readers queue behind a waiting
#: VACUUM FULL, so it gives up early and the next run tries again.
REWRITE_LOCK_TIMEOUT_MS = 5000
#: PostgreSQL's SQLSTATE for a lock not granted within `lock_timeout`.
_LOCK_NOT_AVAILABLE = "55P03"


def _vacuum(engine: Engine, tables: Collection[Table], schema: str, *, full: bool = False) -> None:
    """PostgreSQL: VACUUM (or VACUUM FULL) these tables (it cannot run inside a transaction)."""
    preparer = engine.dialect.identifier_preparer
    translate = engine.get_execution_options().get("schema_translate_map") or {}
    names = sorted(
        {
            f"{preparer.quote_schema(translate.get(t.schema, t.schema) or schema)}."
            f"{preparer.quote(t.name)}"
            for t in tables
        }
    )
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if not full:
            connection.execute(text(f"VACUUM {', '.join(names)}"))
            return
        connection.execute(text(f"SET lock_timeout = {REWRITE_LOCK_TIMEOUT_MS}"))
        try:
            connection.execute(text(f"VACUUM FULL {', '.join(names)}"))
        finally:
            # The setting would go back to the pool with the connection.
            connection.execute(text("RESET lock_timeout"))


def open_store(config: StoreConfig | None = None) -> Store:
    return Store(config or StoreConfig.from_env())


class StoreNotFound(Unavailable):
    """No store (records database, key store, key file) where the configuration points."""


@dataclass(frozen=True)
class StorePresence:
    """Whether each database of a store holds a mexfi schema, and where each one is."""

    records: bool
    keys: bool
    records_url: str
    keys_url: str


def render_url(url: str) -> str:
    """A store URL as it may be shown: its password masked, a SQLite file's path absolute."""
    parsed = _normalise_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return f"sqlite:///{Path(str(parsed.database)).resolve()}"
    return parsed.render_as_string(hide_password=True)


def _holds_schema(url: str, schema: str, name: str) -> bool:
    """Whether the database at `url` holds a migrated mexfi schema; creates nothing (a SQLite
    file that is missing or empty holds none and is not opened)."""
    parsed = _normalise_url(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            return False
        path = Path(database)
        if not path.is_file() or path.stat().st_size == 0:
            return False
    elif backend == "postgresql":
        connect_args = {"options": f"-csearch_path={schema}", "connect_timeout": 10}
    else:
        _make_engine(url, schema, {}, False, None)  # refuses the backend, naming it
    engine = create_engine(parsed, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            return bool(
                inspect(connection).has_table(
                    "alembic_version", schema=schema if backend == "postgresql" else None
                )
            )
    except Exception as exc:
        raise Unavailable(
            f"the {name} database at {render_url(url)} cannot be reached ({type(exc).__name__})",
            hint="check MEXFI_DATABASE_URL / MEXFI_KEYSTORE_URL and that the server runs",
        ) from exc
    finally:
        engine.dispose()


def store_presence(config: StoreConfig | None = None, *, keys: bool = True) -> StorePresence:
    """Where the store's two databases are and whether each holds a mexfi schema, found
    without creating anything (no file, no schema): only `mexfi init` creates a store.
    With `keys=False` the key store is not looked at (an auditor holds the records only)."""
    config = config or StoreConfig.from_env()
    return StorePresence(
        records=_holds_schema(config.records_url, config.records_schema, "records"),
        keys=keys and _holds_schema(config.keys_url, config.keys_schema, "key store"),
        records_url=render_url(config.records_url),
        keys_url=render_url(config.keys_url),
    )


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


class Purge(Protocol):
    """`Store.purge`: erase the deleted rows of these key-store and records tables physically."""

    def __call__(
        self, *, keys: Collection[Table] = (), records: Collection[Table] = ()
    ) -> None: ...


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
        self,
        records_factory: Callable[[], Session],
        keys_factory: Callable[[], Session],
        *,
        purge: Purge | None = None,
    ) -> None:
        self._records_factory = records_factory
        self._keys_factory = keys_factory
        self._purge = purge
        self._purge_keys: set[Table] = set()
        self._purge_records: set[Table] = set()
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

    def purge_after_commit(
        self, *, keys: Collection[Table] = (), records: Collection[Table] = ()
    ) -> None:
        """Erase what deleting rows of these tables leaves in the files, once, after the steps.

        One purge a commit however many steps ask (a shredding batch is one commit). A
        store bound to a test's connections does not purge: nothing there is committed.
        """
        self._purge_keys.update(keys)
        self._purge_records.update(records)

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
        if self._purge_keys or self._purge_records:
            keys, records = self._purge_keys, self._purge_records
            self._purge_keys, self._purge_records = set(), set()
            if self._purge is not None:
                self._purge(keys=keys, records=records)

    def rollback(self) -> None:
        """Undo everything uncommitted, then commit the writes kept on rollback."""
        self._steps.clear()
        self._purge_keys.clear()
        self._purge_records.clear()
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
        # Unwrapped keys go with the operation, even while a caller still holds this object.
        self.info.clear()
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
