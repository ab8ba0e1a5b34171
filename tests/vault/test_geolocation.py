"""TX-12: location only while the app is in use, and never once the driver switched it off.

App sessions are opened and closed by the app's backend; a ping is accepted only at a time
a session covers and while the switch is on; a refused ping stores nothing, answers with
its code, is audited and counted (never with a coordinate), on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from mexfi.api.problems import problem_code
from mexfi.audit import AuditAction, AuditEntryRead
from mexfi.clock import FixedClock
from mexfi.consent import Choice, Method, NoticeKind, Source, ledger_entries, refusal_counts
from mexfi.db import Store, UnitOfWork
from mexfi.policy import Policy, parse_policy
from mexfi.secrets import Secrets
from mexfi.vault import (
    ActionDenied,
    Actor,
    LocationCollectionOff,
    NoActiveOrder,
    NoAppSession,
    RecordCreate,
    UndeclaredData,
    Vault,
)
from mexfi.vault.models import Record
from tests.vault.conftest import DRIVER, SERVICE, SYSTEM

TAXSEE = "taxsee_driver"
POLICY_FILE = "policies/taxsee-driver.yaml"
HERE = (40.4093, 49.8671)

_phones = iter(range(100, 1000))


def register_driver(vault: Vault, uow: UnitOfWork) -> str:
    phone = f"+994 55 765 4{next(_phones):03d}"
    return vault.register(
        uow,
        policy_id=TAXSEE,
        kind="driver",
        actor=SYSTEM,
        purpose="licence_agreement",
        records={"registration": {**DRIVER, "phone": phone}},
    ).id


def ping(driver: str, at: datetime | None = None) -> RecordCreate:
    return RecordCreate(
        driver, "location", {"point": HERE, "recorded_at": "2026-03-02T09:00:00+00:00"}, at
    )


def write(vault: Vault, *pings: RecordCreate) -> list[str]:
    with vault.unit_of_work() as uow:
        return vault.write_many(uow, list(pings), actor=SYSTEM, purpose="service_operation")


def locations(store: Store) -> int:
    with store.records() as session:
        query = select(func.count()).select_from(Record).where(Record.category == "location")
        return int(session.scalar(query) or 0)


def refused(vault: Vault) -> dict[str, int]:
    """{reason: count} of the location refusals counted."""
    with vault.unit_of_work() as uow:
        counts = refusal_counts(uow, policy_id=TAXSEE)
    return {c.reason: c.count for c in counts if c.kind is NoticeKind.GEOLOCATION}


def denials(vault: Vault, store: Store) -> list[AuditEntryRead]:
    with store.records() as session:
        entries = vault.audit.entries(session, actions=[AuditAction.DENY])
    return [e for e in entries if e.categories == ("location",)]


def driver_app(driver: str) -> Actor:
    """The driver in its own app session (a data subject's session token)."""
    return Actor("session:drv", "driver", subject_id=driver)


@pytest.fixture
def driver(vault: Vault) -> str:
    with vault.unit_of_work() as uow:
        return register_driver(vault, uow)


# --------------------------------------------------------------------------- sessions


def test_tx_12_a_ping_without_an_open_app_session_stores_nothing(
    vault: Vault, store: Store, driver: str
) -> None:
    with pytest.raises(NoAppSession) as no_session:
        write(vault, ping(driver))
    assert problem_code(type(no_session.value)) == "no_app_session"
    assert no_session.value.reason == "no_app_session"
    assert no_session.value.clauses == ("TX-12",)
    assert locations(store) == 0
    # Counted and audited although the unit of work rolled back; never a coordinate.
    assert refused(vault) == {"no_app_session": 1}
    (denial,) = denials(vault, store)
    assert (denial.outcome, denial.reason, denial.subject) == (
        "denied",
        "no_app_session",
        vault.pseudonym(driver),
    )
    assert "40.40" not in denial.model_dump_json()


def test_tx_12_pings_are_taken_only_inside_the_session(
    vault: Vault, store: Store, clock: FixedClock, driver: str
) -> None:
    opened_at = clock.now()
    with vault.unit_of_work() as uow:
        session = vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)
    assert (session.subject_id, session.opened_at, session.closed_at) == (driver, opened_at, None)
    write(vault, ping(driver))  # now: inside
    clock.advance(minutes=5)
    write(vault, ping(driver), ping(driver, opened_at + timedelta(minutes=1)))
    # Taken before the app started: refused, and with it the whole batch.
    with pytest.raises(NoAppSession):
        write(vault, ping(driver), ping(driver, opened_at - timedelta(seconds=1)))
    assert locations(store) == 3
    with vault.unit_of_work() as uow:
        closed = vault.close_app_session(uow, session.id, actor=SYSTEM)
        again = vault.close_app_session(uow, session.id, actor=SYSTEM)  # changes nothing
    assert closed.closed_at == clock.now() == again.closed_at
    clock.advance(seconds=1)
    with pytest.raises(NoAppSession):
        write(vault, ping(driver))  # the app stopped: nothing more
    # A ping taken while the app was in use, uploaded late, was collected inside TX-12.
    write(vault, ping(driver, opened_at + timedelta(minutes=4)))
    assert locations(store) == 4
    assert refused(vault) == {"no_app_session": 2}


