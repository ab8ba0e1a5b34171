"""The request workflow on both stores: intake, verification, answers, audit history."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from mexfi.audit import AuditAction
from mexfi.clock import FixedClock
from mexfi.requests import (
    RequestKind,
    RequestState,
    RequestStateConflict,
    RightNotOffered,
    WrittenDetails,
    export_access,
    export_json,
    list_requests,
    offered_kinds,
    request_history,
)
from mexfi.requests.models import SubjectRequest
from mexfi.retention import place_hold
from mexfi.vault import Actor, RecordCreate, RecordRead, Vault
from mexfi.vault.models import DataKey, Record

from .conftest import (
    COMPLETE,
    DPO,
    SUPPORT,
    access_request,
    add,
    answered,
    lawful_demand,
    register_driver,
    register_rider,
)

PHONE_A = "+994 50 111 22 33"
PHONE_B = "+994 55 444 55 66"


def read(vault: Vault, subject: str, categories: list[str]) -> list[RecordRead]:
    """What an authority's demand for these categories gets (the DPO reads for it)."""
    demand = lawful_demand(vault, subject, categories)
    with vault.unit_of_work() as uow:
        return vault.read(
            uow, subject, categories, purpose="lawful_request", actor=DPO, demand_id=demand
        ).records


def export(vault: Vault, subject: str) -> dict[str, Any]:
    request = access_request(vault, subject)
    with vault.unit_of_work() as uow:
        return export_access(vault, uow, subject, actor=DPO, request_id=request)


def _taps(vault: Vault, subject: str, n: int, *, days_ago: int = 1) -> list[str]:
    now = vault.clock.now()
    items = [
        RecordCreate(
            subject,
            "card_use",
            {"place": "28 May", "used_at": now, "kind": "card", "card_number": "900000001"},
            now - timedelta(days=days_ago, minutes=i),
        )
        for i in range(n)
    ]
    with vault.unit_of_work() as uow:
        return vault.write_many(
            uow, items, actor=Actor("svc", "service"), purpose="service_provision"
        )


def test_offered_kinds_follow_the_policy(rq_vault: Vault) -> None:
    assert set(offered_kinds(rq_vault.policy("bakikart"))) == {
        RequestKind.ACCESS,
        RequestKind.RECTIFICATION,
    }
    assert RequestKind.UNBLOCKING in offered_kinds(rq_vault.policy("taxsee_driver"))


def test_a_right_the_policy_does_not_list_is_refused(rq_vault: Vault) -> None:
    register_rider(rq_vault, PHONE_A)
    with pytest.raises(RightNotOffered, match="bakikart") as caught:
        add(
            rq_vault,
            policy_id="bakikart",
            kind="destruction",
            channel="written",
            actor=SUPPORT,
            phone=PHONE_A,
        )
    assert caught.value.right == "destruction"


def test_tx_11_incomplete_written_request_is_rejected_naming_what_is_missing(
    rq_vault: Vault,
) -> None:
    register_driver(rq_vault)
    partial = WrittenDetails(id_document_series="AZE", id_document_number="99887766", signed=True)
    request = add(
        rq_vault,
        policy_id="taxsee_driver",
        kind="destruction",
        channel="written",
        actor=SUPPORT,
        phone="+994 55 765 43 21",
        written=partial,
    )
    assert request.state is RequestState.REJECTED
    assert set(request.reasons) == {
        "missing_id_issue",
        "missing_address_or_fin",
        "missing_relationship_proof",
    }
    assert request.requirements == {
        "id_document": True,
        "id_issue": False,
        "address_or_fin": False,
        "relationship_proof": False,
        "signature": True,
    }
    assert "99887766" not in repr(partial)
    # The document number given for verification is nowhere in the store.
    with rq_vault.store.records() as session:
        row = session.get(SubjectRequest, request.id)
        assert row is not None
        stored = json.dumps({c.key: str(getattr(row, c.key)) for c in row.__mapper__.column_attrs})
        dump = " ".join(str(r) for r in session.execute(text("SELECT * FROM audit_entries")))
    assert "99887766" not in stored
    assert "99887766" not in dump and "557654321" not in dump


def test_requester_is_matched_through_the_blind_index(rq_vault: Vault) -> None:
    rider = register_rider(rq_vault, PHONE_A)
    found = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=SUPPORT,
        phone="050 111 22 33",
    )  # fmt: skip
    assert found.state is RequestState.IN_PROGRESS
    assert found.subject_id == rider
    unknown = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=SUPPORT,
        phone=PHONE_B,
    )  # fmt: skip
    assert unknown.state is RequestState.REJECTED
    assert unknown.reasons == ("subject_not_matched",)


