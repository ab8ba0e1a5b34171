"""The retention executor with the clock moved: TX-7.7 / TX-8 destruction, BK-3.3 tiering, holds."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mexfi.audit import AuditAction
from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.policy.loader import load_policy
from mexfi.policy.schema import Policy
from mexfi.retention import RetentionEngine, certificates, lift_hold, place_hold
from mexfi.secrets import Secrets
from mexfi.vault import Actor, PurposeDenied, RecordCreate, Vault
from mexfi.vault.models import DataKey, PassiveRecord, Record
from tests.vault.conftest import DPO, DRIVER, SERVICE, SUPPORT, SYSTEM
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


def test_tx_7_7_registration_destroyed_before_24h_vehicle_facts_stay(
    vault: Vault, clock: FixedClock
) -> None:
    registered = clock.now()
    driver = register_driver(vault)
    vault.write(driver, "vehicle_facts", VEHICLE, actor=SYSTEM, purpose="service_operation")
    engine = RetentionEngine(vault)
    clock.advance(hours=22)
    engine.run()
    assert vault.read(driver, ["registration"], purpose="licence_agreement", actor=SYSTEM).records
    clock.set(registered + timedelta(hours=23, minutes=1))
    report = engine.run()
    rule = next(r for r in report.rules if r.rule_id == "registration_destroyed")
    assert (rule.due, rule.done, rule.records) == (1, 1, 1)
    clock.set(registered + timedelta(hours=24))
    assert (
        vault.read(driver, ["registration"], purpose="licence_agreement", actor=SYSTEM).records
        == []
    )
    kept = vault.read(driver, ["vehicle_facts"], purpose="service_operation", actor=SYSTEM)
    assert kept.records[0].values == VEHICLE
    [certificate] = certificates(vault, driver, actor=DPO)
    assert certificate.status == "complete" and certificate.rule_id == "registration_destroyed"
    assert set(certificate.clauses) >= {"TX-7.7", "TX-8"} and certificate.key_ids
    own = certificates(vault, driver, actor=Actor("app", "driver", subject_id=driver))
    assert own == [certificate]
    with pytest.raises(PurposeDenied):
        certificates(vault, driver, actor=SUPPORT)
    # A second run finds nothing more to do.
    again = next(r for r in engine.run().rules if r.rule_id == "registration_destroyed")
    assert again.due == 0


def test_bk_3_3_old_taps_are_passive_unreachable_by_service_reads(
    vault: Vault, store: Store, clock: FixedClock
) -> None:
    rider = register_rider(vault)
    now = clock.now()
    old = (now - timedelta(days=396)).isoformat()  # 13 months ago
    recent = (now - timedelta(days=20)).isoformat()
    vault.write_many(
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
    service = vault.read(rider, ["card_use"], purpose="service_provision", actor=SUPPORT)
    assert [r.values["used_at"].isoformat() for r in service.records] == [recent]
    with pytest.raises(PurposeDenied, match="passive tier"):
        vault.read(
            rider,
            ["card_use"],
            purpose="service_provision",
            actor=SUPPORT,
            tiers=["active", "passive"],
        )
    export = vault.read(
        rider, ["card_use"], purpose="subject_request", actor=DPO, tiers=["active", "passive"]
    )
    assert sorted((r.tier, r.values["used_at"].isoformat()) for r in export.records) == sorted(
        [("passive", old), ("active", recent)]
    )
    with store.records() as session:
        assert session.scalar(select(func.count()).select_from(PassiveRecord)) == 1
        passive_key = session.scalar(select(PassiveRecord.key_id))
        tiered = vault.audit.entries(session, actions=[AuditAction.TIER])
    assert tiered and tiered[0].reference == "passive_after_one_year"
    with store.keys() as session:
        key = session.get(DataKey, passive_key)
        assert key is not None and key.tier == "passive"


def test_held_subject_untouched_and_certified_then_destroyed_when_lifted(
    vault: Vault, clock: FixedClock
) -> None:
    start = clock.now()
    held_driver = register_driver(vault)
    free_driver = vault.register(
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
        policy_id="taxsee_driver",
        subject_id=held_driver,
        reason="court request 2026/17",
        actor=DPO,
    )
    clock.set(start + timedelta(hours=23, minutes=30))
    engine = RetentionEngine(vault)
    dry = engine.run(dry_run=True)
    rule = next(r for r in dry.rules if r.rule_id == "registration_destroyed")
    assert (rule.due, rule.held) == (1, 1)
    report = engine.run()
    rule = next(r for r in report.rules if r.rule_id == "registration_destroyed")
    assert (rule.done, rule.held) == (1, 1)
    assert vault.read(
        held_driver, ["registration"], purpose="licence_agreement", actor=SYSTEM
    ).records
    assert not vault.read(
        free_driver, ["registration"], purpose="licence_agreement", actor=SYSTEM
    ).records
    engine.run()  # a second run while held writes no second certificate
    [held_cert] = certificates(vault, held_driver, actor=DPO)
    assert held_cert.status == "held" and held_cert.hold_id == hold.id
    assert held_cert.records_destroyed == 0
    lift_hold(vault, hold.id, actor=DPO)
    engine.run()
    assert not vault.read(
        held_driver, ["registration"], purpose="licence_agreement", actor=SYSTEM
    ).records
    assert [c.status for c in certificates(vault, held_driver, actor=DPO)] == ["held", "complete"]


def test_dry_run_changes_nothing(vault: Vault, store: Store, clock: FixedClock) -> None:
    rider = register_rider(vault)
    long_ago = clock.now() - timedelta(days=400)
    vault.write_many(
        [RecordCreate(rider, "card_use", tap(long_ago.isoformat()), long_ago)] * 3,
        actor=SERVICE,
        purpose="service_provision",
    )
    report = RetentionEngine(vault).run(dry_run=True)
    rule = next(r for r in report.rules if r.rule_id == "passive_after_one_year")
    assert rule.due == 3 and rule.done == 0
    with store.records() as session:
        assert session.scalar(select(func.count()).select_from(PassiveRecord)) == 0
        assert session.scalar(select(func.count()).select_from(Record)) == 5  # + phone, profile


def test_collection_destroy_rule_shreds_only_due_records(
    store: Store, secrets: Secrets, clock: FixedClock
) -> None:
    policy = load_policy(REPO / "tests/fixtures/policies/minimal.yaml")
    vault = Vault(store, {policy.id: policy}, secrets, clock=clock)
    support = Actor("s-1", "support")
    rider = vault.register(
        policy_id="scooter",
        kind="rider",
        actor=support,
        purpose="service",
        records={"account": {"phone": "+994 50 700 00 01"}},
    ).id
    now = clock.now()
    old, new = now - timedelta(days=400), now - timedelta(days=3)
    vault.write_many(
        [
            RecordCreate(rider, "rides", {"started_at": old.isoformat()}, old),
            RecordCreate(rider, "rides", {"started_at": new.isoformat()}, new),
        ],
        actor=support,
        purpose="service",
    )
    with store.records() as session:
        old_key = session.scalar(select(Record.key_id).where(Record.category == "rides"))
    report = RetentionEngine(vault).run()
    rule = next(r for r in report.rules if r.rule_id == "rides_destroyed")
    assert (rule.done, rule.records) == (1, 1)
    left = vault.read(rider, ["rides"], purpose="service", actor=support)
    assert [r.collected_at for r in left.records] == [new]
    with store.keys() as session:
        assert session.get(DataKey, old_key) is None  # the destroyed ride's key is shredded


@pytest.mark.postgres
def test_two_workers_never_process_the_same_record(
    vault: Vault, store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    riders = [register_rider(vault, f"+994 55 600 00 {i:02d}") for i in range(10)]
    long_ago = clock.now() - timedelta(days=400)
    vault.write_many(
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
        engine = RetentionEngine(Vault(store, policies, secrets, clock=clock), batch_size=25)
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
    with store.records() as session:
        assert session.scalar(select(func.count()).select_from(PassiveRecord)) == 600
        tiered = vault.audit.entries(session, actions=[AuditAction.TIER])
    assert sum(e.count for e in tiered) == 600
