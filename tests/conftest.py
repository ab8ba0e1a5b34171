"""Shared fixtures: a store on SQLite and on PostgreSQL, fresh secrets, a fixed clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mexfi.clock import FixedClock
from mexfi.db import Store, StoreConfig
from mexfi.policy.loader import load_bundled_policies
from mexfi.policy.schema import Policy
from mexfi.secrets import Secrets
from mexfi.vault import Vault

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "MEXFI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_reason() -> str | None:
    """None when PostgreSQL answers, else why the PostgreSQL tests are skipped."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return (
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}); "
            "these tests need it: start it or set MEXFI_TEST_POSTGRES_URL"
        )
    return None


_PG_SKIP = _postgres_reason()


def _drop_schemas(*schemas: str) -> None:
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        for schema in schemas:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def make_store_config(backend: str, tmp_path: Path) -> tuple[StoreConfig, list[str]]:
    """A fresh, empty store config on `backend`, and the PostgreSQL schemas to drop after."""
    if backend == "sqlite":
        return (
            StoreConfig(
                records_url=f"sqlite:///{tmp_path / 'records.sqlite'}",
                keys_url=f"sqlite:///{tmp_path / 'keys.sqlite'}",
            ),
            [],
        )
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    suffix = uuid.uuid4().hex[:10]
    records, keys, passive = f"t_{suffix}", f"t_{suffix}_keys", f"t_{suffix}_passive"
    return (
        StoreConfig(
            records_url=POSTGRES_URL,
            keys_url=POSTGRES_URL,
            records_schema=records,
            keys_schema=keys,
            passive_schema=passive,
            # Schemas of one scratch database, dropped after: no backup of it is ever kept.
            keystore_shared_database=True,
        ),
        [records, keys, passive],
    )


@pytest.fixture(autouse=True)
def _isolated_mexfi_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every test gets a data directory of its own and none of the caller's MEXFI_ settings:
    a `.mexfi/` left in the working directory (by README's main job, say) holds keys that
    would otherwise leak into tests and their subprocesses. MEXFI_TEST_* stay."""
    for name in list(os.environ):
        if name.startswith("MEXFI_") and not name.startswith("MEXFI_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path_factory.mktemp("mexfi-data")))
    # The staff id commands record as the person acting (they refuse without one).
    monkeypatch.setenv("MEXFI_ACTOR", "dpo-test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _migrated(config: StoreConfig) -> Store:
    from mexfi.migrations import upgrade_store

    store = Store(config)
    upgrade_store(store)
    return store


@pytest.fixture(scope="session")
def sqlite_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The test session's SQLite store, migrated once."""
    config, _ = make_store_config("sqlite", tmp_path_factory.mktemp("store"))
    store = _migrated(config)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def postgres_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The test session's PostgreSQL store (schemas of its own), migrated once."""
    config, schemas = make_store_config("postgres", tmp_path_factory.mktemp("pg"))
    store = _migrated(config)
    yield store
    store.dispose()
    _drop_schemas(*schemas)


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """The session's migrated store on each backend, inside a transaction rolled back after
    the test: every commit of the test releases a savepoint (Netflix Dispatch's pattern)."""
    base: Store = request.getfixturevalue(f"{backend}_base")
    with base.records_engine.connect() as records, base.keys_engine.connect() as keys:
        records_transaction = records.begin()
        keys_transaction = keys.begin()
        try:
            yield base.bound(records, keys)
        finally:
            records_transaction.rollback()
            keys_transaction.rollback()


@pytest.fixture
def fresh_store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """An empty store of its own, migrated for this test, with real commits: for tests that
    read it through other connections or processes (the CLI, crash tests, tampering)."""
    config, schemas = make_store_config(backend, tmp_path)
    store = _migrated(config)
    try:
        yield store
    finally:
        store.dispose()
        if schemas:
            _drop_schemas(*schemas)


@pytest.fixture
def secrets() -> Secrets:
    return Secrets.generate("mk-test-1")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def policies() -> dict[str, Policy]:
    return load_bundled_policies()


@pytest.fixture
def vault(store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock) -> Vault:
    """A vault over both bundled policies, on each backend, with a fixed clock."""
    return Vault(store, policies, secrets, clock=clock)


@pytest.fixture
def fresh_vault(
    fresh_store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> Vault:
    """A vault over a store of its own with real commits (see `fresh_store`)."""
    return Vault(fresh_store, policies, secrets, clock=clock)
