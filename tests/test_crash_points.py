"""Two databases cannot commit atomically: the order of writes across the key store and the
records store is what keeps them consistent (see `mexfi.db`). This test proves the order.

Each operation is run once to list the crash points it passes (every commit of either
store, and each step of a shredding), then once per point on a fresh store, killed with
SIGKILL right there. After each kill:

- no record is left without its key, unless pending evidence says it is being destroyed;
- no key that existed is gone without evidence naming it;
- no request is stuck half-way (`received`, `verifying`);
- the audit log verifies, with no false alarm;

and after a rerun (the retention run, which finishes pending destructions, then the
operation again if its own commit never happened) the job is done: nothing pending,
the outcome the operation promised.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from mexfi.audit import verify_log
from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.policy import Policy
from mexfi.requests import WrittenDetails, answer_request
from mexfi.retention import RetentionEngine
from mexfi.secrets import Secrets, save_key_file
from mexfi.vault import RecordCreate, Vault
from tests.conftest import REPO, _drop_schemas, _migrated, make_store_config
from tests.requests.conftest import add
from tests.vault.conftest import DPO, SERVICE, SUPPORT
from tests.vault.test_vault import register_driver, register_rider

pytestmark = pytest.mark.slow

#: The store's clock when the scenario is set up; commands run a day and a half later.
SETUP = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = SETUP + timedelta(hours=36)
COMPLETE = WrittenDetails(
    id_document_series="AZE",
    id_document_number="17171717",
    id_issue_date="2019-05-04",
    id_issue_authority="ASAN xidmət 3",
    fin="5ZX7K2Q",
    contract_number="TX-2024-0042",
    contract_date="2024-02-01",
    signed=True,
)


@dataclass
class Scenario:
    store: Store
    vault: Vault
    directory: Path
    env: dict[str, str]
    ids: dict[str, str]
    keys_before: set[str]


def _sql(store: Store, query: str, *, keys: bool = False) -> list[tuple[object, ...]]:
    if not keys and not store.is_sqlite:
        query = query.replace("passive_records", f'"{store.config.passive_schema}".passive_records')
    with store.keys() if keys else store.records() as session:
        return [tuple(row) for row in session.execute(text(query))]


@contextmanager
def _setup(backend: str, directory: Path, policies: dict[str, Policy]) -> Iterator[Scenario]:
    """A fresh store with a rider, a driver and two requests in progress, on `backend`."""
    config, schemas = make_store_config(backend, directory)
    store = _migrated(config)
    secrets = Secrets.generate("mk-crash")
    vault = Vault(store, policies, secrets, clock=FixedClock(SETUP))
    ids: dict[str, str] = {}
    long_ago = SETUP - timedelta(days=400)
    with vault.unit_of_work() as uow:
        ids["rider"] = register_rider(vault, uow)
        ids["driver"] = register_driver(vault, uow)
        vault.write_many(
            uow,
            [
                RecordCreate(
                    ids["rider"],
                    "card_use",
                    {"place": "Sahil", "used_at": long_ago.isoformat(), "kind": "card"},
                    long_ago,
                )
                for _ in range(3)
            ],
            actor=SERVICE,
            purpose="service_provision",
        )
        ids["profile"] = (
            vault.read(uow, ids["rider"], ["profile"], purpose="service_provision", actor=SUPPORT)
            .records[0]
            .id
        )
    for name, kind, subject, written in (
        ("destruction", "destruction", ids["driver"], COMPLETE),
        ("rectification", "rectification", ids["rider"], None),
    ):
        with vault.unit_of_work() as uow:
            policy_id = vault.subject(uow, subject).policy_id
        # Received and verified through the real flow (a code sent to the subject's phone).
        request = add(
            vault,
            policy_id=policy_id,
            kind=kind,
            channel="written",
            actor=DPO,
            subject_id=subject,
            written=written,
        )
        assert request.state.value == "in_progress", request.reasons
        ids[name] = request.id
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("MEXFI_") and name != "MEXFI_TEST_POSTGRES_URL":
            del env[name]
    env.update(
        MEXFI_DATA_DIR=str(directory / "data"),
        MEXFI_KEY_FILE=str(save_key_file(secrets, directory / "keys.json")),
        MEXFI_AUDIT_SIGNING_KEY=base64.b64encode(secrets.audit_signing_seed).decode(),
        MEXFI_POLICY_DIR=str(REPO / "policies"),
        MEXFI_DATABASE_URL=config.records_url,
        MEXFI_KEYSTORE_URL=config.keys_url,
        MEXFI_RECORDS_SCHEMA=config.records_schema,
        MEXFI_KEYS_SCHEMA=config.keys_schema,
        MEXFI_PASSIVE_SCHEMA=config.passive_schema,
        MEXFI_KEYSTORE_SHARED_DATABASE="1" if config.keystore_shared_database else "0",
        # Who acts, where a person acts (`--actor` has no default).
        MEXFI_ACTOR=DPO.id,
    )
    keys_before = {str(row[0]) for row in _sql(store, "SELECT id FROM data_keys", keys=True)}
    try:
        yield Scenario(store, vault, directory, env, ids, keys_before)
    finally:
        store.dispose()
        if schemas:
            _drop_schemas(*schemas)


def _mexfi(
    scenario: Scenario, args: list[str], *, crash_at: str | None = None, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(scenario.env)
    if crash_at is not None:
        env["MEXFI_TEST_CRASH_AT"] = crash_at
    if log is not None:
        env["MEXFI_TEST_CRASH_LOG"] = str(log)
    return subprocess.run(
        [sys.executable, "-m", "mexfi", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=scenario.directory,
    )


def _consistent(scenario: Scenario) -> None:
    store = scenario.store
    keys = {str(row[0]) for row in _sql(store, "SELECT id FROM data_keys", keys=True)}
    pending = {
        key
        for (listed,) in _sql(
            store, "SELECT key_ids FROM destruction_evidence WHERE status = 'pending'"
        )
        for key in str(listed).split(",")
        if key
    }
    evidenced = {
        key
        for (listed,) in _sql(store, "SELECT key_ids FROM destruction_evidence")
        for key in str(listed).split(",")
        if key
    }
    for table in ("records", "passive_records"):
        orphans = {str(row[0]) for row in _sql(store, f"SELECT key_id FROM {table}")} - keys
        assert orphans <= pending, f"{table}: records without a key and no pending evidence"
    assert scenario.keys_before - keys <= evidenced, "a key was destroyed without evidence"
    stuck = _sql(store, "SELECT id FROM subject_requests WHERE state IN ('received', 'verifying')")
    assert stuck == [], "a request is stuck half-way"
    with store.records() as session:
        report = verify_log(session, public_key=scenario.vault.audit.public_key)
    assert report.ok, report.problems


def _state(scenario: Scenario, request: str) -> str:
    return str(
        _sql(scenario.store, f"SELECT state FROM subject_requests WHERE id = '{request}'")[0][0]
    )


@dataclass(frozen=True)
class Operation:
    name: str
    #: The command, run in a process of its own (the one that is killed).
    args: Callable[[Scenario], list[str]]
    #: Whether the operation's own commit happened...
    done: Callable[[Scenario], bool]
    #: ... else it is done again, in this process, after recovery.
    redo: Callable[[Scenario], None]
    #: What must hold once it is done and recovery has run.
    check: Callable[[Scenario], None]


def _answer(scenario: Scenario, request: str, changes: dict[str, dict[str, str]]) -> None:
    with scenario.vault.unit_of_work() as uow:
        answer_request(scenario.vault, uow, scenario.ids[request], actor=DPO, changes=changes)


def _recover(scenario: Scenario) -> None:
    """What `mexfi retention run` does first: finish the destructions a crash left pending
    (and then apply the rules, as of a day and a half after the setup)."""
    RetentionEngine(scenario.vault).run(now=LATER)


def _destroyed(scenario: Scenario) -> None:
    assert _state(scenario, scenario.ids["destruction"]) == "answered"
    driver = scenario.ids["driver"]
    assert _sql(scenario.store, f"SELECT id FROM records WHERE subject_id = '{driver}'") == []
    left = _sql(
        scenario.store, f"SELECT id FROM data_keys WHERE subject_id = '{driver}'", keys=True
    )
    assert left == []


def _rectified(scenario: Scenario) -> None:
    assert _state(scenario, scenario.ids["rectification"]) == "answered"
    with scenario.vault.unit_of_work() as uow:
        [record] = scenario.vault.read(
            uow, scenario.ids["rider"], ["profile"], purpose="service_provision", actor=SUPPORT
        ).records
    assert record.values["first_name"] == "Lalə"
    # The old value's key is gone: only the new one seals the profile.
    profile_keys = _sql(
        scenario.store,
        f"SELECT id FROM data_keys WHERE subject_id = '{scenario.ids['rider']}' "
        "AND category = 'profile'",
        keys=True,
    )
    assert len(profile_keys) == 1


def _swept(scenario: Scenario) -> None:
    assert len(_sql(scenario.store, "SELECT id FROM passive_records")) == 3
    assert _sql(scenario.store, "SELECT id FROM records WHERE category = 'card_use'") == []
    registrations = _sql(scenario.store, "SELECT id FROM records WHERE category = 'registration'")
    assert registrations == []


OPERATIONS = [
    Operation(
        "answer a destruction request",
        lambda s: [
            "requests",
            "answer",
            s.ids["destruction"],
            "--no-pdf",
            "--out",
            "answers",
            "--yes",
        ],
        lambda s: _state(s, s.ids["destruction"]) == "answered",
        lambda s: _answer(s, "destruction", {}),
        _destroyed,
    ),
    Operation(
        "answer a rectification request",
        lambda s: [
            "requests",
            "answer",
            s.ids["rectification"],
            "--set",
            f"{s.ids['profile']}.first_name=Lalə",
            "--no-pdf",
            "--out",
            "answers",
        ],
        lambda s: _state(s, s.ids["rectification"]) == "answered",
        lambda s: _answer(s, "rectification", {s.ids["profile"]: {"first_name": "Lalə"}}),
        _rectified,
    ),
    Operation(
        "the retention sweeps",
        lambda s: ["retention", "run", "--now", LATER.isoformat(), "--batch-size", "1"],
        lambda s: False,
        _recover,
        _swept,
    ),
]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.name)
def test_a_crash_at_every_point_leaves_the_stores_consistent_and_a_rerun_finishes(
    operation: Operation, backend: str, tmp_path: Path, policies: dict[str, Policy]
) -> None:
    # The points this operation passes, from a run that is not killed.
    log = tmp_path / "points.log"
    with _setup(backend, tmp_path / "probe", policies) as scenario:
        result = _mexfi(scenario, operation.args(scenario), log=log)
        assert result.returncode == 0, result.stderr[-2000:]
        operation.check(scenario)
        _consistent(scenario)
    points = log.read_text(encoding="utf-8").split()
    assert any(p.startswith("uow.keys-committed") for p in points), points
    assert any(p.startswith("uow.records-committed") for p in points), points

    for index, point in enumerate(points):
        with _setup(backend, tmp_path / f"crash-{index}", policies) as scenario:
            _crash_and_recover(operation, scenario, point)


def _crash_and_recover(operation: Operation, scenario: Scenario, point: str) -> None:
    killed = _mexfi(scenario, operation.args(scenario), crash_at=point)
    assert killed.returncode == -9, (point, killed.stderr[-2000:])
    _consistent(scenario)
    # Recovery: the retention run finishes what a crash left pending...
    _recover(scenario)
    _consistent(scenario)
    # ... and an operation whose own commit never happened is simply done again.
    if not operation.done(scenario):
        operation.redo(scenario)
    operation.check(scenario)
    assert (
        _sql(scenario.store, "SELECT id FROM destruction_evidence WHERE status = 'pending'") == []
    ), point
    _consistent(scenario)
