"""The vault on both stores: encryption at rest, purpose-bound reads, shredding, disclosures."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from mexfi.audit import AuditAction, AuditLog
from mexfi.db import Store
from mexfi.errors import Conflict
from mexfi.vault import (
    Actor,
    CardDataRefused,
    DecryptionFailed,
    DisclosureDenied,
    InvalidValue,
    PurposeDenied,
    RecordCreate,
    UndeclaredData,
    Vault,
)
from mexfi.vault.models import DataKey, Record, Subject
from tests.vault.conftest import DPO, DRIVER, RIDER_PHONE, SERVICE, SUPPORT, SYSTEM

NAME = "Leyla Həsənova"


def register_rider(vault: Vault, phone: str = RIDER_PHONE) -> str:
    subject = vault.register(
        policy_id="bakikart",
        kind="rider",
        actor=SERVICE,
        purpose="service_provision",
        lookup_phone=phone,
        records={
            "phone": {"phone": phone},
            "profile": {
                "first_name": "Leyla",
                "last_name": "Həsənova",
                "email": "leyla@example.az",
            },
        },
    )
    return subject.id


def register_driver(vault: Vault) -> str:
    return vault.register(
        policy_id="taxsee_driver",
        kind="driver",
        actor=SYSTEM,
        purpose="licence_agreement",
        lookup_phone=DRIVER["phone"],  # type: ignore[arg-type]
        records={"registration": DRIVER},
    ).id


def _dump(store: Store) -> bytes:
    """Every byte the store keeps: the SQLite files with their WAL, or a pg_dump."""
    if store.is_sqlite:
        blobs = b""
        for engine in (store.records_engine, store.keys_engine):
            database = Path(str(engine.url.database))
            for suffix in ("", "-wal", "-shm", "-journal"):
                path = database.with_name(database.name + suffix)
                if path.exists():
                    blobs += path.read_bytes()
        return blobs
    url = store.records_engine.url
    out = b""
    for schema in (store.config.records_schema, store.config.keys_schema):
        out += subprocess.run(
            [
                "pg_dump",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                "-n",
                schema,
                "--data-only",
                url.database or "test",
            ],
            check=True,
            capture_output=True,
        ).stdout
    return out


def test_bk_3_1_no_plaintext_in_database_files_or_dump(vault: Vault, store: Store) -> None:
    rider = register_rider(vault)
    driver = register_driver(vault)
    vault.write(
        rider,
        "topups",
        {
            "place": "Koroğlu metro",
            "amount": "5.00",
            "topped_up_at": "2026-03-02T08:00:00+04:00",
            "means": "bank_card",
            "target": "card",
        },
        actor=SERVICE,
        purpose="service_provision",
    )
    assert vault.subject(driver).status == "active"
    dump = _dump(store)
    assert len(dump) > 1000
    needles = [
        "Həsənova",
        "Leyla",
        "leyla@example.az",
        "501234567",
        "+994501234567",
        "Məmmədov",
        "Rəşad",
        "557654321",
        "10-AB-123",
        "123456",
        "Koroğlu",
    ]
    for needle in needles:
        for encoding in ("utf-8", "utf-16-le"):
            assert needle.encode(encoding) not in dump, needle
    assert b"fake-photo-bytes" not in dump


def test_read_round_trips_normalised_values(vault: Vault) -> None:
    rider = register_rider(vault)
    data = vault.read(rider, ["phone", "profile"], purpose="service_provision", actor=SUPPORT)
    assert data.by_category("phone")[0].values == {"phone": "+994501234567"}
    assert data.by_category("profile")[0].values["last_name"] == "Həsənova"
    driver = register_driver(vault)
    reg = vault.read(driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
    values = reg.records[0].values
    assert values["photo"] == DRIVER["photo"]
    assert str(values["date_of_birth"]) == "1988-03-12"
    assert values["phone"] == "+994557654321"


def test_bk_2_2_blind_index_lookup_and_invalid_phone(vault: Vault, store: Store) -> None:
    rider = register_rider(vault)
    assert vault.find_by_phone("bakikart", "050 123 45 67").id == rider  # type: ignore[union-attr]
    assert vault.find_by_phone("bakikart", "+994 50 000 00 00") is None
    with pytest.raises(Conflict):
        register_rider(vault, "0501234567")
    with pytest.raises(InvalidValue) as info:
        register_rider(vault, "12345")
    assert "12345" not in str(info.value)
    with store.records() as session:
        indexes = session.scalars(select(Subject.phone_index)).all()
    assert all(i is None or len(i) == 32 for i in indexes)


def test_undeclared_field_and_category_refused(vault: Vault) -> None:
    rider = register_rider(vault)
    with pytest.raises(UndeclaredData, match=r"'passport'.*'profile'.*'bakikart'"):
        vault.write(rider, "profile", {"passport": "X"}, actor=SERVICE, purpose="service_provision")
    with pytest.raises(UndeclaredData, match="registration"):
        vault.write(
            rider, "registration", {"full_name": "X"}, actor=SERVICE, purpose="service_provision"
        )


def test_moved_ciphertext_fails(vault: Vault, store: Store) -> None:
    first = register_rider(vault)
    second = register_rider(vault, "+994 51 222 33 44")
    with store.records() as session:
        rows = {
            r.subject_id: r
            for r in session.scalars(select(Record).where(Record.category == "phone"))
        }
        # Same subject, another record: copy profile's ciphertext into phone's row.
        session.execute(
            update(Record).where(Record.id == rows[second].id).values(payload=rows[first].payload)
        )
    with pytest.raises(DecryptionFailed):
        vault.read(second, ["phone"], purpose="service_provision", actor=SUPPORT)
    # The first subject's data is untouched.
    assert vault.read(first, ["phone"], purpose="service_provision", actor=SUPPORT).records


def test_bk_4_1_denied_read_raises_and_is_audited(vault: Vault, store: Store) -> None:
    rider = register_rider(vault)
    with pytest.raises(PurposeDenied, match="marketing"):
        vault.read(rider, ["phone"], purpose="marketing", actor=SUPPORT)
    with pytest.raises(PurposeDenied, match="role 'partner'"):
        vault.read(rider, ["phone"], purpose="service_provision", actor=Actor("p-1", "partner"))
    with store.records() as session:
        denials = vault.audit.entries(session, actions=[AuditAction.DENY])
    assert len(denials) == 2
    assert {d.reason for d in denials} == {"purpose_not_declared", "role_not_allowed"}
    assert all(d.subject == vault.pseudonym(rider) for d in denials)


def test_tx_17_payout_accounts_only_for_payout(vault: Vault) -> None:
    driver = register_driver(vault)
    vault.write(
        driver,
        "payout_accounts",
        {
            "bank_code": "AIIBAZ2X",
            "account_number": "AZ21NABZ00000000137010001944",
            "recipient_full_name": "Məmmədov Rəşad Əli oğlu",
            "card_number": "4169738812345670",
        },
        actor=SYSTEM,
        purpose="payout",
    )
    with pytest.raises(PurposeDenied, match="only for purpose 'payout'"):
        vault.read(driver, ["payout_accounts"], purpose="service_operation", actor=SUPPORT)
    read = vault.read(
        driver, ["payout_accounts"], purpose="payout", actor=Actor("po-1", "payout_officer")
    )
    assert read.records[0].values["card_number"] == "4169738812345670"


def test_tx_1_10_blocked_subject_readable_only_for_rectification(vault: Vault) -> None:
    driver = register_driver(vault)
    vault.set_status(driver, "blocked", actor=DPO, reason="subject_request")
    with pytest.raises(PurposeDenied, match="blocked"):
        vault.read(driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
    data = vault.read(driver, ["registration"], purpose="rectification", actor=SUPPORT)
    vault.update(
        data.records[0].id, {"licence_number": "654321"}, actor=SUPPORT, purpose="rectification"
    )
    vault.set_status(driver, "active", actor=DPO, reason="subject_request")
    again = vault.read(driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
    assert again.records[0].values["licence_number"] == "654321"


def test_rectification_shreds_the_old_value(vault: Vault, store: Store) -> None:
    rider = register_rider(vault)
    with store.records() as session:
        before = session.scalar(
            select(Record).where(Record.subject_id == rider, Record.category == "profile")
        )
    assert before is not None
    data = vault.read(rider, ["profile"], purpose="service_provision", actor=SUPPORT)
    vault.update(
        data.records[0].id, {"last_name": "Əliyeva"}, actor=SUPPORT, purpose="rectification"
    )
    after = vault.read(rider, ["profile"], purpose="service_provision", actor=SUPPORT)
    assert after.records[0].values["last_name"] == "Əliyeva"
    with store.keys() as session:
        assert session.get(DataKey, before.key_id) is None  # the old value's key is gone


def test_tx_14_card_number_in_order_details_refused(vault: Vault, store: Store) -> None:
    driver = register_driver(vault)
    order = {
        "started_at": "2026-03-02T10:00:00+04:00",
        "pickup_address": "Nizami küç. 45",
        "destination_address": "Azadlıq pr. 12",
        "tariff": "comfort",
        "payment_method": "card",
    }
    vault.write(
        driver,
        "orders",
        {**order, "details": "podyezd 2, zəng edin"},
        actor=SYSTEM,
        purpose="order_autofill",
    )
    for details in ("kartım 4169 7388 1234 5670, ödəyin", "card 4111-1111-1111-1111", "CVV: 123"):
        with pytest.raises(CardDataRefused) as info:
            vault.write(
                driver,
                "orders",
                {**order, "details": details},
                actor=SYSTEM,
                purpose="order_autofill",
            )
        assert "4169" not in str(info.value) and "4111" not in str(info.value)
    with store.records() as session:
        count = session.scalar(text("SELECT count(*) FROM records WHERE category = 'orders'"))
    assert count == 1
    # A Luhn-failing 16-digit reference is not a card.
    vault.write(
        driver,
        "orders",
        {**order, "details": "sifariş 4169738812345679"},
        actor=SYSTEM,
        purpose="order_autofill",
    )


def test_tx_14_bank_card_kept_as_token(vault: Vault) -> None:
    driver = register_driver(vault)
    vault.write(
        driver,
        "bank_cards",
        {"acquirer_token": "tok_9f8e7d", "brand": "VISA", "last4": "5674"},
        actor=SYSTEM,
        purpose="licence_fee",
    )
    with pytest.raises(CardDataRefused):
        vault.write(
            driver,
            "bank_cards",
            {"acquirer_token": "4169738812345670", "brand": "VISA", "last4": "5674"},
            actor=SYSTEM,
            purpose="licence_fee",
        )
    with pytest.raises(UndeclaredData):
        vault.write(
            driver,
            "bank_cards",
            {"acquirer_token": "tok_1", "cvv": "123"},
            actor=SYSTEM,
            purpose="licence_fee",
        )


def test_bk_transport_card_numbers_are_stored(vault: Vault) -> None:
    rider = register_rider(vault)
    vault.write(
        rider,
        "transport_cards",
        {"card_number": "4169738812345670", "label": "iş"},
        actor=SERVICE,
        purpose="service_provision",
    )
    data = vault.read(rider, ["transport_cards"], purpose="service_provision", actor=SUPPORT)
    assert data.records[0].values["card_number"] == "4169738812345670"


def test_tx_8_destroy_leaves_nothing_decryptable_even_from_a_copy(
    vault: Vault, store: Store
) -> None:
    driver = register_driver(vault)
    vault.write(
        driver,
        "vehicle_facts",
        {
            "make": "Toyota",
            "model": "Prius",
            "colour": "white",
            "plate_digits": "123",
            "first_name": "Rəşad",
        },
        actor=SYSTEM,
        purpose="service_operation",
    )
    with store.records() as session:
        backup = [
            (r.id, r.category, r.key_id, r.payload)
            for r in session.scalars(select(Record).where(Record.subject_id == driver))
        ]
    report = vault.destroy(
        driver,
        ["registration"],
        reason="retention",
        actor=SYSTEM,
        rule_id="registration_destroyed",
        clauses=["TX-7.7", "TX-8"],
    )
    assert report.status == "complete" and report.records_destroyed == 1 and report.key_ids
    assert vault.find_by_phone("taxsee_driver", DRIVER["phone"]) is None  # type: ignore[arg-type]
    # Restore the rows from the "backup": still nothing decrypts, because the key is gone.
    with store.records() as session:
        for record_id, category, key_id, payload in backup:
            if category == "registration":
                session.add(
                    Record(
                        id=record_id,
                        subject_id=driver,
                        category=category,
                        collected_at=vault.clock.now(),
                        key_id=key_id,
                        payload=payload,
                    )
                )
    with store.keys() as session:
        assert not session.scalars(select(DataKey).where(DataKey.id.in_(report.key_ids))).all()
    data = vault.read(driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
    assert data.records == []
    kept = vault.read(driver, ["vehicle_facts"], purpose="service_operation", actor=SYSTEM)
    assert kept.records[0].values["make"] == "Toyota"
    evidence = vault.destruction_evidence(driver, actor=DPO)
    assert evidence[0].rule_id == "registration_destroyed"
    assert "Rəşad" not in repr(evidence)


def test_destroy_is_crash_safe_between_keys_and_rows(vault: Vault, store: Store) -> None:
    rider = register_rider(vault)
    # Simulate a crash right after the keys were shredded: rows are still there.
    with store.keys() as session:
        key_ids = vault.keys.key_ids(session, rider, ["profile"])
        vault.keys.shred(session, key_ids)
    assert vault.read(rider, ["profile"], purpose="service_provision", actor=SUPPORT).records == []
    with pytest.raises(DecryptionFailed), store.records() as session:
        row = session.scalar(
            select(Record).where(Record.subject_id == rider, Record.category == "profile")
        )
        assert row is not None
        other_key = vault.keys.ensure  # the data cannot be opened under any other key
        with store.keys() as key_session:
            _, dek = other_key(key_session, [(rider, "profile", "active")], at=vault.clock.now())[
                (rider, "profile", "active")
            ]
        vault.decrypt_payload(
            vault.policy("bakikart"),
            rider,
            row.id,
            vault.policy("bakikart").category("profile"),
            row.payload,
            dek,
        )


def test_disclosures_need_register_and_basis(vault: Vault, store: Store) -> None:
    driver = register_driver(vault)
    vault.write(
        driver,
        "location",
        {"point": (40.4093, 49.8671), "recorded_at": "2026-03-02T09:00:00+00:00"},
        actor=SYSTEM,
        purpose="service_operation",
    )
    authority = Actor("mia-request-desk", "authority")
    with pytest.raises(DisclosureDenied, match="law"):
        vault.disclose(
            driver,
            ["location"],
            recipient="authorities",
            purpose="lawful_request",
            basis="law",
            reference="REQ-2026-17",
            actor=authority,
        )
    data = vault.disclose(
        driver,
        ["location"],
        recipient="authorities",
        purpose="lawful_request",
        basis="law",
        law="Law on Operative-Search Activity, art. 10",
        reference="REQ-2026-17",
        actor=authority,
    )
    assert len(data.records) == 1
    with pytest.raises(DisclosureDenied, match="not in the register"):
        vault.disclose(
            driver,
            ["location"],
            recipient="advertisers",
            purpose="lawful_request",
            basis="law",
            reference="x",
            actor=authority,
        )
    partner = Actor("partner-1", "third_party")
    with pytest.raises(DisclosureDenied, match="written consent"):
        vault.disclose(
            driver,
            ["location"],
            recipient="third_parties_with_consent",
            purpose="consented_disclosure",
            basis="written_consent",
            reference="DOC-1",
            actor=partner,
        )
    vault.record_written_consent(
        driver,
        recipient="third_parties_with_consent",
        purposes=["consented_disclosure"],
        categories=["location"],
        document_reference="DOC-1",
        actor=DPO,
    )
    vault.disclose(
        driver,
        ["location"],
        recipient="third_parties_with_consent",
        purpose="consented_disclosure",
        basis="written_consent",
        reference="DOC-1",
        actor=partner,
    )
    register = vault.disclosures(driver, actor=DPO)
    assert [d.recipient for d in register] == ["authorities", "third_parties_with_consent"]
    own = vault.disclosures(driver, actor=Actor("driver-app", "driver", subject_id=driver))
    assert len(own) == 2
    with pytest.raises(PurposeDenied):
        vault.disclosures(driver, actor=SUPPORT)
    with store.records() as session:
        refused = vault.audit.entries(session, actions=[AuditAction.DISCLOSE])
    assert sum(1 for e in refused if e.outcome == "denied") == 3


def test_tx_13_customer_sees_driver_location_only_during_active_order(vault: Vault) -> None:
    driver = register_driver(vault)
    customer = vault.register(
        policy_id="taxsee_driver",
        kind="customer",
        actor=SYSTEM,
        purpose="service_operation",
        lookup_phone="+994 70 111 22 33",
        records={"customer_contact": {"phone": "+994 70 111 22 33"}},
    ).id
    vault.write(
        driver,
        "location",
        {"point": (40.4, 49.8), "recorded_at": "2026-03-02T09:00:00+00:00"},
        actor=SYSTEM,
        purpose="service_operation",
    )
    me = Actor("customer-app", "customer", subject_id=customer)
    with pytest.raises(PurposeDenied, match="active order"):
        vault.read(driver, ["location"], purpose="ride_provision", actor=me)
    order = vault.open_order(driver_id=driver, customer_id=customer, actor=SYSTEM)
    assert vault.read(driver, ["location"], purpose="ride_provision", actor=me).records
    vault.close_order(order)
    with pytest.raises(PurposeDenied, match="active order"):
        vault.read(driver, ["location"], purpose="ride_provision", actor=me)


def test_write_many_is_all_or_nothing(vault: Vault, store: Store) -> None:
    rider = register_rider(vault)
    good = {
        "place": "28 May",
        "used_at": "2026-03-02T08:00:00+04:00",
        "kind": "card",
        "card_number": "1234567890",
    }
    items = [RecordCreate(rider, "card_use", good) for _ in range(5)]
    items.append(RecordCreate(rider, "card_use", {**good, "kind": "teleport"}))
    with pytest.raises(InvalidValue, match="'kind'"):
        vault.write_many(items, actor=SERVICE, purpose="service_provision")
    with store.records() as session:
        assert session.scalar(text("SELECT count(*) FROM records WHERE category='card_use'")) == 0
    ids = vault.write_many(items[:5], actor=SERVICE, purpose="service_provision")
    assert len(set(ids)) == 5
    since = vault.clock.now() - timedelta(days=1)
    data = vault.read(rider, ["card_use"], purpose="service_provision", actor=SUPPORT, since=since)
    assert len(data.records) == 5


def test_audit_log_verifies_after_vault_traffic(vault: Vault, store: Store) -> None:
    from mexfi.audit import verify_log

    register_rider(vault)
    register_driver(vault)
    with store.records() as session:
        report = verify_log(session, public_key=vault.secrets.audit_signing_key.public_key())
    assert report.ok, report.problems
    assert isinstance(vault.audit, AuditLog)


def test_tx_23_personal_data_in_free_text_is_reported_without_values(
    vault: Vault, store: Store
) -> None:
    from mexfi.vault.models import FreeTextFinding

    driver = register_driver(vault)
    order = {
        "started_at": "2026-03-02T10:00:00+04:00",
        "pickup_address": "Nizami küç. 45",
        "destination_address": "Azadlıq pr. 12",
        "tariff": "comfort",
        "payment_method": "cash",
        "details": "Zəng edin: +994 50 123 45 67, Leyla Həsənova gözləyir",
    }
    record_id = vault.write(driver, "orders", order, actor=SYSTEM, purpose="order_autofill")
    with store.records() as session:
        findings = session.scalars(select(FreeTextFinding)).all()
        created = vault.audit.entries(session, actions=[AuditAction.CREATE])
    assert [(f.record_id, f.field) for f in findings] == [(record_id, "details")]
    assert "PHONE:1" in findings[0].types and "PERSON:1" in findings[0].types
    assert created[-1].reason == "free_text_personal_data"
    vault.destroy(driver, ["orders"], reason="test", actor=SYSTEM)
    with store.records() as session:
        assert session.scalars(select(FreeTextFinding)).all() == []


def test_rectified_phone_moves_the_blind_index(vault: Vault) -> None:
    rider = register_rider(vault)
    other = register_rider(vault, "+994 51 222 33 44")
    record = vault.read(rider, ["phone"], purpose="service_provision", actor=SUPPORT).records[0]
    with pytest.raises(Conflict):
        vault.update(
            record.id, {"phone": "+994 51 222 33 44"}, actor=SUPPORT, purpose="rectification"
        )
    vault.update(record.id, {"phone": "+994 70 987 65 43"}, actor=SUPPORT, purpose="rectification")
    assert vault.find_by_phone("bakikart", "070 987 65 43").id == rider  # type: ignore[union-attr]
    assert vault.find_by_phone("bakikart", RIDER_PHONE) is None
    assert vault.find_by_phone("bakikart", "+994 51 222 33 44").id == other  # type: ignore[union-attr]