def test_opening_a_session_closes_the_one_left_open(
    vault: Vault, store: Store, clock: FixedClock, driver: str
) -> None:
    with vault.unit_of_work() as uow:
        first = vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)
    clock.advance(minutes=30)
    with vault.unit_of_work() as uow:
        second = vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)
        sessions = vault.app_sessions(uow, driver)
        status = vault.location_status(uow, driver)
    assert [(s.id, s.closed_at) for s in sessions] == [(first.id, clock.now()), (second.id, None)]
    assert status.session == second and status.collecting and status.window == "app_in_use"
    with store.records() as session:
        steps = [
            (e.reason, e.reference)
            for e in vault.audit.entries(session, actions=[AuditAction.SESSION])
            if e.subject == vault.pseudonym(driver)
        ]
    assert steps == [
        ("app_session_open", first.id),
        ("app_session_close", first.id),
        ("app_session_open", second.id),
    ]


def test_only_the_apps_backend_opens_and_closes_sessions(
    vault: Vault, store: Store, driver: str
) -> None:
    for actor in (Actor("ops-2", "dispatcher"), driver_app(driver), Actor("x", "intern")):
        with pytest.raises(ActionDenied), vault.unit_of_work() as uow:
            vault.open_app_session(uow, subject_id=driver, actor=actor)
    with vault.unit_of_work() as uow:
        session = vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)
    with pytest.raises(ActionDenied), vault.unit_of_work() as uow:
        vault.close_app_session(uow, session.id, actor=Actor("ops-2", "dispatcher"))
    with store.records() as db:
        refusals = [
            e.actor_role
            for e in vault.audit.entries(db, actions=[AuditAction.SESSION])
            if e.outcome == "denied"
        ]
    assert refusals == ["dispatcher", "driver", "intern", "dispatcher"]


