"""An audit event carries codes and pseudonyms only: personal data is refused, by field name."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

import mexfi.audit
from mexfi.audit import AuditAction, AuditEvent, AuditOutcome, AuditValueRefused
from mexfi.errors import Invalid

from .helpers import T0, make_event

PERSONAL = {
    "e-mail address": "contact rashad.mammadov@example.az",
    "phone": "+994 50 123 45 67",
    "phone, national": "(050) 123-45-67",
    "phone, one run": "0501234567",
    "card, grouped": "4111 1111 1111 1111",
    "card, plain": "card_4111111111111111",
    "blob": "Zm9v" * 60,
}

ACCEPTED = [
    "purpose_not_declared",
    "a subject may only reach its own data",
    str(uuid.UUID(int=1234567890123456789)),
    uuid.uuid4().hex,
    "ps_" + "1" * 24,
    "2026-03-02T09:00:00.123456+04:00",
    "REQ-2026-0001",
    "rule:tx-7.7-destroy-24h",
    "rec_1234567",
    "TX-7.7",
]


def test_public_face() -> None:
    assert {
        "AuditAction",
        "AuditOutcome",
        "AuditEvent",
        "AuditLog",
        "verify_log",
        "VerifyReport",
        "TamperProblem",
        "AuditEntryRead",
        "AuditCheckpointRead",
        "AuditValueRefused",
        "protect_audit_tables",
    } <= set(mexfi.audit.__all__)
    assert mexfi.audit.__all__ == sorted(mexfi.audit.__all__)


def test_enums_are_lower_case_strings() -> None:
    assert AuditAction.KEY_ROTATE == "key_rotate"
    assert all(a.value == a.name.lower() for a in AuditAction)
    assert [o.value for o in AuditOutcome] == ["ok", "denied", "refused"]


@pytest.mark.parametrize("field", ["reason", "reference", "actor_id", "purpose", "subject"])
@pytest.mark.parametrize("what", sorted(PERSONAL))
def test_personal_data_is_refused_by_field_name(field: str, what: str) -> None:
    value = PERSONAL[what]
    with pytest.raises(AuditValueRefused) as caught:
        make_event(0, **{field: value})
    message = str(caught.value)
    assert f"'{field}'" in message
    assert value not in message and value.strip() not in message
    assert caught.value.field == field
    assert isinstance(caught.value, Invalid)


@pytest.mark.parametrize("field", ["actor_role", "policy_id"])
def test_other_text_fields_are_screened_too(field: str) -> None:
    with pytest.raises(AuditValueRefused, match=field):
        make_event(0, **{field: "ali@example.com"})


def test_categories_and_clauses_are_screened() -> None:
    with pytest.raises(AuditValueRefused, match="categories"):
        make_event(0, categories=("driver.contact.phone", "+994501234567"))
    with pytest.raises(AuditValueRefused, match="clauses"):
        make_event(0, clauses="TX-5")  # a bare string is not a tuple of codes


@pytest.mark.parametrize("value", ACCEPTED)
def test_ids_codes_and_times_are_accepted(value: str) -> None:
    event = make_event(0, reason=value, reference=value, subject=value[:255])
    assert event.reason == value


def test_kind_of_personal_data_is_named() -> None:
    with pytest.raises(AuditValueRefused, match=r"'reason'.*\(an e-mail address\)"):
        make_event(0, reason="ali@example.com")
    with pytest.raises(AuditValueRefused, match=r"a card number"):
        make_event(0, reference="4111-1111-1111-1111")


def test_control_characters_are_refused() -> None:
    with pytest.raises(AuditValueRefused, match="control characters"):
        make_event(0, reason="ok\nforged line")


def test_times_must_be_aware_and_become_utc() -> None:
    with pytest.raises(AuditValueRefused, match="'at'"):
        make_event(0, at=datetime(2026, 3, 2, 9, 0))
    baku = timezone(timedelta(hours=4))
    event = make_event(0, at=datetime(2026, 3, 2, 13, 0, tzinfo=baku))
    assert event.at == T0 and event.at.utcoffset() == timedelta(0)


def test_strings_are_coerced_to_enums_and_lists_to_tuples() -> None:
    event = AuditEvent(
        action="read",  # type: ignore[arg-type]
        at=T0,
        actor_id="svc-vault",
        actor_role="service",
        outcome="denied",  # type: ignore[arg-type]
        categories=["driver.identity.name"],  # type: ignore[arg-type]
    )
    assert event.action is AuditAction.READ and event.outcome is AuditOutcome.DENIED
    assert event.categories == ("driver.identity.name",)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"action": "peek"}, "action"),
        ({"outcome": "maybe"}, "outcome"),
        ({"count": -1}, "count"),
        ({"count": True}, "count"),
        ({"actor_id": ""}, "actor_id"),
        ({"actor_role": "   "}, "actor_role"),
        ({"reference": "x" * 256}, "reference"),
    ],
)
def test_malformed_fields_are_refused(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(AuditValueRefused) as caught:
        make_event(0, **overrides)
    assert caught.value.field == field


def test_events_are_frozen() -> None:
    event = make_event(0)
    with pytest.raises(AttributeError):
        event.reason = "changed"  # type: ignore[misc]
