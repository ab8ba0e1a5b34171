"""Destruction that holds physically: after a retention run destroys drivers, their wrapped
data keys and payload ciphertexts are gone from the files a forensic carver reads (SQLite:
both databases and their WAL; PostgreSQL: the key-store database's files on disk, once the
run has rewritten the data-key table, and every heap tuple), the key store is a database of
its own on PostgreSQL unless explicitly shared, and shredded keys leave no unwrapped copy
in any cache."""

from __future__ import annotations

import logging
import os
import random
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, create_engine, event, select, text
from sqlalchemy.engine import make_url

from mexfi.clock import FixedClock
from mexfi.db import Store, StoreConfig
from mexfi.errors import Invalid
from mexfi.policy import Policy
from mexfi.retention import RetentionEngine
from mexfi.secrets import Secrets
from mexfi.vault import Vault
from mexfi.vault.models import DataKey, Record
from tests.cli.test_exit_codes import run
from tests.conftest import _PG_SKIP, POSTGRES_URL, REPO, _migrated
from tests.vault.conftest import DRIVER, SYSTEM

DESTROYED = 40
KEPT = 10


def _seed() -> int:
    seed = int(os.environ.get("MEXFI_TEST_SEED") or int.from_bytes(os.urandom(4), "big"))
    print(f"destruction test seed: {seed} (MEXFI_TEST_SEED={seed} repeats the values)")
    return seed


def _registration(rng: random.Random) -> dict[str, Any]:
    digits = "".join(rng.choice("0123456789") for _ in range(7))
    return {
        **DRIVER,
        "full_name": f"Sürücü {rng.randrange(10**9)} oğlu",
        "phone": f"+994 55 {digits[:3]} {digits[3:5]} {digits[5:]}",
        "photo": rng.randbytes(48),
        "licence_number": f"{rng.randrange(10**6):06d}",
    }


@dataclass
class Destroyed:
    """What a carver looks for, captured from the stores before the destruction."""

    keys: list[bytes]
    payloads: list[bytes]
    #: Wrapped keys of drivers the run keeps: the same search must find these.
    kept_keys: list[bytes]


def _destroy_by_retention(vault: Vault, clock: FixedClock) -> Destroyed:
    """Register drivers, some past their registration's retention, capture their wrapped keys
    and ciphertexts, then run retention as the worker does (which destroys the old ones)."""
    rng = random.Random(_seed())
    old = clock.now() - timedelta(days=2)
    with vault.unit_of_work() as uow:
        doomed = [
            vault.register(
                uow,
                policy_id="taxsee_driver",
                kind="driver",
                actor=SYSTEM,
                purpose="licence_agreement",
                records={"registration": _registration(rng)},
                at=old,
            ).id
            for _ in range(DESTROYED)
        ]
        kept = [
            vault.register(
                uow,
                policy_id="taxsee_driver",
                kind="driver",
                actor=SYSTEM,
                purpose="licence_agreement",
                records={"registration": _registration(rng)},
            ).id
            for _ in range(KEPT)
        ]
    with vault.store.keys() as session:
        keys = list(session.scalars(select(DataKey.wrapped).where(DataKey.subject_id.in_(doomed))))
        kept_keys = list(
            session.scalars(select(DataKey.wrapped).where(DataKey.subject_id.in_(kept)))
        )
    with vault.store.records() as session:
        payloads = list(
            session.scalars(select(Record.payload).where(Record.subject_id.in_(doomed)))
        )
    assert len(keys) == DESTROYED and len(payloads) == DESTROYED and len(kept_keys) == KEPT
    report = RetentionEngine(vault).run()
    assert report.status == "complete"
    with vault.store.keys() as session:
        left = session.scalars(select(DataKey.id).where(DataKey.subject_id.in_(doomed))).all()
    assert left == []
    # A payload is found by its start (nonce and first blocks): a long one may span pages.
    return Destroyed(keys, [p[:48] for p in payloads], kept_keys)


# --------------------------------------------------------------------------- SQLite


def _sqlite_files(store: Store) -> dict[str, bytes]:
    files = {}
    for engine in (store.records_engine, store.keys_engine):
        database = Path(str(engine.url.database))
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = database.with_name(database.name + suffix)
            if path.exists():
                files[path.name] = path.read_bytes()
    return files