def test_a_customer_and_a_policy_without_geolocation_have_no_sessions(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        customer = vault.register(
            uow, policy_id=TAXSEE, kind="customer", actor=SYSTEM, purpose="service_operation",
            records={"customer_contact": {"phone": "+994 70 555 66 77"}},
        ).id  # fmt: skip
        with pytest.raises(UndeclaredData, match="no location of subjects of kind 'customer'"):
            vault.open_app_session(uow, subject_id=customer, actor=SYSTEM)
        rider = vault.register(
            uow, policy_id="bakikart", kind="rider", actor=SERVICE, purpose="service_provision",
            records={"phone": {"phone": "+994 50 555 66 77"}},
        ).id  # fmt: skip
        # BakıKart grants nobody app sessions (it has no `geolocation`): refused as an action.
        with pytest.raises(ActionDenied):
            vault.open_app_session(uow, subject_id=rider, actor=SERVICE)
        # ...and its writes never meet the check.
        vault.write(
            uow, rider, "card_use", {"place": "28 May", "used_at": "2026-03-02T08:00:00+00:00",
                                     "kind": "card"},
            actor=SERVICE, purpose="service_provision",
        )  # fmt: skip


def test_location_at_registration_is_refused(vault: Vault, store: Store) -> None:
    with pytest.raises(NoAppSession), vault.unit_of_work() as uow:
        vault.register(
            uow, policy_id=TAXSEE, kind="driver", actor=SYSTEM, purpose="service_operation",
            records={"location": {"point": HERE, "recorded_at": "2026-03-02T09:00:00+00:00"}},
        )  # fmt: skip
    assert locations(store) == 0


# --------------------------------------------------------------------------- the switch


def test_tx_12_switch_off_stops_collection_at_once_and_on_resumes_it(
    vault: Vault, store: Store, clock: FixedClock, driver: str
) -> None:
    with vault.unit_of_work() as uow:
        vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)
    write(vault, ping(driver))
    before = locations(store)
    with vault.unit_of_work() as uow:
        status = vault.switch_location(uow, driver, on=False, actor=driver_app(driver))
    assert not status.collecting and status.session is not None
    # The very next ping: refused with its code, nothing stored, counted, audited.
    with pytest.raises(LocationCollectionOff) as off:
        write(vault, ping(driver))
    assert problem_code(type(off.value)) == "location_collection_off"
    assert "switched location collection off" in off.value.message
    assert locations(store) == before
    assert refused(vault) == {"location_collection_off": 1}
    assert [d.reason for d in denials(vault, store)] == ["location_collection_off"]
    # The app's backend relays the driver turning it back on; collection resumes.
    clock.advance(minutes=1)
    with vault.unit_of_work() as uow:
        assert vault.switch_location(uow, driver, on=True, actor=SYSTEM, language="ru").collecting
    write(vault, ping(driver))
    assert locations(store) == before + 1
    # Both turns are in the consent ledger, by pseudonym, as switches in the app.
    with vault.unit_of_work() as uow:
        entries = ledger_entries(uow, policy_id=TAXSEE, holder=vault.pseudonym(driver))
    switches = [e for e in entries if e.kind is NoticeKind.GEOLOCATION]
    assert [(e.notice, e.choice, e.method, e.source) for e in switches] == [
        ("collection", Choice.OPT_OUT, Method.SWITCH, Source.APP),
        ("collection", Choice.OPT_IN, Method.SWITCH, Source.APP),
    ]
    assert [(e.actor_id, e.language) for e in switches] == [
        ("session:drv", "az"),
        (SYSTEM.id, "ru"),
    ]


def test_switch_off_with_no_session_answers_the_switch(vault: Vault, driver: str) -> None:
    with vault.unit_of_work() as uow:
        vault.switch_location(uow, driver, on=False, actor=driver_app(driver))
    with pytest.raises(LocationCollectionOff):
        write(vault, ping(driver))
    assert refused(vault) == {"location_collection_off": 1}


def test_only_the_driver_or_the_apps_backend_switches(
    vault: Vault, store: Store, driver: str
) -> None:
    with vault.unit_of_work() as uow:
        other = register_driver(vault, uow)
    for actor in (driver_app(other), Actor("ops-2", "dispatcher"), Actor("c", "customer")):
        with pytest.raises(ActionDenied), vault.unit_of_work() as uow:
            vault.switch_location(uow, driver, on=False, actor=actor)
    with vault.unit_of_work() as uow:
        assert vault.location_status(uow, driver).collecting
        entries = ledger_entries(uow, policy_id=TAXSEE, holder=vault.pseudonym(driver))
    assert [e for e in entries if e.kind is NoticeKind.GEOLOCATION] == []
    with store.records() as session:
        withdrawals = vault.audit.entries(session, actions=[AuditAction.WITHDRAW])
    assert [(e.outcome, e.actor_role) for e in withdrawals] == [
        ("denied", "driver"),
        ("denied", "dispatcher"),
        ("denied", "customer"),
    ]


