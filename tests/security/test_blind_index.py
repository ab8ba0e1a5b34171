"""Issue 10, item 2: a phone blind index a stolen records backup cannot invert.

The index is truncated (CipherSweet's design): many numbers share each value, lookups confirm
their candidates by decrypting the phone field, and a destroyed subject's value goes with its
phone. Tests force collisions with a tiny index (2 bits); the brute force runs over a small
number space with the bits scaled down in proportion; the cost of the real thing is measured
and printed (`pytest -s`), never asserted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import select, text

from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.errors import Conflict
from mexfi.migrations import alembic_config, upgrade_store
from mexfi.policy import Policy
from mexfi.secrets import MasterKey, Secrets
from mexfi.vault import BlindIndexSpec, InvalidValue, Vault, normalise_phone
from mexfi.vault.crypto import slow_blind_index
from mexfi.vault.models import Subject
from mexfi.vault.phone_index import REINDEX
from tests.cli.test_keys_cli import env  # noqa: F401  (the CLI's environment, a fixture)
from tests.vault.conftest import DPO, SERVICE
from tests.vault.test_vault import register_rider

#: Four index values: a dozen subjects collide for certain; cheap enough for many registrations.
TINY = BlindIndexSpec(bits=2, log2_n=4)
#: Every Azerbaijani mobile number, as the issue's brute force counted them.
AZ_MOBILE_NUMBERS = 64_000_000
SEED = 20261202


def v1_index(index_key: bytes, normalised: str) -> bytes:
    """The index before this item: a full HMAC-SHA256 of the normalised phone."""
    return hmac.new(index_key, f"phone\x00{normalised}".encode(), hashlib.sha256).digest()


def seeded_secrets(seed: int) -> Secrets:
    rng = random.Random(seed)
    print(f"secrets seed: {seed}")
    return Secrets(
        master_keys=(MasterKey("mk-seeded", rng.randbytes(32)),),
        index_key=rng.randbytes(32),
        pseudonym_key=rng.randbytes(32),
        audit_signing_seed=rng.randbytes(32),
    )


@pytest.fixture
def tiny(store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock) -> Vault:
    return Vault(store, policies, secrets, clock=clock, phone_index=TINY)


def phones(count: int, start: int = 0) -> list[str]:
    return [f"+994 50 400 {i // 100:02d} {i % 100:02d}" for i in range(start, start + count)]


def index_values(store: Store) -> dict[str, int | None]:
    with store.records() as session:
        return {s: v for s, v in session.execute(select(Subject.id, Subject.phone_bucket))}


def test_lookups_pick_the_right_subject_among_colliding_ones(
    tiny: Vault, store: Store, secrets: Secrets
) -> None:
    numbers = phones(12)
    with tiny.unit_of_work() as uow:
        ids = [register_rider(tiny, uow, phone) for phone in numbers]
    values = index_values(store)
    shared = Counter(values[s] for s in ids)
    # Twelve subjects, four values: collisions are certain, and every value is in range.
    assert max(shared.values()) >= 3 and set(shared) <= set(range(4))
    with tiny.unit_of_work() as uow:
        for subject_id, phone in zip(ids, numbers, strict=True):
            found = tiny.find_by_phone(uow, "bakikart", phone.replace("+994 ", "0"))
            assert found is not None and found.id == subject_id
        # Another number sharing a registered value is no one's. The key is random, so the
        # first unregistered number whose value is a registered one is taken (all 40 missing
        # the registered values has odds of (3/4)^40, about 1e-5, even if they were one).
        stranger = next(
            p
            for p in phones(40, start=50)
            if slow_blind_index(secrets.index_key, "phone", normalise_phone(p), TINY) in shared
        )
        assert tiny.find_by_phone(uow, "bakikart", stranger) is None
        # The same number in the other policy is not this policy's subject.
        assert tiny.find_by_phone(uow, "taxsee_driver", numbers[0]) is None


def test_a_shared_value_is_no_conflict_but_the_same_phone_is(tiny: Vault) -> None:
    numbers = phones(9)
    with tiny.unit_of_work() as uow:
        for phone in numbers:
            register_rider(tiny, uow, phone)
    with pytest.raises(Conflict, match="already registered"), tiny.unit_of_work() as uow:
        register_rider(tiny, uow, numbers[4].replace("+994 ", "0"))


def test_the_lookup_phone_must_be_the_phone_written(tiny: Vault) -> None:
    # A value no decryption can confirm would make its subject unfindable.
    refused = pytest.raises(InvalidValue, match="field 'phone' of category 'phone'")
    with refused as info, tiny.unit_of_work() as uow:
        tiny.register(
            uow,
            policy_id="bakikart",
            kind="rider",
            actor=SERVICE,
            purpose="service_provision",
            lookup_phone="+994 50 400 00 01",
            records={"phone": {"phone": "+994 50 400 00 02"}},
        )
    assert "400" not in str(info.value) and "400" not in str(info.value.hint)


def test_destroying_the_phone_takes_its_index_value(tiny: Vault, store: Store) -> None:
    numbers = phones(6)
    with tiny.unit_of_work() as uow:
        ids = [register_rider(tiny, uow, phone) for phone in numbers]
    with tiny.unit_of_work() as uow:
        tiny.destroy(uow, ids[0], ["phone"], reason="test", actor=DPO)
        tiny.destroy(uow, ids[1], ["profile"], reason="test", actor=DPO)
    values = index_values(store)
    assert values[ids[0]] is None
    # Destroying another category keeps the phone and its value.
    assert values[ids[1]] is not None and values[ids[2]] is not None
    with tiny.unit_of_work() as uow:
        assert tiny.find_by_phone(uow, "bakikart", numbers[0]) is None
        for subject_id, phone in zip(ids[1:], numbers[1:], strict=True):
            found = tiny.find_by_phone(uow, "bakikart", phone)
            assert found is not None and found.id == subject_id


def test_brute_force_of_a_stolen_backup_cannot_single_out_the_phone(
    store: Store, policies: dict[str, Policy], clock: FixedClock
) -> None:
    # The real index scaled down: 10,000 candidate numbers over 2**6 values leave ~156 numbers
    # per value, as 64 M numbers over 2**16 leave ~977. The thief has a records backup taken
    # before the destruction and the index key.
    spec = BlindIndexSpec(bits=6, log2_n=4)
    secrets = seeded_secrets(SEED)
    vault = Vault(store, policies, secrets, clock=clock, phone_index=spec)
    space = [f"+99450123{i:04d}" for i in range(10_000)]
    victims = random.Random(SEED).sample(space, 5)
    with vault.unit_of_work() as uow:
        ids = [register_rider(vault, uow, phone) for phone in victims]
    backup = index_values(store)
    with vault.unit_of_work() as uow:
        for subject_id in ids:
            vault.destroy(uow, subject_id, ["phone", "profile"], reason="test", actor=DPO)
    assert all(index_values(store)[s] is None for s in ids)

    by_value: dict[int, list[str]] = {}
    for number in space:
        by_value.setdefault(slow_blind_index(secrets.index_key, "phone", number, spec), []).append(
            number
        )
    expected = len(space) / 2**spec.bits
    for subject_id, phone in zip(ids, victims, strict=True):
        stolen = backup[subject_id]
        assert stolen is not None
        candidates = by_value[stolen]
        print(
            f"stolen value {stolen}: {len(candidates)} candidate numbers (expected {expected:.0f})"
        )
        assert phone in candidates and len(candidates) >= expected / 2
        # The index before: one HMAC, one number.
        old = v1_index(secrets.index_key, phone)
        assert [n for n in space if v1_index(secrets.index_key, n) == old] == [phone]


def _per_call(fn: Callable[[int], object], calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - started) / calls


def test_measure_the_cost_of_recovering_one_phone() -> None:
    """Measured on this machine and printed (`pytest -s`): timings are for reading."""
    key = random.Random(SEED).randbytes(32)
    spec = BlindIndexSpec()
    before = _per_call(lambda i: v1_index(key, f"+99450{i:07d}"), 20_000)
    after = _per_call(lambda i: slow_blind_index(key, "phone", f"+99450{i:07d}", spec), 40)
    per_value = AZ_MOBILE_NUMBERS / 2**spec.bits
    print(
        f"\nper candidate: before (HMAC-SHA256) {before * 1e6:.1f} us, after (scrypt "
        f"N=2^{spec.log2_n} r={spec.r} p={spec.p}, {spec.bits} bits) {after * 1e3:.2f} ms "
        f"({after / before:,.0f}x)\n"
        f"every number, one core: before {AZ_MOBILE_NUMBERS * before:,.0f} s, after "
        f"{AZ_MOBILE_NUMBERS * after / 3600:,.0f} h\n"
        f"what it yields: before the phone; after {per_value:,.0f} numbers per index value, "
        f"none confirmable (the phone field's key is shredded)"
    )
    for population in (100_000, 1_000_000, 3_000_000):
        print(f"lookup among {population:,} subjects: {population / 2**spec.bits:.1f} decryptions")
    # Sizing, not speed: a thousand-odd numbers per value, and lookups decrypting tens.
    assert 500 <= per_value <= 2000
    assert 3_000_000 / 2**spec.bits < 50


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_one_phone_registered_twice_at_once_is_one_subject(
    fresh_store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    # No unique constraint can hold a truncated value, so the second registration must wait
    # for the first to commit (an advisory lock on the value), then see it and conflict.
    vault = Vault(fresh_store, policies, secrets, clock=clock, phone_index=TINY)
    phone = phones(1)[0]
    outcome: list[BaseException | str] = []

    def second() -> None:
        try:
            with vault.unit_of_work() as uow:
                outcome.append(register_rider(vault, uow, phone))
        except Exception as exc:
            outcome.append(exc)

    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    with vault.unit_of_work() as uow:
        first = register_rider(vault, uow, phone)
        thread = threading.Thread(target=second)
        thread.start()
        deadline = time.monotonic() + 30
        with fresh_store.records_engine.connect() as probe:
            while not probe.execute(waiting).scalar() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert probe.execute(waiting).scalar() == 1, "the second registration never waited"
    thread.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    with vault.unit_of_work() as uow:
        found = vault.find_by_phone(uow, "bakikart", phone)
    assert found is not None and found.id == first


def _downgrade(store: Store, revision: str) -> None:
    with store.records_engine.begin() as connection:
        command.downgrade(alembic_config("records", connection), revision)


def test_upgrade_drops_the_invertible_index_and_reindex_rebuilds_it(
    fresh_store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    vault = Vault(fresh_store, policies, secrets, clock=clock, phone_index=TINY)
    numbers = phones(3)
    with vault.unit_of_work() as uow:
        ids = [register_rider(vault, uow, phone) for phone in numbers]
    # A store as it was before: full HMACs, unique per policy.
    _downgrade(fresh_store, "a3f0c1d2e401")
    with fresh_store.records_engine.begin() as connection:
        for subject_id, phone in zip(ids, numbers, strict=True):
            connection.execute(
                text("UPDATE subjects SET phone_index = :value WHERE id = :id"),
                {"value": v1_index(secrets.index_key, normalise_phone(phone)), "id": subject_id},
            )
    upgrade_store(fresh_store)
    assert set(index_values(fresh_store).values()) == {REINDEX}
    with fresh_store.records() as session:
        # The invertible values are gone from the store (and from every backup taken after).
        assert set(session.scalars(select(Subject.phone_index))) == {None}
    with vault.unit_of_work() as uow:
        assert vault.phones_pending_reindex(uow) == 3
        assert vault.find_by_phone(uow, "bakikart", numbers[0]) is None
    done = []
    while True:
        with vault.unit_of_work() as uow:
            count = vault.reindex_phones(uow, batch_size=2)
        if not count:
            break
        done.append(count)
    assert done == [2, 1]
    with vault.unit_of_work() as uow:
        assert vault.phones_pending_reindex(uow) == 0
        for subject_id, phone in zip(ids, numbers, strict=True):
            found = vault.find_by_phone(uow, "bakikart", phone)
            assert found is not None and found.id == subject_id


@pytest.mark.usefixtures("env")
def test_keys_reindex_from_the_command_line() -> None:
    from typer.testing import CliRunner

    from mexfi.cli.app import app
    from mexfi.db import open_store

    runner = CliRunner()
    assert runner.invoke(app, ["keys", "reindex", "--help"]).exit_code == 0
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    generated = runner.invoke(app, ["generate", "--riders", "3", "--drivers", "0", "--days", "1"])
    assert generated.exit_code == 0, generated.output
    store = open_store()
    try:
        # As the upgrade leaves a store indexed the old way.
        with store.records_engine.begin() as connection:
            connection.execute(text("UPDATE subjects SET phone_bucket = -1"))
        # Upgrading the schema says what is left to do (the upgrade that emptied them says so).
        upgraded = runner.invoke(app, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        reminder = " ".join(upgraded.stderr.split())
        assert "3 subject(s) wait for their phone index" in reminder
        assert "`mexfi keys reindex`" in reminder
        result = runner.invoke(app, ["keys", "reindex", "--batch-size", "2", "--format", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {"reindexed": 3}
        values = list(index_values(store).values())
        assert len(values) == 3 and all(v is not None and 0 <= v < 2**16 for v in values)
    finally:
        store.dispose()
    again = runner.invoke(app, ["keys", "reindex"])
    assert again.exit_code == 0 and "0 subjects reindexed" in again.stdout
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0 and "phone index" not in upgraded.stderr