def _found(needles: list[bytes], files: dict[str, bytes]) -> int:
    return sum(any(needle in blob for blob in files.values()) for needle in needles)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_files_and_wal_keep_no_shredded_key_or_destroyed_payload(
    fresh_vault: Vault, clock: FixedClock
) -> None:
    store = fresh_vault.store
    for engine in (store.records_engine, store.keys_engine):
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    gone = _destroy_by_retention(fresh_vault, clock)
    files = _sqlite_files(store)
    assert _found(gone.kept_keys, files) == KEPT
    assert _found(gone.keys, files) == 0
    assert _found(gone.payloads, files) == 0


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("left_out", ["secure_delete", "checkpoint"])
def test_sqlite_without_either_measure_a_carver_finds_the_shredded_keys(
    fresh_vault: Vault, clock: FixedClock, left_out: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attacks the two measures stop: the same search finds shredded keys and destroyed
    payloads in free pages once `secure_delete` is off (as upstream SQLite builds run), and
    in the WAL when it is not checkpointed after the destruction."""
    store = fresh_vault.store
    if left_out == "secure_delete":

        def insecure(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA secure_delete=OFF")

        for engine in (store.records_engine, store.keys_engine):
            event.listen(engine.pool, "connect", insecure)
            engine.dispose()
    else:

        def no_purge(**_: object) -> None:
            pass

        monkeypatch.setattr(store, "purge", no_purge)
    gone = _destroy_by_retention(fresh_vault, clock)
    files = _sqlite_files(store)
    found_keys, found_payloads = _found(gone.keys, files), _found(gone.payloads, files)
    print(
        f"without {left_out}: {found_keys}/{DESTROYED} shredded keys and "
        f"{found_payloads}/{DESTROYED} destroyed payloads carved from the files"
    )
    assert found_keys > 0 and found_payloads > 0


# --------------------------------------------------------------------------- PostgreSQL


def _admin() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture
def two_databases(tmp_path: Path) -> Iterator[StoreConfig]:
    """Records and key store in two new PostgreSQL databases of their own, dropped after.

    Nothing else connects to them, so VACUUM's horizon is this test's alone."""
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    suffix = uuid.uuid4().hex[:10]
    names = [f"mexfi_test_records_{suffix}", f"mexfi_test_keys_{suffix}"]
    admin = _admin()
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = make_url(POSTGRES_URL)
    urls = [base.set(database=name).render_as_string(hide_password=False) for name in names]
    try:
        yield StoreConfig(records_url=urls[0], keys_url=urls[1])
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _heap(engine: Engine, relation: str) -> tuple[list[bytes], bytes]:
    """The data of every tuple on the relation's pages (what pageinspect's item view recovers,
    dead tuples included) and the raw pages themselves."""
    with engine.connect() as connection:
        pages = connection.execute(
            text(
                "SELECT pg_relation_size(CAST(:r AS regclass)) / current_setting('block_size')::int"
            ),
            {"r": relation},
        ).scalar_one()
        tuples: list[bytes] = []
        raw = b""
        for page in range(int(pages)):
            block = connection.execute(
                text("SELECT get_raw_page(:r, :n)"), {"r": relation, "n": page}
            ).scalar_one()
            raw += bytes(block)
            tuples.extend(
                bytes(data)
                for data in connection.execute(
                    text("SELECT t_data FROM heap_page_items(:b) WHERE t_data IS NOT NULL"),
                    {"b": block},
                ).scalars()
            )
    return tuples, raw


def _data_directory(engine: Engine) -> Path:
    """The server's data directory, if this process can read its files (a local server, a
    superuser connection, root or the postgres user here); skips the test otherwise."""
    host = engine.url.host or ""
    if host not in ("", "localhost", "127.0.0.1", "::1"):
        pytest.skip(f"the PostgreSQL server at {host} is not on this machine: its files are not")
    try:
        with engine.connect() as connection:
            directory = Path(str(connection.execute(text("SHOW data_directory")).scalar_one()))
    except Exception as exc:
        pytest.skip(f"the data directory is not shown to this role ({type(exc).__name__})")
    if not os.access(directory / "base", os.R_OK | os.X_OK):
        pytest.skip(f"{directory} is not readable by this user (run as root or postgres)")
    return directory


def _checkpoint(engine: Engine) -> None:
    """Every dirty page written to the files, and files a rewrite left behind unlinked."""
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))


def _relation_path(engine: Engine, directory: Path, relation: str) -> Path:
    with engine.connect() as connection:
        path = connection.execute(
            text("SELECT pg_relation_filepath(CAST(:r AS regclass))"), {"r": relation}
        ).scalar_one()
    return directory / str(path)


def _database_files(engine: Engine, directory: Path) -> dict[str, bytes]:
    """Every file of the connection's database (heap, indexes, TOAST, maps, its catalogs)."""
    with engine.connect() as connection:
        oid = connection.execute(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        ).scalar_one()
    folder = directory / "base" / str(oid)
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def _wal_since(engine: Engine, directory: Path, start: str) -> dict[str, bytes]:
    """The WAL segments written from LSN `start` on (this server's other databases too)."""
    with engine.connect() as connection:
        first, last = connection.execute(
            text(
                "SELECT pg_walfile_name(CAST(:start AS pg_lsn)), "
                "pg_walfile_name(pg_current_wal_lsn())"
            ),
            {"start": start},
        ).one()
    wal = directory / "pg_wal"
    return {
        path.name: path.read_bytes()
        for path in sorted(wal.iterdir())
        if len(path.name) == 24 and first <= path.name <= last
    }