def test_tx_3_3_access_export_has_every_record_of_the_subject_and_nothing_else(
    rq_vault: Vault,
) -> None:
    a = register_rider(rq_vault, PHONE_A, first_name="Aysel")
    b = register_rider(rq_vault, PHONE_B, first_name="Bəhruz")
    _taps(rq_vault, a, 30)
    _taps(rq_vault, b, 25)
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=PHONE_A, language="az",
    )  # fmt: skip
    answer = answered(rq_vault, request.id, actor=DPO)
    with rq_vault.store.records() as session:
        own = set(session.scalars(select(Record.id).where(Record.subject_id == a)))
        other = set(session.scalars(select(Record.id).where(Record.subject_id == b)))
    exported = {r["id"] for r in answer.data["records"]}
    assert exported == own
    assert len(own) == 32
    body = export_json(answer.data)
    assert not any(record_id in body for record_id in other)
    assert "Bəhruz" not in body and "554445566" not in body
    assert "Aysel" in body
    for record in answer.data["records"]:
        assert record["purposes"] and record["source"]
        assert "recipients" in record
    # The access log comes from the audit log: registration and writes at least.
    actions = {e["action"] for e in answer.data["access_log"]}
    assert {"register", "create"} <= actions
    assert answer.data["operator"]["name"] == '"K Group" LLC'
    assert answer.request.state is RequestState.ANSWERED


def test_bk_3_2_access_returns_the_last_12_months_of_active_data(rq_vault: Vault) -> None:
    rider = register_rider(rq_vault, PHONE_A)
    recent = set(_taps(rq_vault, rider, 3, days_ago=30))
    old = set(_taps(rq_vault, rider, 2, days_ago=400))
    data = export(rq_vault, rider)
    ids = {r["id"] for r in data["records"]}
    assert recent <= ids
    assert not old & ids


def test_access_with_include_passive_reaches_the_passive_tier(
    rq_vault: Vault, clock: FixedClock
) -> None:
    from mexfi.retention import RetentionEngine

    rider = register_rider(rq_vault, PHONE_A)
    old = set(_taps(rq_vault, rider, 2, days_ago=400))
    RetentionEngine(rq_vault).run()
    assert not old & {r["id"] for r in export(rq_vault, rider)["records"]}
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=PHONE_A, include_passive=True,
    )  # fmt: skip
    answer = answered(rq_vault, request.id, actor=DPO)
    passive = {r["id"] for r in answer.data["records"] if r["tier"] == "passive"}
    assert passive == old


def test_tx_3_5_destruction_leaves_nothing_of_those_categories_decryptable(
    rq_vault: Vault,
) -> None:
    driver = register_driver(rq_vault)
    with rq_vault.store.keys() as session:
        keys = set(session.scalars(select(DataKey.id).where(DataKey.subject_id == driver)))
    assert keys
    request = add(
        rq_vault, policy_id="taxsee_driver", kind="destruction", channel="written",
        actor=DPO, phone="+994 55 765 43 21", written=COMPLETE,
    )  # fmt: skip
    assert request.state is RequestState.IN_PROGRESS
    answer = answered(rq_vault, request.id, actor=DPO)
    assert answer.request.state is RequestState.ANSWERED
    assert answer.data["destruction"]["held"] == {}
    assert answer.data["destruction"]["records_destroyed"] == 2
    with rq_vault.store.keys() as session:
        left = set(session.scalars(select(DataKey.id).where(DataKey.id.in_(keys))))
    assert left == set()
    with rq_vault.store.records() as session:
        assert session.scalars(select(Record.id).where(Record.subject_id == driver)).all() == []
    assert read(rq_vault, driver, ["registration", "vehicle_facts"]) == []
    with rq_vault.unit_of_work() as uow:
        evidence = rq_vault.destruction_evidence(uow, driver, actor=DPO)
    assert evidence and evidence[-1].request_id == request.id


def test_destruction_refuses_a_held_category_with_the_reason(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    with rq_vault.unit_of_work() as uow:
        hold = place_hold(
            rq_vault, uow, policy_id="taxsee_driver", subject_id=driver, category="registration",
            reason="court order 12/2026", actor=DPO,
        )  # fmt: skip
    request = add(
        rq_vault, policy_id="taxsee_driver", kind="destruction", channel="written",
        actor=DPO, phone="+994 55 765 43 21", written=COMPLETE,
    )  # fmt: skip
    answer = answered(rq_vault, request.id, actor=DPO)
    outcome = answer.data["destruction"]
    assert outcome["held"] == {"registration": hold.id}
    assert "registration" not in outcome["destroyed"]
    assert "vehicle_facts" in outcome["destroyed"]
    assert answer.request.reasons == ("legal_hold_registration",)
    assert len(read(rq_vault, driver, ["registration"])) == 1
    assert read(rq_vault, driver, ["vehicle_facts"]) == []


def test_each_request_has_its_history_in_the_audit_log(rq_vault: Vault) -> None:
    register_rider(rq_vault, PHONE_A)
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=PHONE_A,
    )  # fmt: skip
    answered(rq_vault, request.id, actor=DPO)
    with rq_vault.unit_of_work() as uow:
        history = request_history(rq_vault, uow, request.id)
    # The steps of the request, and the vault's read of the phone the code went to.
    assert [(e.action, e.reason) for e in history] == [
        (AuditAction.REQUEST, "access:received:written"),
        (AuditAction.REQUEST, "access:verifying"),
        (AuditAction.READ, "verification_contact"),
        (AuditAction.REQUEST, "access:verifying:code_sent_capture"),
        (AuditAction.REQUEST, "access:verifying:code_accepted"),
        (AuditAction.REQUEST, "access:in_progress:code"),
        (AuditAction.REQUEST, "access:answered"),
    ]
    assert all(e.subject == rq_vault.pseudonym(request.subject_id or "") for e in history)
    with pytest.raises(RequestStateConflict):
        answered(rq_vault, request.id, actor=DPO)


