"""The retention executor with the clock moved: TX-7.7 / TX-8 destruction, BK-3.3 tiering, holds."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mexfi.audit import AuditAction
from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.errors import Denied
from mexfi.policy import Policy, load_policy
from mexfi.retention import RetentionEngine, active_holds, certificates, lift_hold, place_hold
from mexfi.secrets import Secrets
from mexfi.vault import Actor, PurposeDenied, RecordCreate, RecordRead, Vault
from tests.vault.conftest import DPO, DRIVER, SERVICE, SUPPORT, SYSTEM, open_request
from tests.vault.test_vault import register_driver, register_rider

REPO = Path(__file__).resolve().parents[2]
VEHICLE = {
    "make": "Toyota",
    "model": "Prius",
    "colour": "ağ",
    "plate_digits": "123",
    "first_name": "Rəşad",
}


def tap(at: str) -> dict[str, str]:
    return {"place": "Koroğlu", "used_at": at, "kind": "card", "card_number": "1234567890"}


def count(store: Store, table: str, where: str = "1=1") -> int:
    """Rows of a vault table, by plain SQL (these tests look at the store from outside)."""
    if table == "passive_records" and not store.is_sqlite:
        table = f'"{store.config.passive_schema}".{table}'
    with store.records() as session:
        return int(session.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}")) or 0)


def read(
    vault: Vault, subject: str, categories: list[str], purpose: str, actor: Actor, **kw: Any
) -> list[RecordRead]:
    with vault.unit_of_work() as uow:
        return vault.read(uow, subject, categories, purpose=purpose, actor=actor, **kw).records


def test_tx_7_7_registration_destroyed_before_24h_vehicle_facts_stay(
    vault: Vault, clock: FixedClock
) -> None:
    registered = clock.now()
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.write(
            uow, driver, "vehicle_facts", VEHICLE, actor=SYSTEM, purpose="service_operation"
        )
    engine = RetentionEngine(vault)
    clock.advance(hours=22)
    engine.run()
    assert read(vault, driver, ["registration"], "licence_agreement", SYSTEM)
    clock.set(registered + timedelta(hours=23, minutes=1))
    report = engine.run()
    rule = next(r for r in report.rules if r.rule_id == "registration_destroyed")
    assert (rule.due, rule.done, rule.records) == (1, 1, 1)
    clock.set(registered + timedelta(hours=24))
    assert read(vault, driver, ["registration"], "licence_agreement", SYSTEM) == []
    kept = read(vault, driver, ["vehicle_facts"], "service_operation", SYSTEM)
    assert kept[0].values == VEHICLE
    with vault.unit_of_work() as uow:
        [certificate] = certificates(vault, uow, driver, actor=DPO)
        own = certificates(vault, uow, driver, actor=Actor("app", "driver", subject_id=driver))
    assert certificate.status == "complete" and certificate.rule_id == "registration_destroyed"
    assert certificate.records_destroyed == 1
    assert set(certificate.clauses) >= {"TX-7.7", "TX-8"} and certificate.key_ids
    assert own == [certificate]
    with pytest.raises(PurposeDenied), vault.unit_of_work() as uow:
        certificates(vault, uow, driver, actor=SUPPORT)
    # A second run finds nothing more to do.
    again = next(r for r in engine.run().rules if r.rule_id == "registration_destroyed")
    assert again.due == 0


def test_bk_3_3_old_taps_are_passive_unreachable_by_service_reads(
    vault: Vault, store: Store, clock: FixedClock
) -> None:
    now = clock.now()
    old = (now - timedelta(days=396)).isoformat()  # 13 months ago
    recent = (now - timedelta(days=20)).isoformat()
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
        vault.write_many(
            uow,
            [
                RecordCreate(rider, "card_use", tap(old), now - timedelta(days=396)),
                RecordCreate(rider, "card_use", tap(recent), now - timedelta(days=20)),
            ],
            actor=SERVICE,
            purpose="service_provision",
        )
    report = RetentionEngine(vault).run()
    rule = next(r for r in report.rules if r.rule_id == "passive_after_one_year")
    assert (rule.due, rule.records) == (1, 1)
    service = read(vault, rider, ["card_use"], "service_provision", SUPPORT)
    assert [r.values["used_at"].isoformat() for r in service] == [recent]
    with pytest.raises(PurposeDenied, match="passive tier"):
        read(vault, rider, ["card_use"], "service_provision", SUPPORT, tiers=["active", "passive"])
    with vault.unit_of_work() as uow:
        request = open_request(vault, uow, rider)
    export = read(
        vault,
        rider,
        ["card_use"],
        "subject_request",
        DPO,
        tiers=["active", "passive"],
        request_id=request,
    )
    assert sorted((r.tier, r.values["used_at"].isoformat()) for r in export) == sorted(
        [("passive", old), ("active", recent)]
    )
    assert count(store, "passive_records") == 1
    with store.records() as session:
        tiered = vault.audit.entries(session, actions=[AuditAction.TIER])
    # One entry for the batch, naming the subject and how many of its records moved.
    [entry] = tiered
    assert entry.reference == "passive_after_one_year" and entry.count == 1
    assert entry.subjects == {vault.pseudonym(rider): 1}
    with store.keys() as session:
        tiers = set(session.scalars(text("SELECT tier FROM data_keys")))
    assert "passive" in tiers  # the passive tier is sealed under keys of its own


def test_held_subject_untouched_and_certified_then_destroyed_when_lifted(
    vault: Vault, clock: FixedClock
) -> None:
    start = clock.now()
    with vault.unit_of_work() as uow:
        held_driver = register_driver(vault, uow)
        free_driver = vault.register(
            uow,
            policy_id="taxsee_driver",
            kind="driver",
            actor=SYSTEM,
            purpose="licence_agreement",
            records={
                "registration": {
                    **DRIVER,
                    "full_name": "Əliyev Kamran Vaqif oğlu",
                    "phone": "+994 51 333 22 11",
                }
            },
        ).id
        hold = place_hold(
            vault,
            uow,
            policy_id="taxsee_driver",
            subject_id=held_driver,
            reason="court request 2026/17",
            actor=DPO,
        )
    with vault.unit_of_work() as uow:
        assert [h.id for h in active_holds(uow, policy_id="taxsee_driver")] == [hold.id]
        with pytest.raises(Denied, match="only the DPO"):
            place_hold(vault, uow, policy_id="taxsee_driver", reason="x", actor=SUPPORT)
    clock.set(start + timedelta(hours=23, minutes=30))
    engine = RetentionEngine(vault)
    dry = engine.run(dry_run=True)
    rule = next(r for r in dry.rules if r.rule_id == "registration_destroyed")
    assert (rule.due, rule.held) == (1, 1)
    report = engine.run()
    rule = next(r for r in report.rules if r.rule_id == "registration_destroyed")
    assert (rule.done, rule.held) == (1, 1)
    assert read(vault, held_driver, ["registration"], "licence_agreement", SYSTEM)
    assert not read(vault, free_driver, ["registration"], "licence_agreement", SYSTEM)
    engine.run()  # a second run while held writes no second certificate
    with vault.unit_of_work() as uow:
        [held_cert] = certificates(vault, uow, held_driver, actor=DPO)
    assert held_cert.status == "held" and held_cert.hold_id == hold.id
    assert held_cert.records_destroyed == 0
    clock.advance(hours=2)
    with vault.unit_of_work() as uow:
        lift_hold(vault, uow, hold.id, actor=DPO)
    engine.run()
    assert not read(vault, held_driver, ["registration"], "licence_agreement", SYSTEM)
    with vault.unit_of_work() as uow:
        statuses = [c.status for c in certificates(vault, uow, held_driver, actor=DPO)]
    assert statuses == ["held", "complete"]


def test_dry_run_changes_nothing(vault: Vault, store: Store, clock: FixedClock) -> None:
    long_ago = clock.now() - timedelta(days=400)
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
        vault.write_many(
            uow,
            [RecordCreate(rider, "card_use", tap(long_ago.isoformat()), long_ago)] * 3,
            actor=SERVICE,
            purpose="service_provision",
        )
    report = RetentionEngine(vault).run(dry_run=True)
    rule = next(r for r in report.rules if r.rule_id == "passive_after_one_year")
    assert rule.due == 3 and rule.done == 0
    assert count(store, "passive_records") == 0
    assert count(store, "records") == 5  # + phone, profile


def test_collection_destroy_rule_shreds_only_due_records(
    store: Store, secrets: Secrets, clock: FixedClock
) -> None:
    policy = load_policy(REPO / "tests/fixtures/policies/minimal.yaml")
    vault = Vault(store, {policy.id: policy}, secrets, clock=clock)
    support = Actor("s-1", "support")
    now = clock.now()
    old, new = now - timedelta(days=400), now - timedelta(days=3)
    with vault.unit_of_work() as uow:
        rider = vault.register(
            uow,
            policy_id="scooter",
            kind="rider",
            actor=support,
            purpose="service",
            records={"account": {"phone": "+994 50 700 00 01"}},
        ).id
        vault.write_many(
            uow,
            [
                RecordCreate(rider, "rides", {"started_at": old.isoformat()}, old),
                RecordCreate(rider, "rides", {"started_at": new.isoformat()}, new),
            ],
            actor=support,
            purpose="service",
        )
    with store.records() as session:
        old_key = session.scalar(text("SELECT key_id FROM records WHERE category = 'rides'"))
    report = RetentionEngine(vault).run()
    rule = next(r for r in report.rules if r.rule_id == "rides_destroyed")
    assert (rule.done, rule.records) == (1, 1)
    left = read(vault, rider, ["rides"], "service", support)
    assert [r.collected_at for r in left] == [new]
    with store.keys() as session:
        gone = session.scalar(
            text("SELECT count(*) FROM data_keys WHERE id = :id"), {"id": old_key}
        )
    assert gone == 0  # the destroyed ride's key is shredded (the kept one was resealed)


@pytest.mark.postgres
def test_two_workers_never_process_the_same_record(
    fresh_store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    store = fresh_store
    vault = Vault(store, policies, secrets, clock=clock)
    long_ago = clock.now() - timedelta(days=400)
    with vault.unit_of_work() as uow:
        riders = [register_rider(vault, uow, f"+994 55 600 00 {i:02d}") for i in range(10)]
        vault.write_many(
            uow,
            [
                RecordCreate(r, "card_use", tap(long_ago.isoformat()), long_ago)
                for r in riders
                for _ in range(60)
            ],
            actor=SERVICE,
            purpose="service_provision",
        )
    results = []

    def work() -> None:
        engine = RetentionEngine(Vault(store, policies, secrets, clock=clock), batch_size=2)
        results.append(engine.run())

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    moved = [
        next(r for r in report.rules if r.rule_id == "passive_after_one_year").records
        for report in results
    ]
    assert sum(moved) == 600
    assert count(store, "passive_records") == 600
    with store.records() as session:
        tiered = vault.audit.entries(session, actions=[AuditAction.TIER])
    assert sum(e.count for e in tiered) == 600
    assert sum(sum(e.subjects.values()) for e in tiered) == 600