def _wal_position(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())


@pytest.mark.postgres
@pytest.mark.parametrize("rewritten", [True, False], ids=["rewritten", "vacuumed-only"])
def test_postgres_files_keep_no_shredded_key_once_the_run_rewrote_the_key_table(
    two_databases: StoreConfig,
    policies: dict[str, Policy],
    secrets: Secrets,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    rewritten: bool,
) -> None:
    """The carver reads the key-store database's files on disk. VACUUM alone frees the
    shredded keys' tuples but leaves their bytes in the pages (the issue found 39 of 40 there);
    the retention run's rewrite of the data-key table (VACUUM FULL) leaves none."""
    store = _migrated(two_databases)
    try:
        directory = _data_directory(store.keys_engine)
        vault = Vault(store, policies, secrets, clock=clock)
        if not rewritten:

            def no_rewrite(**_: object) -> None:
                return None

            monkeypatch.setattr(store, "rewrite", no_rewrite)
        data_keys = f'"{store.config.keys_schema}".data_keys'
        records = f'"{store.config.records_schema}".records'
        written_to = _relation_path(store.keys_engine, directory, data_keys)
        wal_start = _wal_position(store.keys_engine)
        gone = _destroy_by_retention(vault, clock)
        wal = _wal_since(store.keys_engine, directory, wal_start)
        for engine in (store.keys_engine, store.records_engine):
            _checkpoint(engine)
        key_files = _database_files(store.keys_engine, directory)
        heap = {"heap": _relation_path(store.keys_engine, directory, data_keys).read_bytes()}
        record_heap = {
            "heap": _relation_path(store.records_engine, directory, records).read_bytes()
        }
        record_files = _database_files(store.records_engine, directory)
        pending = vault.shreddings_pending_compaction()
    finally:
        store.dispose()
    # The search works: it finds every key the run kept, in the table's heap file.
    assert _found(gone.kept_keys, heap) == KEPT
    found_keys = _found(gone.keys, key_files)
    print(
        f"{'after the rewrite' if rewritten else 'VACUUM only'}: "
        f"{found_keys}/{DESTROYED} shredded wrapped keys in the key-store database's files; "
        f"{_found(gone.keys, wal)}/{DESTROYED} in the WAL segments written meanwhile "
        f"({len(wal)}); destroyed payloads: {_found(gone.payloads, record_heap)}/{DESTROYED} "
        f"in the records heap file, {_found(gone.payloads, record_files)}/{DESTROYED} in all "
        "the records database's files (rows deleted and vacuumed, their keys gone)"
    )
    if rewritten:
        assert found_keys == 0
        assert pending == 0
        # The file the keys were written to was emptied at commit and unlinked at the checkpoint.
        assert not written_to.exists() or written_to.stat().st_size == 0
    else:
        assert found_keys > 0  # what the rewrite is for
        assert pending > 0  # and it is still owed