def test_rectification_goes_through_the_vault(rq_vault: Vault) -> None:
    rider = register_rider(rq_vault, PHONE_A)
    with rq_vault.store.records() as session:
        record = session.scalars(
            select(Record).where(Record.subject_id == rider, Record.category == "profile")
        ).one()
        old_key = record.key_id
    request = add(
        rq_vault, policy_id="bakikart", kind="rectification", channel="written", actor=SUPPORT,
        phone=PHONE_A,
    )  # fmt: skip
    answered(rq_vault, request.id, actor=SUPPORT, changes={record.id: {"first_name": "Lalə"}})
    assert read(rq_vault, rider, ["profile"])[0].values["first_name"] == "Lalə"
    with rq_vault.store.keys() as session:
        assert session.get(DataKey, old_key) is None


def test_prohibition_blocking_and_unblocking_set_the_subject_status(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    for kind, status in (
        ("blocking", "blocked"),
        ("unblocking", "active"),
        ("prohibition", "prohibited"),
    ):
        request = add(
            rq_vault, policy_id="taxsee_driver", kind=kind, channel="registered_mail",
            actor=DPO, subject_id=driver, written=COMPLETE,
        )  # fmt: skip
        answered(rq_vault, request.id, actor=DPO)
        with rq_vault.unit_of_work() as uow:
            assert rq_vault.subject(uow, driver).status == status


@pytest.mark.parametrize(
    "kind",
    ["existence", "legal_basis", "processing_info", "sources", "operator_info", "withdraw_consent"],
)
def test_information_requests_are_answered_from_the_policy_and_records(
    rq_vault: Vault, kind: str
) -> None:
    driver = register_driver(rq_vault)
    request = add(
        rq_vault, policy_id="taxsee_driver", kind=kind, channel="in_person", actor=DPO,
        subject_id=driver, written=COMPLETE, language="ru",
    )  # fmt: skip
    answer = answered(rq_vault, request.id, actor=DPO)
    assert answer.request.state is RequestState.ANSWERED
    assert answer.data["operator"]["jurisdiction"] == "AZ"
    if kind == "existence":
        assert answer.data["exists"] is True
        assert answer.data["categories"] == {"registration": 1, "vehicle_facts": 1}
    if kind == "operator_info":
        assert answer.data["rights"] and answer.data["recipients"]
    if kind == "processing_info":
        assert answer.data["access_log"]


def test_list_shows_due_and_overdue_requests(rq_vault: Vault, clock: FixedClock) -> None:
    register_rider(rq_vault, PHONE_A)
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=PHONE_A,
    )  # fmt: skip
    later = request.due_at + timedelta(seconds=1)
    with rq_vault.unit_of_work() as uow:
        assert [r.id for r in list_requests(rq_vault, uow, open_only=True)] == [request.id]
        assert list_requests(rq_vault, uow, overdue=True) == []
        overdue = list_requests(rq_vault, uow, overdue=True, now=later)
    assert [r.id for r in overdue] == [request.id]
    assert overdue[0].overdue(later)


def test_the_answer_language_follows_the_subjects_interface_language(rq_vault: Vault) -> None:
    from tests.vault.conftest import SYSTEM

    driver = register_driver(rq_vault)
    with rq_vault.unit_of_work() as uow:
        rq_vault.write(
            uow,
            driver,
            "mobile_operator",
            {"country": "AZ", "language": "ru"},
            actor=SYSTEM,
            purpose="locale_setup",
        )
    request = add(
        rq_vault, policy_id="taxsee_driver", kind="operator_info", channel="written",
        actor=DPO, subject_id=driver, written=COMPLETE,
    )  # fmt: skip
    assert request.language == "ru"
    rider = register_rider(rq_vault, PHONE_A)
    other = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        subject_id=rider,
    )  # fmt: skip
    assert other.language == "en"  # the BakıKart policy's own language


def test_a_request_the_vault_refuses_is_answered_with_a_reasoned_refusal(
    rq_vault: Vault,
) -> None:
    driver = register_driver(rq_vault)
    with rq_vault.unit_of_work() as uow:
        rq_vault.set_status(uow, driver, "blocked", actor=DPO, reason="test")
    request = add(
        rq_vault, policy_id="taxsee_driver", kind="access", channel="written", actor=DPO,
        subject_id=driver, written=COMPLETE,
    )  # fmt: skip
    answer = answered(rq_vault, request.id, actor=DPO)
    assert answer.request.state is RequestState.REJECTED
    assert answer.request.reasons == ("processing_denied_subject_blocked",)
