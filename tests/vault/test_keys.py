"""Master-key rotation and resealing: data keys rewrapped, records resealed, both resumable."""

from __future__ import annotations

import dataclasses
import os

import pytest
from sqlalchemy import func, select

from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.errors import Unavailable
from mexfi.policy import Policy
from mexfi.secrets import MasterKey, Secrets
from mexfi.vault import PASSIVE, DecryptionFailed, Vault
from mexfi.vault.crypto import AESGCM, unwrap_key, wrap_aad, wrap_key
from mexfi.vault.models import DataKey, PassiveRecord, Record
from mexfi.vault.sealing import seal_record_v1
from tests.vault.conftest import DPO, SUPPORT, open_request
from tests.vault.test_vault import register_rider


def test_rotation_rewraps_keys_without_touching_records(
    store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    vault = Vault(store, policies, secrets, clock=clock)
    with vault.unit_of_work() as uow:
        riders = [register_rider(vault, uow, f"+994 50 555 00 {i:02d}") for i in range(7)]
    with store.records() as session:
        payloads_before = {r.id: r.payload for r in session.scalars(select(Record))}
    new_master = MasterKey("mk-test-2", os.urandom(32))
    rotated = dataclasses.replace(secrets, master_keys=(new_master, *secrets.master_keys))
    vault_mid = Vault(store, policies, rotated, clock=clock)
    assert vault_mid.master_key_id == "mk-test-2"
    with vault_mid.unit_of_work() as uow:
        assert vault_mid.keys_pending_rotation(uow) == 14  # phone + profile for each rider
    # Interrupted after one small batch: the rest is still under the old key, all readable.
    with vault_mid.unit_of_work() as uow:
        assert vault_mid.rotate_keys(uow, batch_size=5) == 5
    with vault_mid.unit_of_work() as uow:
        assert vault_mid.keys_pending_rotation(uow) == 9
        for rider in riders:
            assert vault_mid.read(
                uow, rider, ["phone"], purpose="service_provision", actor=SUPPORT
            ).records
    # Resume to the end.
    while True:
        with vault_mid.unit_of_work() as uow:
            if vault_mid.rotate_keys(uow, batch_size=5) == 0:
                break
    with store.keys() as session:
        assert {k.master_key_id for k in session.scalars(select(DataKey))} == {"mk-test-2"}
    with store.records() as session:
        assert {r.id: r.payload for r in session.scalars(select(Record))} == payloads_before
    # The old master key is no longer needed to read anything.
    only_new = dataclasses.replace(rotated, master_keys=(new_master,))
    vault_new = Vault(store, policies, only_new, clock=clock)
    with vault_new.unit_of_work() as uow:
        data = vault_new.read(
            uow, riders[3], ["profile"], purpose="service_provision", actor=SUPPORT
        )
    assert data.records[0].values["first_name"] == "Leyla"
    # And a key store wrapped under a master key we no longer hold says so plainly.
    stranger = Vault(store, policies, Secrets.generate("mk-other"), clock=clock)
    with pytest.raises(Unavailable, match="mk-test-2"), stranger.unit_of_work() as uow:
        stranger.read(uow, riders[0], ["phone"], purpose="service_provision", actor=SUPPORT)


def _downgrade_to_v1(store: Store, secrets: Secrets, policy: Policy, tier: str) -> int:
    """Rewrite every record of `tier` as vault v1 wrote it (one ciphertext per field)."""
    table: type[Record] | type[PassiveRecord] = Record if tier == "active" else PassiveRecord
    with store.keys() as session:
        keys = {
            row.id: AESGCM(
                unwrap_key(
                    secrets.master(row.master_key_id).key,
                    row.wrapped,
                    wrap_aad(row.id, row.subject_id, row.category, row.tier),
                )
            )
            for row in session.scalars(select(DataKey).where(DataKey.tier == tier))
        }
    vault = Vault(store, {policy.id: policy}, secrets)
    converted = 0
    with vault.unit_of_work() as uow:
        data = {
            subject: vault.read(
                uow,
                subject,
                [c.id for c in policy.categories_of("rider")],
                purpose="subject_request",
                actor=DPO,
                tiers=[tier],
                request_id=open_request(vault, uow, subject),
            )
            for subject in set(uow.records.scalars(select(table.subject_id)))
        }
    with store.records() as session:
        for subject, read in data.items():
            for record in read.records:
                row = session.get(table, record.id)
                assert isinstance(row, Record | PassiveRecord)
                types = {f.name: f.type for f in policy.category(record.category).fields}
                row.payload = seal_record_v1(
                    keys[row.key_id],
                    types,
                    record.values,
                    (policy.id, subject, record.id, record.category, tier),
                )
                row.format = 1
                converted += 1
    return converted


def test_v1_records_still_read_and_reseal_converts_them(
    store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    vault = Vault(store, policies, secrets, clock=clock)
    with vault.unit_of_work() as uow:
        riders = [register_rider(vault, uow, f"+994 50 555 01 {i:02d}") for i in range(5)]
    with vault.unit_of_work() as uow:
        before = {
            r: vault.read(
                uow,
                r,
                ["phone", "profile"],
                purpose="subject_request",
                actor=DPO,
                request_id=open_request(vault, uow, r),
            )
            for r in riders
        }
    bakikart = policies["bakikart"]
    assert _downgrade_to_v1(store, secrets, bakikart, "active") == 10
    with vault.unit_of_work() as uow:
        assert vault.records_pending_reseal(uow) == 10
        # Format 1 still reads, value for value.
        for rider, read in before.items():
            again = vault.read(
                uow,
                rider,
                ["phone", "profile"],
                purpose="subject_request",
                actor=DPO,
                request_id=open_request(vault, uow, rider),
            )
            assert [r.values for r in again.records] == [r.values for r in read.records]
    # Interrupted after one batch, then resumed from its cursor.
    with vault.unit_of_work() as uow:
        done, cursor = vault.reseal(uow, batch_size=4)
    assert done == 4 and cursor is not None and cursor.startswith("active:")
    while cursor is not None:
        with vault.unit_of_work() as uow:
            converted, cursor = vault.reseal(uow, batch_size=4, after=cursor)
        done += converted
    assert done == 10
    with store.records() as session:
        assert set(session.scalars(select(Record.format))) == {2}
    with vault.unit_of_work() as uow:
        assert vault.records_pending_reseal(uow) == 0
        for rider, read in before.items():
            again = vault.read(
                uow,
                rider,
                ["phone", "profile"],
                purpose="subject_request",
                actor=DPO,
                request_id=open_request(vault, uow, rider),
            )
            assert [r.values for r in again.records] == [r.values for r in read.records]


def test_a_record_moved_to_the_other_tier_does_not_open(
    vault: Vault, store: Store, secrets: Secrets
) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
    # Copy the row into the passive table with its very data key, properly wrapped for the
    # passive scope: only the record's associated data, which binds the tier, stops it.
    with store.records() as session, store.keys() as keys:
        row = session.scalars(
            select(Record).where(Record.subject_id == rider, Record.category == "profile")
        ).one()
        key = keys.get(DataKey, row.key_id)
        assert key is not None
        dek = unwrap_key(
            secrets.master(key.master_key_id).key,
            key.wrapped,
            wrap_aad(key.id, key.subject_id, key.category, key.tier),
        )
        forged_id = "f" * 32
        keys.add(
            DataKey(
                id=forged_id,
                subject_id=key.subject_id,
                category=key.category,
                tier=PASSIVE,
                master_key_id=key.master_key_id,
                wrapped=wrap_key(
                    secrets.master(key.master_key_id).key,
                    dek,
                    wrap_aad(forged_id, key.subject_id, key.category, PASSIVE),
                ),
                created_at=key.created_at,
            )
        )
        session.add(
            PassiveRecord(
                id=row.id,
                subject_id=row.subject_id,
                category=row.category,
                collected_at=row.collected_at,
                key_id=forged_id,
                format=row.format,
                payload=row.payload,
                moved_at=row.collected_at,
                rule_id="forged",
            )
        )
        session.delete(row)
    with pytest.raises(DecryptionFailed, match="does not decrypt"), vault.unit_of_work() as uow:
        vault.read(
            uow,
            rider,
            ["profile"],
            purpose="subject_request",
            actor=DPO,
            tiers=["active", "passive"],
            request_id=open_request(vault, uow, rider),
        )
    with store.records() as session:
        assert session.scalar(select(func.count()).select_from(PassiveRecord)) == 1