@pytest.mark.postgres
def test_postgres_heap_keeps_no_shredded_key_or_destroyed_payload_as_a_tuple(
    two_databases: StoreConfig, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    store = _migrated(two_databases)
    try:
        for engine in (store.records_engine, store.keys_engine):
            try:
                with engine.begin() as connection:
                    connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
            except Exception as exc:
                pytest.skip(f"pageinspect cannot be created here ({type(exc).__name__})")
        vault = Vault(store, policies, secrets, clock=clock)
        gone = _destroy_by_retention(vault, clock)
        key_tuples, key_pages = _heap(store.keys_engine, f'"{store.config.keys_schema}".data_keys')
        record_tuples, record_pages = _heap(
            store.records_engine, f'"{store.config.records_schema}".records'
        )
    finally:
        store.dispose()

    def in_tuples(needle: bytes, tuples: list[bytes]) -> bool:
        return any(needle in data for data in tuples)

    assert sum(in_tuples(k, key_tuples) for k in gone.kept_keys) == KEPT
    assert sum(in_tuples(k, key_tuples) for k in gone.keys) == 0
    assert sum(in_tuples(p, record_tuples) for p in gone.payloads) == 0
    # The run rewrote the key table: not even its free space holds a shredded key. The
    # records table is only vacuumed: its free space keeps payload bytes, sealed under keys
    # that exist nowhere any more.
    assert sum(k in key_pages for k in gone.keys) == 0
    print(
        f"raw heap pages: {sum(k in key_pages for k in gone.keys)}/{DESTROYED} shredded keys, "
        f"{sum(p in record_pages for p in gone.payloads)}/{DESTROYED} destroyed payloads left "
        "in free space"
    )
    # One pg_dump of the records database holds no key at all: the keys are elsewhere.
    url = make_url(two_databases.records_url)
    dump = subprocess.run(
        [
            "pg_dump",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "--data-only",
            str(url.database),
        ],
        check=True,
        capture_output=True,
    ).stdout
    assert b"data_keys" not in dump


@pytest.mark.postgres
def test_postgres_keeps_no_planner_sample_of_keys_or_payloads(
    two_databases: StoreConfig, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    """ANALYZE copies a sample of each column into `pg_statistic`, which no destruction and
    no rewrite of ours reaches: the ciphertext columns keep no statistics at all."""
    store = _migrated(two_databases)
    try:
        vault = Vault(store, policies, secrets, clock=clock)
        _destroy_by_retention(vault, clock)
        sampled: dict[str, int] = {}
        analysed: dict[str, int] = {}
        config = store.config
        for engine, schema, tables, column in (
            (store.keys_engine, config.keys_schema, ("data_keys",), "wrapped"),
            (
                store.records_engine,
                config.records_schema,
                ("records", "quarantined_records"),
                "payload",
            ),
            (store.records_engine, config.passive_schema, ("passive_records",), "payload"),
        ):
            with engine.begin() as connection:
                for table in tables:
                    connection.execute(text(f'ANALYZE "{schema}".{table}'))
                    sampled[table] = connection.execute(
                        text(
                            "SELECT count(*) FROM pg_stats WHERE schemaname = :schema "
                            "AND tablename = :table AND attname = :column"
                        ),
                        {"schema": schema, "table": table, "column": column},
                    ).scalar_one()
                analysed[schema] = connection.execute(
                    text("SELECT count(*) FROM pg_stats WHERE schemaname = :schema"),
                    {"schema": schema},
                ).scalar_one()
    finally:
        store.dispose()
    assert sampled == dict.fromkeys(sampled, 0)
    # The check can fail: the tables' other columns (ids, times) do get a sample.
    assert analysed[config.keys_schema] > 0 and analysed[config.records_schema] > 0


# --------------------------------------------------------------------------- one database


SAME_DATABASE = "postgresql+psycopg://mexfi@127.0.0.1:5432/mexfi"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("MEXFI_DATABASE_URL", "MEXFI_KEYSTORE_URL", "MEXFI_KEYSTORE_SHARED_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "keys_url",
    [
        None,  # the old default: the records' database, schema mexfi_keys
        SAME_DATABASE,
        "postgresql://mexfi@localhost/mexfi",  # the same server and database, spelt otherwise
    ],
)
def test_a_key_store_in_the_records_database_is_refused(
    clean_env: pytest.MonkeyPatch, keys_url: str | None
) -> None:
    clean_env.setenv("MEXFI_DATABASE_URL", SAME_DATABASE)
    if keys_url is not None:
        clean_env.setenv("MEXFI_KEYSTORE_URL", keys_url)
    with pytest.raises(Invalid) as refused:
        StoreConfig.from_env()
    assert "pg_dump" in str(refused.value)
    assert "MEXFI_KEYSTORE_SHARED_DATABASE=1" in (refused.value.hint or "")
    with pytest.raises(Invalid):
        StoreConfig(records_url=SAME_DATABASE, keys_url=keys_url or SAME_DATABASE)


def test_a_key_store_database_of_its_own_is_accepted(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MEXFI_DATABASE_URL", SAME_DATABASE)
    for other in (
        "postgresql+psycopg://mexfi@127.0.0.1:5432/mexfi_keys",
        "postgresql+psycopg://mexfi@keys.internal:5432/mexfi",
        "postgresql+psycopg://mexfi@127.0.0.1:5433/mexfi",
    ):
        clean_env.setenv("MEXFI_KEYSTORE_URL", other)
        config = StoreConfig.from_env()
        assert config.keys_url == other and not config.shares_postgres_database


def test_a_shared_database_explicitly_allowed_warns_what_it_costs(
    clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clean_env.setenv("MEXFI_DATABASE_URL", SAME_DATABASE)
    clean_env.setenv("MEXFI_KEYSTORE_SHARED_DATABASE", "1")
    config = StoreConfig.from_env()
    assert config.keystore_shared_database and config.keys_url == SAME_DATABASE
    with caplog.at_level(logging.WARNING, logger="mexfi.db"):
        Store(config).dispose()
    [warning] = [r for r in caplog.records if r.name == "mexfi.db"]
    assert warning.levelno == logging.WARNING
    assert "one pg_dump" in warning.getMessage() and "revives destroyed data" in (
        warning.getMessage()
    )
    clean_env.setenv("MEXFI_KEYSTORE_SHARED_DATABASE", "maybe")
    with pytest.raises(Invalid, match="MEXFI_KEYSTORE_SHARED_DATABASE"):
        StoreConfig.from_env()


def test_the_cli_refuses_a_shared_database_with_exit_3(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("MEXFI_POLICY_DIR", str(REPO / "policies"))
    clean_env.setenv("MEXFI_DATABASE_URL", SAME_DATABASE)
    code, err = run(clean_env, capsys, "db", "upgrade")
    assert code == 3
    assert "pg_dump" in err and "MEXFI_KEYSTORE_SHARED_DATABASE" in err


# --------------------------------------------------------------------------- caches


def test_shredded_keys_leave_the_unit_of_work_cache_at_once(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = vault.register(
            uow,
            policy_id="taxsee_driver",
            kind="driver",
            actor=SYSTEM,
            purpose="licence_agreement",
            records={"registration": DRIVER},
        ).id
        vault.write(
            uow,
            driver,
            "vehicle_facts",
            {"make": "Toyota", "model": "Prius", "colour": "white", "plate_digits": "123"},
            actor=SYSTEM,
            purpose="service_operation",
        )
    with vault.unit_of_work() as uow:
        # Both keys unwrapped into this operation's cache by a read...
        vault.read(uow, driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
        vault.read(uow, driver, ["vehicle_facts"], purpose="service_operation", actor=SYSTEM)
        cached = {k for cache in uow.info.values() if isinstance(cache, dict) for k in cache}
        report = vault.destroy(
            uow, driver, ["registration"], reason="retention", actor=SYSTEM, clauses=["TX-7.7"]
        )
        assert set(report.key_ids) <= cached
        uow.commit()
        # ...and the shredded one gone from it as its deletion commits, the other kept.
        cached = {k for cache in uow.info.values() if isinstance(cache, dict) for k in cache}
        assert not cached & set(report.key_ids) and cached
    # Closing the operation drops every unwrapped key it held.
    assert uow.info == {}


def test_no_process_wide_cache_in_the_vault_or_the_secrets() -> None:
    """Raw keys live in a unit of work only (the issue found an `lru_cache(65536)` of them)."""
    sources = [*sorted((REPO / "src" / "mexfi" / "vault").glob("*.py"))]
    sources.append(REPO / "src" / "mexfi" / "secrets.py")
    for path in sources:
        code = path.read_text(encoding="utf-8")
        for marker in ("lru_cache", "@cache", "functools.cache", "cached_property"):
            assert marker not in code, f"{path.name} caches with {marker}"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_one_purge_per_commit_after_every_step_and_none_on_rollback(
    fresh_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    purges: list[tuple[set[str], set[str]]] = []

    def recorded(*, keys: Any = (), records: Any = ()) -> None:
        purges.append(({t.name for t in keys}, {t.name for t in records}))

    monkeypatch.setattr(fresh_store, "purge", recorded)
    keys_table, records_table = cast(Table, DataKey.__table__), cast(Table, Record.__table__)
    with fresh_store.unit_of_work() as uow:
        for _ in range(2):  # two shredding batches' steps in one commit
            uow.then(
                lambda done: done.purge_after_commit(keys=[keys_table], records=[records_table])
            )
    assert purges == [({"data_keys"}, {"records"})]
    with pytest.raises(RuntimeError), fresh_store.unit_of_work() as uow:
        uow.purge_after_commit(keys=[keys_table])
        raise RuntimeError("the operation failed: nothing was deleted")
    assert len(purges) == 1
