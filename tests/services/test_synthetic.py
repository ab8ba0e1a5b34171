"""Synthetic data: reproducible from a seed, shaped like Baku, counted, free of card numbers."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from mexfi.clock import FixedClock
from mexfi.db import Store, StoreConfig
from mexfi.migrations import upgrade_store
from mexfi.policy.loader import load_bundled_policies
from mexfi.policy.schema import FieldType
from mexfi.scan.cards import find_card_numbers, find_security_codes, luhn_valid
from mexfi.secrets import Secrets
from mexfi.services.synthetic import (
    BAKU_BOX,
    BAKU_STREETS,
    MOBILE_PREFIXES,
    GenerationSummary,
    Synth,
    generate,
    iban_check_digits,
    luhn_check_digit,
)
from mexfi.vault import Actor, RecordRead, Vault
from mexfi.vault.models import Record, Subject
from tests.vault.conftest import open_request

END = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DPO = Actor("dpo-1", "dpo")
SYSTEM = Actor("svc-taxsee", "system")
PAYOUT_OFFICER = Actor("po-1", "payout_officer")


def small(vault: Vault, seed: int) -> GenerationSummary:
    """A small generation: 6 riders, 3 drivers, 3 days."""
    return generate(vault, riders=6, drivers=3, days=3, batch_size=40, seed=seed, end=END)


def _vault(store: Store) -> Vault:
    return Vault(store, load_bundled_policies(), Secrets.generate("mk-test"), clock=FixedClock(END))


def _sqlite_store(directory: Path) -> Store:
    directory.mkdir(parents=True, exist_ok=True)
    store = Store(
        StoreConfig(
            records_url=f"sqlite:///{directory / 'records.sqlite'}",
            keys_url=f"sqlite:///{directory / 'keys.sqlite'}",
        )
    )
    upgrade_store(store)
    return store


def _everything(vault: Vault) -> list[tuple[str, str, RecordRead]]:
    """(policy, subject kind, record) of every record, decrypted through the vault."""
    with vault.store.records() as session:
        subjects = list(session.scalars(select(Subject).order_by(Subject.registered_at)))
    out: list[tuple[str, str, RecordRead]] = []
    with vault.unit_of_work() as uow:
        for subject in subjects:
            policy = vault.policy(subject.policy_id)
            categories = [c.id for c in policy.categories_of(subject.kind)]
            if subject.kind == "customer":
                data = vault.read(
                    uow, subject.id, categories, purpose="service_operation", actor=SYSTEM
                )
            else:
                answered = policy.purpose("subject_request").categories
                data = vault.read(
                    uow,
                    subject.id,
                    [c for c in categories if c in answered],
                    purpose="subject_request",
                    actor=DPO,
                    request_id=open_request(vault, uow, subject.id),
                )
                # TX-17: payout data is read for payouts only, by the payout officer.
                payout = [c for c in categories if c not in answered]
                if payout:
                    out.extend(
                        (subject.policy_id, subject.kind, record)
                        for record in vault.read(
                            uow, subject.id, payout, purpose="payout", actor=PAYOUT_OFFICER
                        ).records
                    )
            out.extend((subject.policy_id, subject.kind, record) for record in data.records)
    return out


def _canonical(rows: list[tuple[str, str, RecordRead]]) -> list[tuple[Any, ...]]:
    return sorted(
        (policy, kind, r.category, r.collected_at.isoformat(), repr(sorted(r.values.items())))
        for policy, kind, r in rows
    )


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[tuple[Vault, GenerationSummary]]:
    store = _sqlite_store(tmp_path / "one")
    vault = _vault(store)
    summary = small(vault, 11)
    yield vault, summary
    store.dispose()


def test_same_seed_same_values_other_seed_other_values(tmp_path: Path) -> None:
    dumps = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        store = _sqlite_store(tmp_path / name)
        try:
            vault = _vault(store)
            small(vault, seed)
            dumps.append(_canonical(_everything(vault)))
        finally:
            store.dispose()
    assert len(dumps[0]) > 100
    assert dumps[0] == dumps[1]
    assert dumps[0] != dumps[2]


def test_counts_per_category_match_the_store(store: Store) -> None:
    """Also on PostgreSQL: every record the summary counts is in the store, and no more."""
    vault = _vault(store)
    summary = generate(vault, riders=4, drivers=2, days=2, seed=3, batch_size=25, end=END)
    with store.records() as session:
        stored = dict(
            session.execute(select(Record.category, func.count()).group_by(Record.category)).all()
        )
        kinds = Counter(session.scalars(select(Subject.kind)))
    assert {c: n for (_, c), n in summary.records.items()} == stored
    assert kinds == {"rider": 4, "driver": 2, "customer": 4}
    assert summary.total_subjects == 10
    assert summary.total_records == sum(stored.values())
    # Riders tap about twice a day; drivers serve orders and ping during shifts.
    for category in ("phone", "transport_cards", "card_use", "registration", "location", "orders"):
        assert stored.get(category, 0) > 0, category
    assert summary.batches > 1


def test_shapes_are_realistic(generated: tuple[Vault, GenerationSummary]) -> None:
    vault, summary = generated
    rows = _everything(vault)
    south, west, north, east = BAKU_BOX
    phones = [
        r.values["phone"]
        for _, _, r in rows
        if r.category in ("phone", "registration", "customer_contact")
    ]
    assert len(phones) == 6 + 3 + 6 and len(set(phones)) == len(phones)
    for phone in phones:
        assert re.fullmatch(r"\+994\d{9}", phone), phone
        assert phone[4:6] in MOBILE_PREFIXES
    for _, _, record in rows:
        values = record.values
        assert summary.start - (summary.end - summary.start) * 200 <= record.collected_at
        assert record.collected_at <= summary.end
        if record.category == "orders":
            addresses = [values["pickup_address"], values["destination_address"]]
            addresses += values.get("waypoints", "").split("; ") if "waypoints" in values else []
            for address in addresses:
                assert address.endswith(", Bakı"), address
                assert any(address.startswith(street + " ") for street in BAKU_STREETS), address
        for point in (values.get("point"), values.get("location")):
            if point is not None:
                assert south <= point[0] <= north and west <= point[1] <= east, point
        if record.category == "payout_accounts":
            iban = values["account_number"]
            assert iban.startswith("AZ") and len(iban) == 28
            rearranged = iban[4:] + iban[:4]
            assert int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
            if "card_number" in values:
                assert luhn_valid(values["card_number"])
        if record.category == "registration":
            assert re.fullmatch(r"\d{2}-[A-Z]{2}-\d{3}", values["plate"])
            assert values["photo"].startswith(b"\x89PNG")
            assert values["full_name"].endswith(("oğlu", "qızı", "вич", "вна"))
        if record.category == "bank_cards":
            assert re.fullmatch(r"\d{4}", values["last4"])
            assert not find_card_numbers(values["acquirer_token"])


def test_no_generated_free_text_carries_card_data(
    generated: tuple[Vault, GenerationSummary],
) -> None:
    vault, _ = generated
    policies = vault.policies
    checked = 0
    for policy_id, _, record in _everything(vault):
        category = policies[policy_id].category(record.category)
        for name, value in record.values.items():
            field = category.field(name)
            assert field is not None
            if field.type in (FieldType.PAYMENT_CARD_NUMBER, FieldType.TRANSPORT_CARD_NUMBER):
                continue
            if isinstance(value, str):
                assert not find_card_numbers(value), (record.category, name)
                assert not find_security_codes(value), (record.category, name)
                checked += field.type is FieldType.TEXT
    assert checked > 0  # order details and top-up details were among them


def test_names_take_their_gendered_forms() -> None:
    synth = Synth(random.Random(1))
    people = [synth.person(ru_share=0.5) for _ in range(400)]
    for person in people:
        if person.lang == "az":
            assert person.patronymic.endswith("qızı" if person.female else "oğlu")
            if person.surname.endswith(("ova", "yeva", "eva")):
                assert person.female
        else:
            assert person.patronymic.endswith("вна" if person.female else "вич")
            if person.female and person.surname.endswith(("ов", "ев", "ин")):
                pytest.fail(f"masculine surname {person.surname} for a woman")
    assert {p.lang for p in people} == {"az", "ru"} and {p.female for p in people} == {True, False}


def test_check_digits() -> None:
    assert iban_check_digits("AZ", "NABZ00000000137010001944") == "21"
    assert luhn_check_digit("411111111111111") == "1"
    assert luhn_check_digit("7992739871") == "3"
    synth = Synth(random.Random(2))
    for _ in range(50):
        assert luhn_valid(synth.payment_card_number("4169"))
        assert len(synth.iban("AIIB")) == 28


def test_generate_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mexfi.cli.generate import generate_command

    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEXFI_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'records.sqlite'}")
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", f"sqlite:///{tmp_path / 'data' / 'keys.sqlite'}")
    monkeypatch.setenv("MEXFI_KEY_FILE", str(tmp_path / "data" / "keys.json"))
    monkeypatch.delenv("MEXFI_MASTER_KEY", raising=False)
    from mexfi.cli.keys import init_command

    app = typer.Typer()
    app.command("generate")(generate_command)
    app.command("init")(init_command)
    runner = CliRunner()
    args = ["generate", "--riders", "3", "--drivers", "2", "--days", "2", "--seed", "4"]
    # Only `mexfi init` creates a store and its key files (tests/cli/test_store_cli.py).
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, [*args, "--batch-size", "20"])
    assert result.exit_code == 0, result.output
    assert "card_use" in result.output and "registration" in result.output
    as_json = runner.invoke(app, [*args, "--format", "json", "--end", "2026-03-02T13:00:00+04:00"])
    assert as_json.exit_code == 0, as_json.output
    assert '"total_records"' in as_json.output
    bad = runner.invoke(app, [*args, "--end", "yesterday"])
    assert bad.exit_code != 0
