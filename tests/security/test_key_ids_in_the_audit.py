"""Master-key ids in the append-only audit log: the vault's own format passes the personal-data
screen exactly (a date and 8 hex digits; nothing near it does), so rotations and retirements
are audited with the key they concern; a key id chosen by hand that the screen refuses is
left out of the entry instead of stopping the rotation."""

from __future__ import annotations

import base64
import os
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from mexfi.audit import AuditAction, AuditEvent, AuditValueRefused, personal_data_kind, read_entries
from mexfi.secrets import Secrets
from mexfi.vault import Vault
from tests.vault.conftest import DPO
from tests.vault.test_vault import register_driver


def _key_ids(count: int) -> list[str]:
    """Ids as `mexfi.secrets` makes them: mk-, a day of this century, 8 random hex digits."""
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    first = date(2000, 1, 1)
    return [
        f"mk-{first + timedelta(days=rng.randrange(36_524)):%Y%m%d}-{rng.getrandbits(32):08x}"
        for _ in range(count)
    ]


def _event(reference: str) -> AuditEvent:
    return AuditEvent(
        action=AuditAction.KEY_RETIRE,
        at=datetime(2026, 12, 2, 9, tzinfo=UTC),
        actor_id="mexfi-worker",
        actor_role="system",
        reason="master_key_retired",
        reference=reference,
        count=0,
    )


def test_every_vault_key_id_passes_the_screen() -> None:
    # Among random ids many hold a Luhn-valid 13-digit run or an 8-digit run: a card, a phone
    # to the plain screen.
    for key_id in _key_ids(5000):
        assert personal_data_kind(key_id) is None, key_id
        assert personal_data_kind(f"retired {key_id}, kept {key_id}") is None, key_id
        assert _event(key_id).reference == key_id


@pytest.mark.parametrize(
    "value",
    [
        "mk-20261202",  # the date alone: 8 digits
        "mk-50123456-1a2b3c4d",  # not a date: a phone number in its place
        "mk-20261302-1a2b3c4d",  # month 13
        "mk-20261232-1a2b3c4d",  # day 32
        "mk-19991202-1a2b3c4d",  # another century
        "mk-20261202-1a2b3c4d5",  # 9 hex digits
        "mk-20261202-1a2b3c4",  # 7 hex digits
        "mk-20261202-1A2B3C4D",  # upper case
        "mk-202612021-1a2b3c4d",  # 9 digits of date
        "x-mk-20261202-1a2b3c4d",  # glued to something
        "994mk-20261202-1a2b3c4d",
        "mk-20261202-1a2b3c4d 0501234567",  # a phone beside a key id
        "mk-20261202-1a2b3c4d 4169 7380 1234 5678",  # a card beside one
        "mk-20261202-1a2b3c4d ali@example.com",
    ],
)
def test_nothing_near_the_format_passes(value: str) -> None:
    assert personal_data_kind(value) is not None
    with pytest.raises(AuditValueRefused):
        _event(value)


def test_a_hand_chosen_key_id_the_screen_refuses_is_left_out_of_the_entry(
    fresh_vault: Vault, secrets: Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_vault.unit_of_work() as uow:
        register_driver(fresh_vault, uow)

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    # The operator put a new key first in MEXFI_MASTER_KEY under an id that reads as a phone.
    [old] = secrets.master_keys
    new = f"mk-0501234567:{b64(os.urandom(32))}"
    monkeypatch.setenv("MEXFI_MASTER_KEY", f"{new},{old.id}:{b64(old.key)}")
    monkeypatch.setenv("MEXFI_INDEX_KEY", b64(secrets.index_key))
    monkeypatch.setenv("MEXFI_PSEUDONYM_KEY", b64(secrets.pseudonym_key))
    monkeypatch.setenv("MEXFI_AUDIT_SIGNING_KEY", b64(secrets.audit_signing_seed))
    report = fresh_vault.rotate_master_key(actor=DPO, new_key=False)
    assert report.master_key_id == "mk-0501234567" and report.rewrapped > 0
    with fresh_vault.store.records() as session:
        [entry] = read_entries(session, actions=[AuditAction.KEY_ROTATE])
    assert (entry.reason, entry.reference, entry.count) == (
        "data_keys_rewrapped",
        None,
        report.rewrapped,
    )
