"""Master-key rotation: data keys rewrapped, records untouched, resumable."""

from __future__ import annotations

import dataclasses
import os

import pytest
from sqlalchemy import select

from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.errors import Unavailable
from mexfi.policy.schema import Policy
from mexfi.secrets import MasterKey, Secrets
from mexfi.vault import Vault
from mexfi.vault.keys import KeyService
from mexfi.vault.models import DataKey, Record
from tests.vault.conftest import SUPPORT
from tests.vault.test_vault import register_rider


def test_rotation_rewraps_keys_without_touching_records(
    store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    vault = Vault(store, policies, secrets, clock=clock)
    riders = [register_rider(vault, f"+994 50 555 00 {i:02d}") for i in range(7)]
    with store.records() as session:
        payloads_before = {r.id: r.payload for r in session.scalars(select(Record))}
    new_master = MasterKey("mk-test-2", os.urandom(32))
    rotated = dataclasses.replace(secrets, master_keys=(new_master, *secrets.master_keys))
    service = KeyService(rotated)
    with store.keys() as session:
        assert service.pending_rotation(session) == 14  # phone + profile for each rider
    # Interrupted after one small batch: the rest is still under the old key, all readable.
    with store.keys() as session:
        assert service.rotate_batch(session, batch_size=5) == 5
    with store.keys() as session:
        assert service.pending_rotation(session) == 9
    vault_mid = Vault(store, policies, rotated, clock=clock)
    for rider in riders:
        assert vault_mid.read(rider, ["phone"], purpose="service_provision", actor=SUPPORT).records
    # Resume to the end.
    while True:
        with store.keys() as session:
            if service.rotate_batch(session, batch_size=5) == 0:
                break
    with store.keys() as session:
        assert {k.master_key_id for k in session.scalars(select(DataKey))} == {"mk-test-2"}
    with store.records() as session:
        assert {r.id: r.payload for r in session.scalars(select(Record))} == payloads_before
    # The old master key is no longer needed to read anything.
    only_new = dataclasses.replace(rotated, master_keys=(new_master,))
    vault_new = Vault(store, policies, only_new, clock=clock)
    data = vault_new.read(riders[3], ["profile"], purpose="service_provision", actor=SUPPORT)
    assert data.records[0].values["first_name"] == "Leyla"
    # And a key store wrapped under a master key we no longer hold says so plainly.
    stranger = Secrets.generate("mk-other")
    with pytest.raises(Unavailable, match="mk-test-2"):
        Vault(store, policies, stranger, clock=clock).read(
            riders[0], ["phone"], purpose="service_provision", actor=SUPPORT
        )
