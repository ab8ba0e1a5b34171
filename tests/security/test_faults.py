"""Faults stay where they are (issue 10, item 5): one unreadable record, one broken policy
file, one failed run or one killed run never stops anyone else's destruction.

The probe that found it: one flipped byte in one BakıKart record made `retention run` exit
3, and the Taxsee rule after it never ran (50 of 50 due registrations stayed); a broken
`bakikart.yaml` blocked all Taxsee destruction; `mexfi worker` died on its first error;
killed runs stayed `running` forever.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mexfi.audit import AuditAction
from mexfi.cli.app import main
from mexfi.clock import FixedClock
from mexfi.db import Store, UnitOfWork
from mexfi.policy import Policy
from mexfi.retention import (
    RetentionEngine,
    RuleOutcome,
    RunReport,
    certificates,
    retention_status,
    retry_delay,
    run_worker,
)
from mexfi.retention.models import RetentionRun
from mexfi.secrets import Secrets
from mexfi.vault import RecordCreate, Vault
from tests.conftest import REPO
from tests.retention.test_retention_crash import _env
from tests.retention.test_retention_engine import count, tap
from tests.vault.conftest import DPO, DRIVER, SERVICE, SYSTEM
from tests.vault.test_vault import register_rider

RIDERS = 3
TAPS = 4
DRIVERS = 50


def fill(vault: Vault, clock: FixedClock) -> tuple[list[str], list[str]]:
    """Riders with taps older than a year (due for the passive tier) and 50 drivers whose
    registration data is due for destruction a day from now."""
    long_ago = clock.now() - timedelta(days=400)
    with vault.unit_of_work() as uow:
        riders = [register_rider(vault, uow, f"+994 55 700 00 {i:02d}") for i in range(RIDERS)]
        vault.write_many(
            uow,
            [
                RecordCreate(r, "card_use", tap(long_ago.isoformat()), long_ago)
                for r in riders
                for _ in range(TAPS)
            ],
            actor=SERVICE,
            purpose="service_provision",
        )
        drivers = [
            s.id
            for s in vault.register_many(
                uow, policy_id="taxsee_driver", kind="driver", count=DRIVERS, actor=SYSTEM
            )
        ]
        vault.write_many(
            uow,
            [RecordCreate(d, "registration", DRIVER) for d in drivers],
            actor=SYSTEM,
            purpose="licence_agreement",
        )
    return riders, drivers


def flip_one_byte(store: Store, subject_id: str) -> tuple[str, bytes]:
    """Flip one bit in the middle of one of the subject's taps; (its id, the altered payload)."""
    with store.records() as session:
        record_id, payload = session.execute(
            text(
                "SELECT id, payload FROM records WHERE subject_id = :s AND category = 'card_use' "
                "ORDER BY id LIMIT 1"
            ),
            {"s": subject_id},
        ).one()
        altered = bytearray(payload)
        altered[len(altered) // 2] ^= 0x01
        session.execute(
            text("UPDATE records SET payload = :p WHERE id = :id"),
            {"p": bytes(altered), "id": record_id},
        )
        session.commit()
    return str(record_id), bytes(altered)


def outcome(report: RunReport, rule_id: str) -> RuleOutcome:
    return next(r for r in report.rules if r.rule_id == rule_id)


def test_one_unreadable_record_is_quarantined_and_every_other_rule_still_runs(
    vault: Vault, store: Store, clock: FixedClock
) -> None:
    riders, _ = fill(vault, clock)
    bad_id, altered = flip_one_byte(store, riders[0])
    clock.advance(hours=24)
    # Small batches: the sweeps go on past the batch that met the bad record.
    report = RetentionEngine(vault, batch_size=20).run()

    taxsee = outcome(report, "registration_destroyed")
    assert (taxsee.due, taxsee.done, taxsee.records, taxsee.error) == (50, 50, 50, None)
    assert count(store, "records", "category = 'registration'") == 0
    bakikart = outcome(report, "passive_after_one_year")
    assert bakikart.error is None and bakikart.quarantined == 1
    assert bakikart.records == RIDERS * TAPS - 1 == count(store, "passive_records")
    assert report.status == "complete" and report.errors == [] and report.faulted

    # Moved aside, in neither tier, with its evidence and no plaintext.
    assert count(store, "records", f"id = '{bad_id}'") == 0
    with store.records() as session:
        row = session.execute(
            text(
                "SELECT subject_id, category, tier, reason, detected_by, payload, payload_sha256 "
                "FROM quarantined_records"
            )
        ).one()
    assert tuple(row[:5]) == (
        riders[0],
        "card_use",
        "active",
        "authentication_failed",
        "passive_after_one_year",
    )
    assert bytes(row.payload) == altered
    assert row.payload_sha256 == hashlib.sha256(altered).hexdigest()
    with store.records() as session:
        [entry] = vault.audit.entries(session, actions=[AuditAction.QUARANTINE])
    assert (entry.count, entry.reason, entry.reference) == (
        1,
        "authentication_failed",
        "passive_after_one_year",
    )
    assert entry.subjects == {vault.pseudonym(riders[0]): 1}

    with vault.unit_of_work() as uow:
        status = retention_status(vault, uow)
    assert status.quarantined_total == 1
    assert status.quarantine_counts == {("bakikart", "card_use", "authentication_failed"): 1}
    assert [q.record_id for q in status.quarantined] == [bad_id]
    assert status.runs[0].id == report.run_id and status.runs[0].quarantined == 1

    # The next run has nothing left to trip on.
    clock.advance(minutes=5)
    again = RetentionEngine(vault).run()
    assert not again.faulted and outcome(again, "passive_after_one_year").quarantined == 0


def test_destroying_a_subject_destroys_its_quarantined_records(
    vault: Vault, store: Store, clock: FixedClock
) -> None:
    riders, _ = fill(vault, clock)
    rider = riders[1]
    flip_one_byte(store, rider)
    RetentionEngine(vault).run()
    assert count(store, "quarantined_records", f"subject_id = '{rider}'") == 1
    bakikart = vault.policy("bakikart")
    with vault.unit_of_work() as uow:
        vault.destroy(
            uow,
            rider,
            [c.id for c in bakikart.categories_of("rider")],
            reason="test",
            actor=DPO,
        )
    assert count(store, "quarantined_records") == 0
    with vault.unit_of_work() as uow:
        [certificate] = certificates(vault, uow, rider, actor=DPO)
    # phone, profile, the taps that moved to the passive tier and the quarantined one
    assert certificate.records_destroyed == 2 + TAPS


def test_a_record_that_would_not_open_in_a_rekeyed_scope_goes_with_the_old_key(
    vault: Vault, store: Store, clock: FixedClock
) -> None:
    riders, _ = fill(vault, clock)
    rider = riders[0]
    bad_id, _ = flip_one_byte(store, rider)
    with store.records() as session:
        doomed = session.scalar(
            text(
                "SELECT id FROM records WHERE subject_id = :s AND category = 'card_use' "
                "AND id <> :bad ORDER BY id LIMIT 1"
            ),
            {"s": rider, "bad": bad_id},
        )
    quarantined: list[int] = []
    with vault.unit_of_work() as uow:
        # Destroying one tap reseals the others under a fresh key: the bad one cannot be.
        vault.destroy_records(
            uow,
            rider,
            "card_use",
            [str(doomed)],
            reason="test",
            actor=DPO,
            on_quarantine=quarantined.append,
        )
    assert quarantined == [1]
    assert count(store, "records", f"subject_id = '{rider}' AND category = 'card_use'") == TAPS - 2
    # Still sealed under the retired key: shredded with it.
    assert count(store, "quarantined_records") == 0
    with store.records() as session:
        [entry] = vault.audit.entries(session, actions=[AuditAction.QUARANTINE])
    assert (entry.count, entry.reference) == (1, "test")


@pytest.fixture
def cli_env(
    fresh_store: Store, secrets: Secrets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment of a `mexfi` command over `fresh_store` (a key file, the policies)."""
    env = _env(fresh_store, secrets, tmp_path)
    env["MEXFI_DATA_DIR"] = str(tmp_path / "data")
    env.pop("MEXFI_DEBUG", None)
    for name, value in env.items():
        if name.startswith("MEXFI_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("MEXFI_DEBUG", raising=False)
    return env


def mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `mexfi ARGS` as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def test_cli_flipped_byte_exits_1_destroys_every_due_registration_and_reports_it(
    fresh_vault: Vault,
    fresh_store: Store,
    clock: FixedClock,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    riders, _ = fill(fresh_vault, clock)
    bad_id, _ = flip_one_byte(fresh_store, riders[2])
    # The clock fixture's day is long past: everything filled is due now.
    code, out, err = mexfi(monkeypatch, capsys, "retention", "run", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["status"] == "complete" and report["quarantined"] == 1
    taxsee = next(r for r in report["rules"] if r["rule_id"] == "registration_destroyed")
    assert (taxsee["done"], taxsee["records"]) == (DRIVERS, DRIVERS)
    assert count(fresh_store, "records", "category = 'registration'") == 0
    assert "quarantined: 1 record" in err

    code, out, err = mexfi(monkeypatch, capsys, "retention", "status", "--format", "json")
    assert code == 1
    status = json.loads(out)
    assert status["quarantine"]["total"] == 1
    assert [q["record_id"] for q in status["quarantine"]["records"]] == [bad_id]
    assert status["runs"][0]["quarantined"] == 1 and status["broken_policy_files"] == {}
    code, out, _ = mexfi(monkeypatch, capsys, "retention", "status")
    assert code == 1 and bad_id in out and "1 quarantined record" in out

    # A later clean run exits 0; the quarantine stays listed until its subject is destroyed.
    assert mexfi(monkeypatch, capsys, "retention", "run")[0] == 0
    code, out, _ = mexfi(monkeypatch, capsys, "retention", "status", "--format", "json")
    assert code == 0 and json.loads(out)["quarantine"]["total"] == 1


def test_cli_a_broken_policy_file_stops_only_its_own_policy(
    fresh_vault: Vault,
    fresh_store: Store,
    clock: FixedClock,
    cli_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill(fresh_vault, clock)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "taxsee-driver.yaml").write_bytes(
        (REPO / "policies/taxsee-driver.yaml").read_bytes()
    )
    # Cut off mid-file, as a botched edit leaves it.
    broken = (REPO / "policies/bakikart.yaml").read_text(encoding="utf-8")
    (policies / "bakikart.yaml").write_text(broken[: len(broken) // 2] + "\n  - [", "utf-8")
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(policies))

    code, out, err = mexfi(monkeypatch, capsys, "retention", "run", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["status"] == "partial"
    [error] = report["errors"]
    assert error["where"] == f"policy file {policies / 'bakikart.yaml'}"
    # Loud on stderr too (rich wraps long lines).
    assert f"failed: policy file {policies / 'bakikart.yaml'}" in err.replace("\n", "")
    taxsee = next(r for r in report["rules"] if r["rule_id"] == "registration_destroyed")
    assert taxsee["done"] == DRIVERS
    assert count(fresh_store, "records", "category = 'registration'") == 0
    # BakıKart's data is left as it was, for when its policy is fixed.
    assert count(fresh_store, "records", "category = 'card_use'") == RIDERS * TAPS

    code, out, _ = mexfi(monkeypatch, capsys, "retention", "status", "--format", "json")
    assert code == 1 and str(policies / "bakikart.yaml") in json.loads(out)["broken_policy_files"]


def test_two_policy_files_with_one_id_are_both_refused(
    fresh_vault: Vault,
    cli_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    taxsee = (REPO / "policies/taxsee-driver.yaml").read_bytes()
    (policies / "a.yaml").write_bytes(taxsee)
    (policies / "b.yaml").write_bytes(taxsee)
    (policies / "bakikart.yaml").write_bytes((REPO / "policies/bakikart.yaml").read_bytes())
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(policies))
    code, out, _ = mexfi(monkeypatch, capsys, "retention", "run", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert sorted(e["where"] for e in report["errors"]) == [
        f"policy file {policies / 'a.yaml'}",
        f"policy file {policies / 'b.yaml'}",
    ]
    assert {r["policy_id"] for r in report["rules"]} == {"bakikart"}


def test_a_failing_rule_is_reported_and_the_rules_after_it_still_run(
    vault: Vault, store: Store, clock: FixedClock
) -> None:
    fill(vault, clock)
    clock.advance(hours=24)

    def progress(outcome: RuleOutcome) -> None:
        # A fault inside the BakıKart sweep (it runs first), after its first batch.
        if outcome.policy_id == "bakikart":
            raise RuntimeError("injected")

    report = RetentionEngine(vault, batch_size=10, on_progress=progress).run()
    bakikart = outcome(report, "passive_after_one_year")
    assert bakikart.error is not None and "RuntimeError" in bakikart.error
    assert "injected" not in bakikart.error  # exception text may carry data
    assert report.status == "partial" and report.faulted
    assert [e.where for e in report.errors] == ["rule bakikart/passive_after_one_year"]
    assert outcome(report, "registration_destroyed").done == DRIVERS
    assert count(store, "records", "category = 'registration'") == 0
    # The batch before the fault committed; the rest waits for the next run.
    assert 0 < count(store, "passive_records") < RIDERS * TAPS
    clock.advance(minutes=5)
    assert RetentionEngine(vault).run().status == "complete"
    assert count(store, "passive_records") == RIDERS * TAPS


def test_a_batch_whose_key_will_not_unwrap_fails_alone_and_the_sweep_goes_on(
    store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    vault = Vault(store, policies, secrets, clock=clock)
    riders, _ = fill(vault, clock)
    with store.keys() as session:
        key_id, wrapped = session.execute(
            text("SELECT id, wrapped FROM data_keys WHERE subject_id = :s AND category = :c"),
            {"s": riders[1], "c": "card_use"},
        ).one()
        altered = bytearray(wrapped)
        altered[-1] ^= 0x01
        session.execute(
            text("UPDATE data_keys SET wrapped = :w WHERE id = :id"),
            {"w": bytes(altered), "id": key_id},
        )
        session.commit()
    clock.advance(hours=24)
    # A vault of its own: no key unwrapped before the damage is remembered.
    fresh = Vault(store, policies, secrets, clock=clock)
    # batch_size 4 (one rider's taps): a tiering batch is one rider, the bad key's alone.
    report = RetentionEngine(fresh, batch_size=TAPS).run()
    bakikart = outcome(report, "passive_after_one_year")
    assert bakikart.failed_batches == 1 and bakikart.error is not None
    assert bakikart.records == bakikart.done == (RIDERS - 1) * TAPS
    assert count(store, "records", f"subject_id = '{riders[1]}' AND category = 'card_use'") == TAPS
    assert report.status == "partial"
    assert [e.where for e in report.errors] == [
        "rule bakikart/passive_after_one_year (1 batch(es) left for the next run)"
    ]
    assert outcome(report, "registration_destroyed").done == DRIVERS


def run_status(store: Store, run_id: str) -> str:
    with store.records() as session:
        return str(
            session.scalar(text("SELECT status FROM retention_runs WHERE id = :id"), {"id": run_id})
        )


def test_a_run_that_raises_is_closed_as_failed_not_left_running(
    vault: Vault, store: Store, clock: FixedClock
) -> None:
    fill(vault, clock)
    clock.advance(hours=24)
    engine = RetentionEngine(vault, batch_size=10)

    def interrupted(outcome: RuleOutcome) -> None:
        raise KeyboardInterrupt  # no rule's boundary keeps this one: the run ends

    engine.on_progress = interrupted
    with pytest.raises(KeyboardInterrupt):
        engine.run()
    with vault.unit_of_work() as uow:
        [run] = retention_status(vault, uow).runs
    assert run.status == "failed" and run.finished_at is not None


def test_worker_survives_a_failed_run_and_retries_with_backoff(
    vault: Vault, store: Store, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(vault, clock)
    clock.advance(hours=24)
    failures_left = 2
    refresh = vault.refresh_statistics

    def flaky_refresh(uow: UnitOfWork) -> None:
        # The store gone for the first two runs: each fails before it starts anything.
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            raise ConnectionError("injected")
        refresh(uow)

    monkeypatch.setattr(vault, "refresh_statistics", flaky_refresh)

    reports: list[RunReport] = []
    errors: list[tuple[str, int, float]] = []
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)  # no sleeping: the test moves on at once
        return False

    runs = run_worker(
        lambda stop: RetentionEngine(vault, should_stop=stop),
        interval=60.0,
        max_runs=3,
        on_run=reports.append,
        on_error=lambda error, failures, delay: errors.append((error, failures, delay)),
        wait=wait,
        install_signal_handlers=False,
    )
    assert runs == 1 and [r.status for r in reports] == ["complete"]
    assert [(n, delay) for _, n, delay in errors] == [(1, 5.0), (2, 10.0)]
    assert all("ConnectionError" in e and "injected" not in e for e, _, _ in errors)
    assert waits == [5.0, 10.0]  # the last attempt ends the worker without a wait
    assert outcome(reports[0], "registration_destroyed").done == DRIVERS
    assert count(store, "records", "category = 'registration'") == 0


def test_worker_stops_at_once_when_told_during_a_backoff(vault: Vault) -> None:
    stop = threading.Event()
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        stop.set()  # SIGTERM arrives while it waits to retry
        return True

    def broken(should_stop: Callable[[], bool]) -> RetentionEngine:
        def fail() -> bool:
            raise OSError("injected")

        return RetentionEngine(vault, should_stop=fail)

    runs = run_worker(broken, interval=1.0, stop=stop, wait=wait, install_signal_handlers=False)
    assert runs == 0 and waits == [5.0]


def test_retry_delay_doubles_up_to_its_cap() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert retry_delay(10) == retry_delay(10_000) == 600.0
    assert retry_delay(3, initial=1.0, maximum=3.0) == 3.0


def test_a_run_killed_mid_way_is_closed_by_the_next_run(
    fresh_vault: Vault,
    fresh_store: Store,
    policies: dict[str, Policy],
    secrets: Secrets,
    clock: FixedClock,
    cli_env: dict[str, str],
) -> None:
    fill(fresh_vault, clock)
    # Killed (SIGKILL) right after its first batch's keys are shredded; a traceback if it
    # fails some other way.
    env = {**cli_env, "MEXFI_TEST_CRASH_AT": "shred.keys-deleted#1", "MEXFI_DEBUG": "1"}
    killed = subprocess.run(
        [sys.executable, "-m", "mexfi", "retention", "run"],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr.decode()
    with fresh_store.records() as session:
        [(killed_id, started)] = session.execute(
            select(RetentionRun.id, RetentionRun.started_at).where(RetentionRun.status == "running")
        ).all()

    # Within the lease its owner may still be alive: left alone.
    soon = FixedClock(max(datetime.now(UTC), started) + timedelta(minutes=1))
    within = RetentionEngine(Vault(fresh_store, policies, secrets, clock=soon)).run()
    assert within.abandoned == [] and run_status(fresh_store, killed_id) == "running"

    # Past the lease with no heartbeat: closed, and what it left pending is finished.
    later = FixedClock(soon.now() + timedelta(minutes=20))
    vault = Vault(fresh_store, policies, secrets, clock=later)
    report = RetentionEngine(vault).run()
    assert report.abandoned == [killed_id]
    assert run_status(fresh_store, killed_id) == "abandoned"
    assert run_status(fresh_store, report.run_id) == "complete"
    assert count(fresh_store, "records", "category = 'registration'") == 0
    assert count(fresh_store, "destruction_evidence", "status = 'pending'") == 0
