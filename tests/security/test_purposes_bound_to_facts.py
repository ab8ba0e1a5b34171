"""Purposes bound to facts (issue 10, item 3, reads): a role and a purpose name what may be
done; the read must also cite the recorded fact that it is being done now, for this subject.

Each test replays an attack of the issue against the real vault on both stores: `support`
naming `subject_request` or `rectification` to reach every category; a lawful request
without a demand; third parties, partners and personalized notifications without consent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from mexfi.audit import AuditAction, AuditEntry, AuditOutcome
from mexfi.clock import FixedClock
from mexfi.policy import Policy
from mexfi.requests import RequestState
from mexfi.vault import Actor, InvalidValue, PurposeDenied, RecordCreate, Vault
from mexfi.vault.access import check_access
from tests.requests.conftest import add, answered
from tests.vault.conftest import DPO, SERVICE, SUPPORT, SYSTEM, open_request
from tests.vault.test_vault import VEHICLE, register_driver, register_rider

AUTHORITY = Actor("court-7", "authority")
THIRD_PARTY = Actor("insurer-3", "third_party")
PARTNER = Actor("partner-9", "partner")
PAYOUT_OFFICER = Actor("po-1", "payout_officer")
OTHER_PHONE = "+994 51 222 33 44"

PAYOUT = {
    "bank_code": "NABZAZ2X",
    "account_number": "AZ21NABZ00000000137010001944",
    "recipient_full_name": "Məmmədov Rəşad Əli oğlu",
    "card_number": "4169738812345670",
}


def denied(vault: Vault, reason: str, **read: object) -> None:
    """The read is refused for `reason`, and the refusal is on the audit log."""
    with vault.unit_of_work() as uow:
        with pytest.raises(PurposeDenied) as caught:
            vault.read(uow, **read)  # type: ignore[arg-type]
        assert caught.value.reason == reason, caught.value
        denials = uow.records.scalars(
            select(AuditEntry.reason).where(AuditEntry.outcome == AuditOutcome.DENIED.value)
        ).all()
        assert reason in denials


def rider_with_taps(vault: Vault, phone: str = "+994 50 123 45 67") -> str:
    now = vault.clock.now()
    with vault.unit_of_work() as uow:
        rider = register_rider(vault, uow, phone)
        tap = {"place": "28 May", "used_at": now, "kind": "card", "card_number": "900000001"}
        device = {"model": "A52", "brand": "Samsung", "os": "Android", "os_version": "14"}
        vault.write_many(
            uow,
            [
                RecordCreate(rider, "card_use", tap, now - timedelta(hours=1)),
                RecordCreate(rider, "device", device, now - timedelta(hours=1)),
            ],
            actor=SERVICE,
            purpose="service_provision",
        )
    return rider


def access_request(vault: Vault, subject: str, **options: Any) -> str:
    request = add(
        vault, policy_id="bakikart", kind="access", channel="written", actor=SUPPORT,
        subject_id=subject, **options,
    )  # fmt: skip
    assert request.state is RequestState.IN_PROGRESS
    return request.id


# --------------------------------------------------------------------------- subject requests


def test_subject_request_reads_need_an_open_verified_request_of_that_subject(
    vault: Vault,
) -> None:
    rider = rider_with_taps(vault)
    other = rider_with_taps(vault, OTHER_PHONE)
    read: dict[str, object] = {"subject_id": rider, "categories": ["phone", "card_use"]}
    read |= {"purpose": "subject_request", "actor": SUPPORT}
    # The attack of the issue: support names the purpose, cites nothing.
    denied(vault, "no_request", **read)
    # Another subject's request, or an id nobody recorded, opens nothing.
    denied(vault, "request_not_found", **read, request_id=access_request(vault, other))
    denied(vault, "request_not_found", **read, request_id="0" * 32)
    # A request rejected on intake (TX-11's written requirements missing) opens nothing.
    driver = _driver(vault)
    rejected = add(
        vault, policy_id="taxsee_driver", kind="access", channel="written", actor=SUPPORT,
        subject_id=driver,
    )  # fmt: skip
    assert rejected.state is RequestState.REJECTED
    denied(
        vault, "request_not_found", subject_id=driver, categories=["registration"],
        purpose="subject_request", actor=SUPPORT, request_id=rejected.id,
    )  # fmt: skip
    # The subject's own verified request opens the read...
    request = access_request(vault, rider)
    with vault.unit_of_work() as uow:
        data = vault.read(uow, **read, request_id=request)  # type: ignore[arg-type]
    assert {r.category for r in data.records} == {"phone", "card_use"}
    # ...until it is answered.
    answered(vault, request, actor=SUPPORT)
    denied(vault, "request_closed", **read, request_id=request)


def test_a_request_reaches_only_the_categories_and_tiers_it_names(vault: Vault) -> None:
    rider = rider_with_taps(vault)
    request = access_request(vault, rider, categories=["card_use"])
    read = {"subject_id": rider, "purpose": "subject_request", "actor": DPO, "request_id": request}
    with vault.unit_of_work() as uow:
        assert len(vault.read(uow, categories=["card_use"], **read).records) == 1  # type: ignore[arg-type]
    denied(vault, "outside_request", categories=["phone"], **read)
    # BK-3.3: the passive tier only when the request asks for it.
    denied(vault, "outside_request", categories=["card_use"], tiers=["passive"], **read)
    passive = access_request(vault, rider, categories=["card_use"], include_passive=True)
    with vault.unit_of_work() as uow:
        vault.read(
            uow, rider, ["card_use"], purpose="subject_request", actor=DPO,
            tiers=["active", "passive"], request_id=passive,
        )  # fmt: skip


def test_the_answer_path_cites_its_request(vault: Vault) -> None:
    rider = rider_with_taps(vault)
    request = access_request(vault, rider)
    answer = answered(vault, request, actor=SUPPORT)
    assert answer.request.state is RequestState.ANSWERED
    assert {r["category"] for r in answer.data["records"]} == {
        "phone",
        "profile",
        "card_use",
        "device",
    }
    with vault.unit_of_work() as uow:
        exports = uow.records.scalars(
            select(AuditEntry).where(AuditEntry.action == AuditAction.EXPORT.value)
        ).all()
    assert exports and all(e.outcome == AuditOutcome.OK.value for e in exports)


# --------------------------------------------------------------------------- rectification


def test_rectification_reads_only_the_categories_being_rectified(vault: Vault) -> None:
    rider = rider_with_taps(vault)
    read = {"subject_id": rider, "purpose": "rectification", "actor": SUPPORT}
    denied(vault, "no_request", categories=["profile"], **read)
    request = add(
        vault, policy_id="bakikart", kind="rectification", channel="written", actor=SUPPORT,
        subject_id=rider, categories=["profile"],
    )  # fmt: skip
    with vault.unit_of_work() as uow:
        [profile] = vault.read(uow, categories=["profile"], request_id=request.id, **read).records  # type: ignore[arg-type]
    denied(vault, "outside_request", categories=["phone"], request_id=request.id, **read)
    # An access request is no licence to rectify, nor a rectification one to read everything.
    denied(
        vault,
        "request_not_found",
        categories=["profile"],
        request_id=access_request(vault, rider),
        **read,
    )
    unnamed = add(
        vault, policy_id="bakikart", kind="rectification", channel="written", actor=SUPPORT,
        subject_id=rider,
    )  # fmt: skip
    denied(vault, "outside_request", categories=["profile"], request_id=unnamed.id, **read)
    # The answer rectifies the record it names, citing the request.
    answer = answered(
        vault, request.id, actor=SUPPORT, changes={profile.id: {"first_name": "Lalə"}}
    )
    assert answer.request.state is RequestState.ANSWERED
    with vault.unit_of_work() as uow:
        again = vault.read(uow, rider, ["profile"], purpose="service_provision", actor=SUPPORT)
    assert again.records[0].values["first_name"] == "Lalə"


# --------------------------------------------------------------------------- TX-17 payouts


def _driver(vault: Vault) -> str:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.write(
            uow, driver, "vehicle_facts", VEHICLE, actor=SYSTEM, purpose="service_operation"
        )
        vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)  # TX-12
        vault.write(
            uow,
            driver,
            "location",
            {"point": (40.4093, 49.8671), "recorded_at": "2026-03-02T08:00:00+00:00"},
            actor=SYSTEM,
            purpose="service_operation",
        )
        vault.write(uow, driver, "payout_accounts", PAYOUT, actor=PAYOUT_OFFICER, purpose="payout")
    return driver


def test_tx_17_payout_data_only_for_the_payout_purpose_and_roles(
    vault: Vault, policies: dict[str, Policy]
) -> None:
    driver = _driver(vault)
    payout = {"subject_id": driver, "categories": ["payout_accounts"]}
    with vault.unit_of_work() as uow:
        request = open_request(vault, uow, driver)
        rectifying = open_request(
            vault, uow, driver, purpose="rectification", categories=["registration"]
        )
    denied(
        vault, "category_reserved", purpose="subject_request", actor=SUPPORT, request_id=request,
        **payout,
    )  # fmt: skip
    denied(
        vault, "category_reserved", purpose="rectification", actor=SUPPORT,
        request_id=rectifying, **payout,
    )  # fmt: skip
    denied(vault, "role_not_allowed", purpose="payout", actor=SUPPORT, **payout)
    with vault.unit_of_work() as uow:
        data = vault.read(uow, purpose="payout", actor=PAYOUT_OFFICER, **payout)  # type: ignore[arg-type]
    assert data.records[0].values["account_number"] == PAYOUT["account_number"]
    # A lawful demand cannot reach payout data either.
    with pytest.raises(InvalidValue, match="payout_accounts"), vault.unit_of_work() as uow:
        vault.record_lawful_demand(
            uow, driver, authority="Court", reference="1/2026", law="Law on Personal Data",
            categories=["payout_accounts"], received_at=vault.clock.now(),
            expires_at=vault.clock.now() + timedelta(days=1), actor=DPO,
        )  # fmt: skip
    # Should payout data be listed under a request purpose again, `sole_purpose` still holds.
    taxsee = policies["taxsee_driver"]
    purposes = [
        p.model_copy(update={"categories": [*p.categories, "payout_accounts"]})
        if p.id == "subject_request"
        else p
        for p in taxsee.purposes
    ]
    relisted = taxsee.model_copy(update={"purposes": purposes})
    with pytest.raises(PurposeDenied) as caught:
        check_access(
            relisted, subject_kind="driver", subject_status="active", subject_id=driver,
            categories=["payout_accounts"], purpose_id="subject_request", actor=DPO,
        )  # fmt: skip
    assert caught.value.reason == "category_reserved"


# --------------------------------------------------------------------------- lawful requests


def test_lawful_request_reads_cite_a_recorded_demand_within_its_scope_and_term(
    vault: Vault, clock: FixedClock
) -> None:
    driver = _driver(vault)
    other = rider_with_taps(vault)
    read = {"subject_id": driver, "purpose": "lawful_request", "actor": AUTHORITY}
    denied(vault, "no_lawful_demand", categories=["registration"], **read)
    demand = {
        "authority": "Baku City Court",
        "reference": "2-1234/2026",
        "law": "Law on Personal Data, art. 8",
        "received_at": clock.now(),
        "expires_at": clock.now() + timedelta(days=30),
    }
    # Only the DPO records a demand; support trying is refused and audited.
    with vault.unit_of_work() as uow:
        with pytest.raises(PurposeDenied, match="DPO"):
            vault.record_lawful_demand(
                uow,
                driver,
                categories=["registration"],
                actor=SUPPORT,
                **demand,  # type: ignore[arg-type]
            )
        assert (
            uow.records.scalar(
                select(AuditEntry.reason).where(
                    AuditEntry.outcome == AuditOutcome.DENIED.value,
                    AuditEntry.actor_role == "support",
                )
            )
            == "role_not_allowed"
        )
    with vault.unit_of_work() as uow:
        demand_id = vault.record_lawful_demand(
            uow,
            driver,
            categories=["registration", "location"],
            actor=DPO,
            **demand,  # type: ignore[arg-type]
        )
        other_id = vault.record_lawful_demand(
            uow,
            other,
            categories=["phone"],
            actor=DPO,
            **demand,  # type: ignore[arg-type]
        )
        recorded = uow.records.scalars(
            select(AuditEntry).where(AuditEntry.reference == demand_id)
        ).one()
    # On record, by id: the authority's own words stay out of the append-only log.
    assert recorded.reason == "lawful_demand_recorded" and recorded.actor_role == "dpo"
    with vault.unit_of_work() as uow:
        data = vault.read(uow, categories=["registration"], demand_id=demand_id, **read)  # type: ignore[arg-type]
    assert len(data.records) == 1
    denied(
        vault, "outside_lawful_demand", categories=["vehicle_facts"], demand_id=demand_id, **read
    )
    denied(
        vault, "lawful_demand_not_found", categories=["registration"], demand_id=other_id, **read
    )
    # A disclosure to the authorities' register entry cites the demand too.
    lawful: dict[str, object] = {"recipient": "authorities", "purpose": "lawful_request"}
    lawful["basis"] = "law"
    lawful |= {"reference": "2-1234/2026", "law": demand["law"], "actor": AUTHORITY}
    for categories, demand_cited, reason in (
        (["registration"], None, "no_lawful_demand"),
        (["vehicle_facts"], demand_id, "outside_lawful_demand"),
    ):
        with pytest.raises(PurposeDenied) as caught, vault.unit_of_work() as uow:
            vault.disclose(uow, driver, categories, demand_id=demand_cited, **lawful)  # type: ignore[arg-type]
        assert caught.value.reason == reason
    with vault.unit_of_work() as uow:
        given = vault.disclose(uow, driver, ["location"], demand_id=demand_id, **lawful)  # type: ignore[arg-type]
    assert len(given.records) == 1
    clock.advance(days=31)
    denied(
        vault, "lawful_demand_not_in_force", categories=["registration"], demand_id=demand_id,
        **read,
    )  # fmt: skip
    for bad, match in (
        ({"expires_at": clock.now() - timedelta(days=1)}, "expires"),
        ({"reference": " "}, "reference"),
    ):
        with pytest.raises(InvalidValue, match=match), vault.unit_of_work() as uow:
            vault.record_lawful_demand(
                uow, driver, categories=["registration"], actor=DPO,
                **{**demand, "received_at": clock.now(), **bad},  # type: ignore[arg-type]
            )  # fmt: skip


# --------------------------------------------------------------------------- consent


def test_tx_10_third_parties_read_only_with_a_written_consent(vault: Vault) -> None:
    driver = _driver(vault)
    read = {"subject_id": driver, "purpose": "consented_disclosure", "actor": THIRD_PARTY}
    denied(vault, "no_written_consent", categories=["vehicle_facts"], **read)
    denied(vault, "no_written_consent", categories=["location"], **read)
    with vault.unit_of_work() as uow:
        consent = vault.record_written_consent(
            uow, driver, recipient="third_parties_with_consent",
            purposes=["consented_disclosure"], categories=["vehicle_facts"],
            document_reference="consent form 17", actor=DPO,
        )  # fmt: skip
    with vault.unit_of_work() as uow:
        data = vault.read(uow, categories=["vehicle_facts"], **read)  # type: ignore[arg-type]
    assert data.records[0].values["make"] == VEHICLE["make"]
    # The consent covers the vehicle facts, not the location.
    denied(vault, "no_written_consent", categories=["location"], **read)
    with vault.unit_of_work() as uow:
        vault.withdraw_written_consent(uow, consent, actor=DPO)
    denied(vault, "no_written_consent", categories=["vehicle_facts"], **read)


def test_bk_4_3_partners_read_only_for_the_purpose_the_rider_consented_to(vault: Vault) -> None:
    rider = rider_with_taps(vault)
    level = {"subject_id": rider, "purpose": "service_level", "actor": PARTNER}
    denied(vault, "no_written_consent", categories=["card_use"], **level)
    with vault.unit_of_work() as uow:
        vault.record_written_consent(
            uow, rider, recipient="service_level_partners", purposes=["service_level"],
            categories=["device", "card_use"], document_reference="consent 2026/4", actor=DPO,
        )  # fmt: skip
    with vault.unit_of_work() as uow:
        assert len(vault.read(uow, categories=["card_use"], **level).records) == 1  # type: ignore[arg-type]
    denied(
        vault, "no_written_consent", subject_id=rider, categories=["device"],
        purpose="app_operation", actor=PARTNER,
    )  # fmt: skip


def test_bk_6_1_personalized_notifications_need_the_riders_opt_in(vault: Vault) -> None:
    rider = rider_with_taps(vault)
    read = {"subject_id": rider, "purpose": "personalized_notifications", "actor": SERVICE}
    denied(vault, "no_opt_in", categories=["device", "card_use"], **read)
    with vault.unit_of_work() as uow:
        with pytest.raises(PurposeDenied, match="opt-in"):
            vault.record_opt_in(
                uow, rider, purpose="personalized_notifications", reference="x", actor=SUPPORT
            )
        with pytest.raises(PurposeDenied, match="opts in"):
            vault.record_opt_in(uow, rider, purpose="service_level", reference="x", actor=DPO)
    itself = Actor("app-session-1", "rider", subject_id=rider)
    with vault.unit_of_work() as uow:
        opt_in = vault.record_opt_in(
            uow, rider, purpose="personalized_notifications",
            reference="app settings: personalized on", actor=itself,
        )  # fmt: skip
    with vault.unit_of_work() as uow:
        assert len(vault.read(uow, categories=["device", "card_use"], **read).records) == 2  # type: ignore[arg-type]
    # An opt-in is no written consent to a partner.
    denied(
        vault, "no_written_consent", subject_id=rider, categories=["card_use"],
        purpose="service_level", actor=PARTNER,
    )  # fmt: skip
    with vault.unit_of_work() as uow:
        vault.withdraw_written_consent(uow, opt_in, actor=DPO)
    denied(vault, "no_opt_in", categories=["device"], **read)