def test_one_driver_switched_off_refuses_the_whole_batch(
    vault: Vault, store: Store, driver: str
) -> None:
    with vault.unit_of_work() as uow:
        drivers = [driver, *(register_driver(vault, uow) for _ in range(4))]
        for each in drivers:
            vault.open_app_session(uow, subject_id=each, actor=SYSTEM)
        vault.switch_location(uow, drivers[2], on=False, actor=driver_app(drivers[2]))
    with pytest.raises(LocationCollectionOff, match=drivers[2]):
        write(vault, *(ping(d) for d in drivers))
    assert locations(store) == 0
    write(vault, *(ping(d) for d in drivers if d != drivers[2]))
    assert locations(store) == 4


# --------------------------------------------------------------------------- cost


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = store.records_engine

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_batch_checks_all_its_drivers_in_two_queries(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        drivers = [register_driver(vault, uow) for _ in range(12)]
        for each in drivers:
            vault.open_app_session(uow, subject_id=each, actor=SYSTEM)
    with statements(store) as seen:
        write(vault, *(ping(d) for d in drivers for _ in range(10)))
    assert locations(store) == 120
    windows = [s for s in seen if "FROM app_sessions" in s]
    switches = [s for s in seen if "FROM consent_state" in s]
    # One query for the sessions and one for the switches of all twelve drivers.
    assert (len(windows), len(switches)) == (1, 1)


# --------------------------------------------------------------------------- the policy


def _policy(policies: dict[str, Policy], old: str, new: str) -> dict[str, Policy]:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / POLICY_FILE).read_text(encoding="utf-8")
    assert old in text
    return {**policies, TAXSEE: parse_policy(text.replace(old, new), file="tx.yaml")}


def test_window_order_takes_location_only_during_an_order(
    store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    changed = _policy(policies, "window: app_in_use", "window: order")
    vault = Vault(store, changed, secrets, clock=clock)
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        customer = vault.register(
            uow, policy_id=TAXSEE, kind="customer", actor=SYSTEM, purpose="service_operation",
            records={"customer_contact": {"phone": "+994 70 555 66 78"}},
        ).id  # fmt: skip
        vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)
    with pytest.raises(NoActiveOrder) as outside:
        write(vault, ping(driver))  # a session is not an order
    assert problem_code(type(outside.value)) == "no_active_order"
    with vault.unit_of_work() as uow:
        order = vault.open_order(uow, driver_id=driver, customer_id=customer, actor=SYSTEM)
    write(vault, ping(driver))
    with vault.unit_of_work() as uow:
        vault.close_order(uow, order, actor=SYSTEM)
    clock.advance(seconds=1)
    with pytest.raises(NoActiveOrder):
        write(vault, ping(driver))
    assert locations(store) == 1
    assert refused(vault) == {"no_active_order": 2}


def test_window_always_needs_no_session_but_keeps_the_switch(
    store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    vault = Vault(
        store, _policy(policies, "window: app_in_use", "window: always"), secrets, clock=clock
    )
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    write(vault, ping(driver))
    with vault.unit_of_work() as uow:
        vault.switch_location(uow, driver, on=False, actor=driver_app(driver))
    with pytest.raises(LocationCollectionOff):
        write(vault, ping(driver))
    assert locations(store) == 1


def test_a_policy_without_a_switch_refuses_to_switch_off(
    store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> None:
    changed = _policy(policies, "subject_can_switch_off: true", "subject_can_switch_off: false")
    vault = Vault(store, changed, secrets, clock=clock)
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    with pytest.raises(ActionDenied, match="offers no switch"), vault.unit_of_work() as uow:
        vault.switch_location(uow, driver, on=False, actor=driver_app(driver))
    with vault.unit_of_work() as uow:
        assert vault.switch_location(uow, driver, on=True, actor=driver_app(driver)).collecting
