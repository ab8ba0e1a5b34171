"""The vault on both stores: encryption at rest, purpose-bound reads, shredding, disclosures."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select, text, update

from mexfi.audit import AuditAction, verify_log
from mexfi.db import Store, UnitOfWork
from mexfi.errors import Conflict
from mexfi.policy import PolicyNotFound
from mexfi.vault import (
    Actor,
    CardDataRefused,
    DecryptionFailed,
    DisclosureDenied,
    InvalidValue,
    PurposeDenied,
    RecordCreate,
    RecordNotFound,
    UndeclaredData,
    Vault,
)
from mexfi.vault.models import DataKey, DestructionEvidence, FreeTextFinding, Record, Subject
from tests.vault.conftest import (
    DPO,
    DRIVER,
    RIDER_PHONE,
    SERVICE,
    SUPPORT,
    SYSTEM,
    open_request,
)

VEHICLE = {
    "make": "Toyota",
    "model": "Prius",
    "colour": "white",
    "plate_digits": "123",
    "first_name": "Rəşad",
}


def register_rider(vault: Vault, uow: UnitOfWork, phone: str = RIDER_PHONE) -> str:
    subject = vault.register(
        uow,
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


def register_driver(vault: Vault, uow: UnitOfWork) -> str:
    return vault.register(
        uow,
        policy_id="taxsee_driver",
        kind="driver",
        actor=SYSTEM,
        purpose="licence_agreement",
        lookup_phone=str(DRIVER["phone"]),
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


def test_bk_3_1_no_plaintext_in_database_files_or_dump(fresh_vault: Vault) -> None:
    vault = fresh_vault
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
        driver = register_driver(vault, uow)
        vault.write(
            uow,
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
    with vault.unit_of_work() as uow:
        assert vault.subject(uow, driver).status == "active"
        # Committed and readable: the dump below looks at what is really stored.
        assert vault.read(
            uow, rider, ["topups"], purpose="service_provision", actor=SUPPORT
        ).records
    dump = _dump(vault.store)
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
        # Format 2 seals field names inside the ciphertext too.
        "first_name",
        "licence_number",
    ]
    for needle in needles:
        for encoding in ("utf-8", "utf-16-le"):
            assert needle.encode(encoding) not in dump, needle
    assert b"fake-photo-bytes" not in dump


def test_read_round_trips_normalised_values(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
        driver = register_driver(vault, uow)
    with vault.unit_of_work() as uow:
        data = vault.read(
            uow, rider, ["phone", "profile"], purpose="service_provision", actor=SUPPORT
        )
        reg = vault.read(uow, driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
    assert data.by_category("phone")[0].values == {"phone": "+994501234567"}
    assert data.by_category("profile")[0].values["last_name"] == "Həsənova"
    values = reg.records[0].values
    assert values["photo"] == DRIVER["photo"]
    assert str(values["date_of_birth"]) == "1988-03-12"
    assert values["phone"] == "+994557654321"


def test_one_seal_per_record_bound_to_its_place(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
    with store.records() as session:
        rows = session.execute(
            select(Record.category, Record.format, Record.payload).where(Record.subject_id == rider)
        ).all()
    # Format 2: nonce (12) + one ciphertext + tag (16) per record, nothing else.
    assert {r.format for r in rows} == {2}
    phone = next(r for r in rows if r.category == "phone")
    assert len(phone.payload) == 12 + len(b'{"phone":"+994501234567"}') + 16


def test_bk_2_2_blind_index_lookup_and_invalid_phone(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
    with vault.unit_of_work() as uow:
        found = vault.find_by_phone(uow, "bakikart", "050 123 45 67")
        assert found is not None and found.id == rider
        assert vault.find_by_phone(uow, "bakikart", "+994 50 000 00 00") is None
    with pytest.raises(Conflict), vault.unit_of_work() as uow:
        register_rider(vault, uow, "0501234567")
    with pytest.raises(InvalidValue) as info, vault.unit_of_work() as uow:
        register_rider(vault, uow, "12345")
    assert "12345" not in str(info.value)
    with store.records() as session:
        indexes = session.scalars(select(Subject.phone_bucket)).all()
    # Truncated (16 bits): many numbers share each value, so none can be inverted.
    assert all(i is None or 0 <= i < 2**16 for i in indexes)


def test_unknown_policy_is_not_a_missing_subject(vault: Vault) -> None:
    with pytest.raises(PolicyNotFound, match="'scooter' is not loaded") as info:
        vault.policy("scooter")
    assert info.value.hint is not None and "bakikart" in info.value.hint
    with pytest.raises(PolicyNotFound), vault.unit_of_work() as uow:
        vault.find_by_phone(uow, "scooter", RIDER_PHONE)


def test_undeclared_field_and_category_refused(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
        with pytest.raises(UndeclaredData, match=r"'passport'.*'profile'.*'bakikart'"):
            vault.write(
                uow, rider, "profile", {"passport": "X"}, actor=SERVICE, purpose="service_provision"
            )
        with pytest.raises(UndeclaredData, match="registration"):
            vault.write(
                uow,
                rider,
                "registration",
                {"full_name": "X"},
                actor=SERVICE,
                purpose="service_provision",
            )


def test_moved_ciphertext_fails(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        first = register_rider(vault, uow)
        second = register_rider(vault, uow, "+994 51 222 33 44")
    with vault.unit_of_work() as uow:
        rows = {
            r.subject_id: r
            for r in uow.records.scalars(select(Record).where(Record.category == "phone"))
        }
        # Another subject's ciphertext copied into this subject's row.
        uow.records.execute(
            update(Record).where(Record.id == rows[second].id).values(payload=rows[first].payload)
        )
    with pytest.raises(DecryptionFailed), vault.unit_of_work() as uow:
        vault.read(uow, second, ["phone"], purpose="service_provision", actor=SUPPORT)
    with vault.unit_of_work() as uow:
        assert vault.read(uow, first, ["phone"], purpose="service_provision", actor=SUPPORT).records


def test_read_of_no_tier_or_an_unknown_tier_is_refused_plainly(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
        with pytest.raises(InvalidValue, match="at least one tier"):
            vault.read(uow, rider, ["phone"], purpose="service_provision", actor=SUPPORT, tiers=[])
        with pytest.raises(InvalidValue, match="unknown tier 'archive'"):
            vault.read(
                uow,
                rider,
                ["phone"],
                purpose="service_provision",
                actor=SUPPORT,
                tiers=["archive"],
            )


def test_bk_4_1_denied_read_raises_and_is_audited_even_when_rolled_back(
    vault: Vault, store: Store
) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
    with pytest.raises(PurposeDenied, match="marketing"), vault.unit_of_work() as uow:
        vault.read(uow, rider, ["phone"], purpose="marketing", actor=SUPPORT)
    with pytest.raises(PurposeDenied, match="role 'partner'"), vault.unit_of_work() as uow:
        # The refused read rolls back whatever else this unit of work did, not the refusal.
        vault.write(
            uow,
            rider,
            "profile",
            {"first_name": "Aysel"},
            actor=SERVICE,
            purpose="service_provision",
        )
        vault.read(
            uow, rider, ["phone"], purpose="service_provision", actor=Actor("p-1", "partner")
        )
    with store.records() as session:
        denials = vault.audit.entries(session, actions=[AuditAction.DENY])
        profiles = session.scalar(
            select(func.count()).where(Record.subject_id == rider, Record.category == "profile")
        )
    assert profiles == 1
    assert [d.reason for d in denials] == ["purpose_not_declared", "role_not_allowed"]
    assert all(d.subject == vault.pseudonym(rider) for d in denials)


def test_tx_17_payout_accounts_only_for_payout(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.write(
            uow,
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
            vault.read(uow, driver, ["payout_accounts"], purpose="service_operation", actor=SUPPORT)
        read = vault.read(
            uow,
            driver,
            ["payout_accounts"],
            purpose="payout",
            actor=Actor("po-1", "payout_officer"),
        )
    assert read.records[0].values["card_number"] == "4169738812345670"


def test_tx_1_10_blocked_subject_readable_only_for_rectification(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.set_status(uow, driver, "blocked", actor=DPO, reason="subject_request")
    with vault.unit_of_work() as uow:
        with pytest.raises(PurposeDenied, match="blocked"):
            vault.read(uow, driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
        request = open_request(
            vault, uow, driver, purpose="rectification", categories=["registration"]
        )
        data = vault.read(
            uow,
            driver,
            ["registration"],
            purpose="rectification",
            actor=SUPPORT,
            request_id=request,
        )
        vault.rectify(
            uow,
            data.records[0].id,
            {"licence_number": "654321"},
            actor=SUPPORT,
            purpose="rectification",
            request_id=request,
        )
    with vault.unit_of_work() as uow:
        vault.set_status(uow, driver, "active", actor=DPO, reason="subject_request")
        again = vault.read(uow, driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
    assert again.records[0].values["licence_number"] == "654321"


def test_rectification_shreds_the_old_value(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
    with store.records() as session:
        before = session.execute(
            select(Record.key_id, Record.payload).where(
                Record.subject_id == rider, Record.category == "profile"
            )
        ).one()
    with vault.unit_of_work() as uow:
        data = vault.read(uow, rider, ["profile"], purpose="service_provision", actor=SUPPORT)
        vault.rectify(
            uow,
            data.records[0].id,
            {"last_name": "Əliyeva"},
            actor=SUPPORT,
            purpose="rectification",
            request_id=open_request(vault, uow, rider, purpose="rectification"),
        )
    with vault.unit_of_work() as uow:
        after = vault.read(uow, rider, ["profile"], purpose="service_provision", actor=SUPPORT)
    assert after.records[0].values["last_name"] == "Əliyeva"
    assert after.records[0].values["first_name"] == "Leyla"
    with store.keys() as session:
        assert session.get(DataKey, before.key_id) is None  # the old value's key is gone
    with store.records() as session:
        evidence = session.scalars(
            select(DestructionEvidence).where(DestructionEvidence.subject_id == rider)
        ).all()
    assert [(e.reason, e.status, e.key_ids) for e in evidence] == [
        ("rectification", "complete", before.key_id)
    ]


def test_tx_14_card_number_in_order_details_refused(vault: Vault, store: Store) -> None:
    order = {
        "started_at": "2026-03-02T10:00:00+04:00",
        "pickup_address": "Nizami küç. 45",
        "destination_address": "Azadlıq pr. 12",
        "tariff": "comfort",
        "payment_method": "card",
    }
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.write(
            uow,
            driver,
            "orders",
            {**order, "details": "podyezd 2, zəng edin"},
            actor=SYSTEM,
            purpose="order_autofill",
        )
    for details in ("kartım 4169 7388 1234 5670, ödəyin", "card 4111-1111-1111-1111", "CVV: 123"):
        with pytest.raises(CardDataRefused) as info, vault.unit_of_work() as uow:
            vault.write(
                uow,
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
    with vault.unit_of_work() as uow:
        # A Luhn-failing 16-digit reference is not a card.
        vault.write(
            uow,
            driver,
            "orders",
            {**order, "details": "sifariş 4169738812345679"},
            actor=SYSTEM,
            purpose="order_autofill",
        )


def test_tx_14_bank_card_kept_as_token(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.write(
            uow,
            driver,
            "bank_cards",
            {"acquirer_token": "tok_9f8e7d", "brand": "VISA", "last4": "5674"},
            actor=SYSTEM,
            purpose="licence_fee",
        )
        with pytest.raises(CardDataRefused):
            vault.write(
                uow,
                driver,
                "bank_cards",
                {"acquirer_token": "4169738812345670", "brand": "VISA", "last4": "5674"},
                actor=SYSTEM,
                purpose="licence_fee",
            )
        with pytest.raises(UndeclaredData):
            vault.write(
                uow,
                driver,
                "bank_cards",
                {"acquirer_token": "tok_1", "cvv": "123"},
                actor=SYSTEM,
                purpose="licence_fee",
            )


def test_bk_transport_card_numbers_are_stored(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
        vault.write(
            uow,
            rider,
            "transport_cards",
            {"card_number": "4169738812345670", "label": "iş"},
            actor=SERVICE,
            purpose="service_provision",
        )
        data = vault.read(
            uow, rider, ["transport_cards"], purpose="service_provision", actor=SUPPORT
        )
    assert data.records[0].values["card_number"] == "4169738812345670"


def test_tx_8_destroy_leaves_nothing_decryptable_even_from_a_copy(
    vault: Vault, store: Store
) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.write(
            uow, driver, "vehicle_facts", VEHICLE, actor=SYSTEM, purpose="service_operation"
        )
    with store.records() as session:
        backup = session.execute(
            select(Record.id, Record.category, Record.key_id, Record.payload).where(
                Record.subject_id == driver
            )
        ).all()
    with vault.unit_of_work() as uow:
        report = vault.destroy(
            uow,
            driver,
            ["registration"],
            reason="retention",
            actor=SYSTEM,
            rule_id="registration_destroyed",
            clauses=["TX-7.7", "TX-8"],
        )
        # The intent: the keys and rows go once this unit of work commits.
        assert report.status == "pending" and report.records_destroyed == 1 and report.key_ids
    with vault.unit_of_work() as uow:
        assert vault.find_by_phone(uow, "taxsee_driver", str(DRIVER["phone"])) is None
        [certificate] = vault.destruction_evidence(uow, driver, actor=DPO)
    assert (certificate.status, certificate.records_destroyed) == ("complete", 1)
    assert certificate.rule_id == "registration_destroyed"
    assert "Rəşad" not in repr(certificate)
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
                        format=2,
                        payload=payload,
                    )
                )
    with store.keys() as session:
        assert not session.scalars(select(DataKey).where(DataKey.id.in_(report.key_ids))).all()
    with vault.unit_of_work() as uow:
        data = vault.read(uow, driver, ["registration"], purpose="licence_agreement", actor=SYSTEM)
        kept = vault.read(uow, driver, ["vehicle_facts"], purpose="service_operation", actor=SYSTEM)
    assert data.records == []
    assert kept.records[0].values["make"] == "Toyota"


def test_destroy_rolled_back_destroys_nothing(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
    with pytest.raises(RuntimeError), vault.unit_of_work() as uow:
        vault.destroy(uow, rider, ["profile"], reason="test", actor=DPO)
        raise RuntimeError("the operation failed after deciding the destruction")
    with vault.unit_of_work() as uow:
        data = vault.read(uow, rider, ["profile"], purpose="service_provision", actor=SUPPORT)
    assert len(data.records) == 1
    with store.records() as session:
        assert session.scalar(select(func.count()).select_from(DestructionEvidence)) == 0


def test_disclosures_need_register_and_basis(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)  # TX-12
        vault.write(
            uow,
            driver,
            "location",
            {"point": (40.4093, 49.8671), "recorded_at": "2026-03-02T09:00:00+00:00"},
            actor=SYSTEM,
            purpose="service_operation",
        )
    authority = Actor("mia-request-desk", "authority")
    lawful = {
        "recipient": "authorities",
        "purpose": "lawful_request",
        "basis": "law",
        "reference": "REQ-2026-17",
        "actor": authority,
    }
    with pytest.raises(DisclosureDenied, match="law"), vault.unit_of_work() as uow:
        vault.disclose(uow, driver, ["location"], **lawful)  # type: ignore[arg-type]
    with vault.unit_of_work() as uow:
        demand = vault.record_lawful_demand(
            uow,
            driver,
            authority="Ministry of Internal Affairs",
            reference="REQ-2026-17",
            law="Law on Operative-Search Activity, art. 10",
            categories=["location"],
            received_at=vault.clock.now(),
            expires_at=vault.clock.now() + timedelta(days=10),
            actor=DPO,
        )
        data = vault.disclose(
            uow,
            driver,
            ["location"],
            law="Law on Operative-Search Activity, art. 10",
            demand_id=demand,
            **lawful,  # type: ignore[arg-type]
        )
    assert len(data.records) == 1
    assert data.records[0].values["point"] == (40.4093, 49.8671)
    with pytest.raises(DisclosureDenied, match="not in the register"), vault.unit_of_work() as uow:
        vault.disclose(
            uow,
            driver,
            ["location"],
            recipient="advertisers",
            purpose="lawful_request",
            basis="law",
            reference="x",
            actor=authority,
        )
    partner = Actor("partner-1", "third_party")
    consented = {
        "recipient": "third_parties_with_consent",
        "purpose": "consented_disclosure",
        "basis": "written_consent",
        "reference": "DOC-1",
        "actor": partner,
    }
    with pytest.raises(DisclosureDenied, match="written consent"), vault.unit_of_work() as uow:
        vault.disclose(uow, driver, ["location"], **consented)  # type: ignore[arg-type]
    with vault.unit_of_work() as uow:
        vault.record_written_consent(
            uow,
            driver,
            recipient="third_parties_with_consent",
            purposes=["consented_disclosure"],
            categories=["location"],
            document_reference="DOC-1",
            actor=DPO,
        )
        vault.disclose(uow, driver, ["location"], **consented)  # type: ignore[arg-type]
    with vault.unit_of_work() as uow:
        register = vault.disclosures(uow, driver, actor=DPO)
        own = vault.disclosures(uow, driver, actor=Actor("driver-app", "driver", subject_id=driver))
        with pytest.raises(PurposeDenied):
            vault.disclosures(uow, driver, actor=SUPPORT)
    assert [d.recipient for d in register] == ["authorities", "third_parties_with_consent"]
    assert len(own) == 2
    with store.records() as session:
        refused = vault.audit.entries(session, actions=[AuditAction.DISCLOSE])
    assert sum(1 for e in refused if e.outcome == "denied") == 3


def test_tx_13_customer_sees_driver_location_only_during_active_order(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        customer = vault.register(
            uow,
            policy_id="taxsee_driver",
            kind="customer",
            actor=SYSTEM,
            purpose="service_operation",
            lookup_phone="+994 70 111 22 33",
            records={"customer_contact": {"phone": "+994 70 111 22 33"}},
        ).id
        vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)  # TX-12
        vault.write(
            uow,
            driver,
            "location",
            {"point": (40.4, 49.8), "recorded_at": "2026-03-02T09:00:00+00:00"},
            actor=SYSTEM,
            purpose="service_operation",
        )
    me = Actor("customer-app", "customer", subject_id=customer)
    with vault.unit_of_work() as uow:
        with pytest.raises(PurposeDenied, match="active order"):
            vault.read(uow, driver, ["location"], purpose="ride_provision", actor=me)
        order = vault.open_order(uow, driver_id=driver, customer_id=customer, actor=SYSTEM)
        assert vault.read(uow, driver, ["location"], purpose="ride_provision", actor=me).records
        vault.close_order(uow, order, actor=SYSTEM)
        with pytest.raises(PurposeDenied, match="active order"):
            vault.read(uow, driver, ["location"], purpose="ride_provision", actor=me)
        with pytest.raises(RecordNotFound):
            vault.close_order(uow, "0" * 32, actor=SYSTEM)


def test_write_many_is_all_or_nothing(vault: Vault, store: Store) -> None:
    good = {
        "place": "28 May",
        "used_at": "2026-03-02T08:00:00+04:00",
        "kind": "card",
        "card_number": "1234567890",
    }
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
    items = [RecordCreate(rider, "card_use", good) for _ in range(5)]
    items.append(RecordCreate(rider, "card_use", {**good, "kind": "teleport"}))
    with pytest.raises(InvalidValue, match="'kind'"), vault.unit_of_work() as uow:
        vault.write_many(uow, items, actor=SERVICE, purpose="service_provision")
    with store.records() as session:
        assert session.scalar(text("SELECT count(*) FROM records WHERE category='card_use'")) == 0
    with vault.unit_of_work() as uow:
        ids = vault.write_many(uow, items[:5], actor=SERVICE, purpose="service_provision")
    assert len(set(ids)) == 5
    since = vault.clock.now() - timedelta(days=1)
    with vault.unit_of_work() as uow:
        data = vault.read(
            uow, rider, ["card_use"], purpose="service_provision", actor=SUPPORT, since=since
        )
    assert len(data.records) == 5


def test_write_many_audits_one_entry_per_batch_naming_every_subject(
    vault: Vault, store: Store
) -> None:
    with vault.unit_of_work() as uow:
        riders = [
            s.id
            for s in vault.register_many(
                uow, policy_id="bakikart", kind="rider", count=3, actor=SERVICE
            )
        ]
    tap = {"place": "Sahil", "used_at": "2026-03-02T08:00:00+04:00", "kind": "card"}
    with vault.unit_of_work() as uow:
        vault.write_many(
            uow,
            [RecordCreate(r, "card_use", tap) for r in riders for _ in range(riders.index(r) + 1)],
            actor=SERVICE,
            purpose="service_provision",
        )
    with store.records() as session:
        [created] = vault.audit.entries(session, actions=[AuditAction.CREATE])
        mine = vault.audit.entries(session, subject=vault.pseudonym(riders[2]))
    assert created.count == 6 and created.categories == ("card_use",)
    assert created.subjects == {vault.pseudonym(r): i + 1 for i, r in enumerate(riders)}
    # A subject's access log finds the batch entries that name it.
    assert [e.action for e in mine] == [AuditAction.REGISTER, AuditAction.CREATE]


def test_export_streams_the_values_reads_decode(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)  # TX-12
        vault.write(
            uow,
            driver,
            "location",
            {"point": (40.4093, 49.8671), "recorded_at": "2026-03-02T09:00:00+00:00"},
            actor=SYSTEM,
            purpose="service_operation",
        )
    with vault.unit_of_work() as uow:
        rows = list(
            vault.export(
                uow,
                driver,
                ["registration", "location"],
                purpose="subject_request",
                actor=DPO,
                request_id=open_request(vault, uow, driver),
            )
        )
    values = {row.category: orjson.loads(row.values_json) for row in rows}
    assert values["location"] == {
        "point": [40.4093, 49.8671],
        "recorded_at": "2026-03-02T09:00:00+00:00",
    }
    assert values["registration"]["date_of_birth"] == "1988-03-12"
    assert values["registration"]["photo"]["base64"]
    with pytest.raises(PurposeDenied), vault.unit_of_work() as uow:
        vault.export(uow, driver, ["registration"], purpose="service_operation", actor=SUPPORT)


def test_audit_log_verifies_after_vault_traffic(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        register_rider(vault, uow)
    with vault.unit_of_work() as uow:
        register_driver(vault, uow)
    with store.records() as session:
        report = verify_log(session, public_key=vault.audit.public_key)
    assert report.ok, report.problems
    assert report.checkpoints >= 2  # one at the end of each unit of work


def test_tx_23_personal_data_in_free_text_is_reported_without_values(
    vault: Vault, store: Store
) -> None:
    order = {
        "started_at": "2026-03-02T10:00:00+04:00",
        "pickup_address": "Nizami küç. 45",
        "destination_address": "Azadlıq pr. 12",
        "tariff": "comfort",
        "payment_method": "cash",
        "details": "Zəng edin: +994 50 123 45 67, Leyla Həsənova gözləyir",
    }
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        record_id = vault.write(
            uow, driver, "orders", order, actor=SYSTEM, purpose="order_autofill"
        )
    with store.records() as session:
        findings = session.scalars(select(FreeTextFinding)).all()
        created = vault.audit.entries(session, actions=[AuditAction.CREATE])
    assert [(f.record_id, f.field) for f in findings] == [(record_id, "details")]
    assert "PHONE:1" in findings[0].types and "PERSON:1" in findings[0].types
    assert created[-1].reason == "free_text_personal_data"
    with vault.unit_of_work() as uow:
        vault.destroy(uow, driver, ["orders"], reason="test", actor=SYSTEM)
    with store.records() as session:
        assert session.scalars(select(FreeTextFinding)).all() == []


def test_rectified_phone_moves_the_blind_index(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow)
        other = register_rider(vault, uow, "+994 51 222 33 44")
        record = vault.read(
            uow, rider, ["phone"], purpose="service_provision", actor=SUPPORT
        ).records[0]
    with pytest.raises(Conflict), vault.unit_of_work() as uow:
        vault.rectify(
            uow,
            record.id,
            {"phone": "+994 51 222 33 44"},
            actor=SUPPORT,
            purpose="rectification",
            request_id=open_request(vault, uow, rider, purpose="rectification"),
        )
    with vault.unit_of_work() as uow:
        vault.rectify(
            uow,
            record.id,
            {"phone": "+994 70 987 65 43"},
            actor=SUPPORT,
            purpose="rectification",
            request_id=open_request(vault, uow, rider, purpose="rectification"),
        )
    with vault.unit_of_work() as uow:
        moved = vault.find_by_phone(uow, "bakikart", "070 987 65 43")
        assert moved is not None and moved.id == rider
        assert vault.find_by_phone(uow, "bakikart", RIDER_PHONE) is None
        kept = vault.find_by_phone(uow, "bakikart", "+994 51 222 33 44")
        assert kept is not None and kept.id == other
