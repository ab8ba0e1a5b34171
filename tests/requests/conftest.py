"""Fixtures of the requests tests: a vault whose store has the requests table, subjects."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from mexfi.requests import (
    Answer,
    CodeMessage,
    NoPhoneOnRecord,
    RequestRead,
    RequestState,
    TooManyCodes,
    WrittenDetails,
    add_request,
    answer_request,
    send_code,
    verify_code,
    verify_out_of_band,
)
from mexfi.vault import Actor, Vault
from tests.vault.conftest import DRIVER, SERVICE, SYSTEM

DPO = Actor("dpo-1", "dpo")
SUPPORT = Actor("staff-17", "support")

COMPLETE = WrittenDetails(
    id_document_series="AZE",
    id_document_number="17171717",
    id_issue_date="2019-05-04",
    id_issue_authority="ASAN xidmət 3",
    fin="5ZX7K2Q",
    contract_number="TX-2024-0042",
    contract_date="2024-02-01",
    signed=True,
)


@pytest.fixture
def rq_vault(vault: Vault) -> Vault:
    """The vault over a migrated store (the requests table comes with the migrations)."""
    return vault


def register_rider(
    vault: Vault, phone: str, *, first_name: str = "Leyla", at: datetime | None = None
) -> str:
    with vault.unit_of_work() as uow:
        return vault.register(
            uow,
            policy_id="bakikart",
            kind="rider",
            actor=SERVICE,
            purpose="service_provision",
            lookup_phone=phone,
            records={
                "phone": {"phone": phone},
                "profile": {"first_name": first_name, "last_name": "Həsənova"},
            },
            at=at,
        ).id


def register_driver(vault: Vault, phone: str = str(DRIVER["phone"])) -> str:
    with vault.unit_of_work() as uow:
        subject = vault.register(
            uow,
            policy_id="taxsee_driver",
            kind="driver",
            actor=SYSTEM,
            purpose="licence_agreement",
            lookup_phone=phone,
            records={"registration": {**DRIVER, "phone": phone}},
        ).id
        vault.write(
            uow,
            subject,
            "vehicle_facts",
            {"make": "Toyota", "model": "Prius", "colour": "ağ", "plate_digits": "123"},
            actor=SYSTEM,
            purpose="service_operation",
        )
    return subject


class CapturingSender:
    """The tests' SMS gateway: a real `CodeSender` that keeps what it sends in memory."""

    name = "capture"

    def __init__(self) -> None:
        self.sent: list[CodeMessage] = []

    def send(self, message: CodeMessage) -> None:
        self.sent.append(message)

    def code_for(self, request_id: str) -> str:
        """The newest code sent for the request."""
        return [m for m in self.sent if m.request_id == request_id][-1].code


def verify(
    vault: Vault, request_id: str, *, actor: Actor = DPO, sender: CapturingSender | None = None
) -> RequestRead:
    """Verify a `verifying` request as its subject would: a code sent to the registered phone
    (captured) and read back, each step in a unit of work of its own. Where no code can go
    (no phone left, the hour's codes spent), the DPO records an in-person check instead."""
    sender = sender or CapturingSender()
    try:
        with vault.unit_of_work() as uow:
            send_code(vault, uow, request_id, actor=actor, sender=sender)
    except (NoPhoneOnRecord, TooManyCodes):
        with vault.unit_of_work() as uow:
            return verify_out_of_band(
                vault, uow, request_id, method="in_person", reason="identity card checked",
                actor=DPO,
            )  # fmt: skip
    with vault.unit_of_work() as uow:
        return verify_code(vault, uow, request_id, sender.code_for(request_id), actor=actor)


def add(vault: Vault, *, verified: bool = True, **options: Any) -> RequestRead:
    """`add_request` in a unit of work of its own, committed; then, unless `verified` is
    False, verified through the real flow (`verify`), so a request that passes intake ends
    `in_progress` as before verification existed."""
    with vault.unit_of_work() as uow:
        request = add_request(vault, uow, **options)
    if verified and request.state is RequestState.VERIFYING:
        return verify(vault, request.id, actor=options.get("actor", DPO))
    return request


def answered(vault: Vault, request_id: str, **options: Any) -> Answer:
    """`answer_request` in a unit of work of its own, committed."""
    with vault.unit_of_work() as uow:
        return answer_request(vault, uow, request_id, **options)


def access_request(vault: Vault, subject_id: str, **options: Any) -> str:
    """The id of a verified, open access request of the subject: what its export cites."""
    with vault.unit_of_work() as uow:
        policy_id = vault.subject(uow, subject_id).policy_id
    request = add(
        vault, policy_id=policy_id, kind="access", channel="written", actor=DPO,
        subject_id=subject_id, written=COMPLETE, **options,
    )  # fmt: skip
    assert request.state.value == "in_progress", request.reasons
    return request.id


def lawful_demand(vault: Vault, subject_id: str, categories: list[str]) -> str:
    """The id of a lawful demand in force for `categories` of the subject, as the DPO records."""
    now = vault.clock.now()
    with vault.unit_of_work() as uow:
        return vault.record_lawful_demand(
            uow, subject_id, authority="Baku City Court", reference="2-1234/2026",
            law="Law on Personal Data, art. 8", categories=categories,
            received_at=now, expires_at=now + timedelta(days=30), actor=DPO,
        )  # fmt: skip
