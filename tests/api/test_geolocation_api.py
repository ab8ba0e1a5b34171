"""Issue 13 over the API, through the typed client: the geolocation switch and app sessions
(TX-12), a customer reading the driver's position with its own session (TX-13), country and
language from the mobile network (TX-20 – TX-22)."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mexfi.apikeys.views import get_code_sender
from mexfi.audit import AuditAction
from mexfi.client import MexfiClient, RecordWriteItem
from mexfi.clock import FixedClock
from mexfi.consent import refusal_counts
from mexfi.errors import Denied, Invalid
from mexfi.vault import (
    LocationCollectionOff,
    NoAppSession,
    PurposeDenied,
    UndeclaredData,
    Vault,
)
from mexfi.vault.models import Record
from tests.api.conftest import bearer, make_key
from tests.requests.conftest import CapturingSender
from tests.vault.conftest import DRIVER

TAXSEE = "taxsee_driver"
DRIVER_PHONE = "+994 51 300 44 66"
CUSTOMER_PHONE = "+994 70 300 44 66"
OTHER_CUSTOMER_PHONE = "+994 70 300 44 67"


@pytest.fixture
def sender(app: FastAPI) -> CapturingSender:
    captured = CapturingSender()
    app.dependency_overrides[get_code_sender] = lambda: captured
    return captured


@pytest.fixture
def taxsee_app(vault: Vault, client: TestClient, taxsee_key: str) -> MexfiClient:
    """The Taxsee app's backend (role `system`)."""
    return MexfiClient(http=client, api_key=taxsee_key)


def _driver(taxsee_app: MexfiClient) -> str:
    photo = bytes(DRIVER["photo"])  # type: ignore[arg-type]
    import base64

    registration = {
        **DRIVER,
        "phone": DRIVER_PHONE,
        "photo": base64.urlsafe_b64encode(photo).decode(),
    }
    return taxsee_app.register(
        policy_id=TAXSEE, kind="driver", purpose="licence_agreement",
        records={"registration": registration}, lookup_phone=DRIVER_PHONE,
    ).id  # fmt: skip


def _customer(taxsee_app: MexfiClient, phone: str = CUSTOMER_PHONE) -> str:
    return taxsee_app.register(
        policy_id=TAXSEE, kind="customer", purpose="service_operation",
        records={"customer_contact": {"phone": phone}}, lookup_phone=phone,
    ).id  # fmt: skip


def _sign_in(client: TestClient, sender: CapturingSender, phone: str) -> MexfiClient:
    """A client with the subject's own session token as its key."""
    public = MexfiClient(http=client)
    challenge = public.start_session(policy_id=TAXSEE, phone=phone)
    session = public.verify_session(challenge.challenge_id, sender.code_for(challenge.challenge_id))
    return MexfiClient(http=client, api_key=session.token)


def _ping(taxsee_app: MexfiClient, driver: str, at: datetime, point: tuple[float, float]) -> None:
    values = {"point": point, "recorded_at": at.isoformat()}
    item = RecordWriteItem(subject_id=driver, category="location", values=values, collected_at=at)
    taxsee_app.write_many([item], purpose="service_operation")


def _locations(vault: Vault) -> int:
    with vault.unit_of_work() as uow:
        query = select(func.count()).select_from(Record).where(Record.category == "location")
        return int(uow.records.scalar(query) or 0)


# --------------------------------------------------------------------------- TX-12


def test_tx_12_the_switch_and_the_session_over_the_api(
    vault: Vault,
    client: TestClient,
    taxsee_app: MexfiClient,
    sender: CapturingSender,
    clock: FixedClock,
) -> None:
    driver = _driver(taxsee_app)
    # No app session yet: refused with its code, nothing stored.
    with pytest.raises(NoAppSession) as refused:
        _ping(taxsee_app, driver, clock.now(), (40.41, 49.86))
    assert refused.value.code == "no_app_session"  # type: ignore[attr-defined]
    assert refused.value.status == 403  # type: ignore[attr-defined]
    session = taxsee_app.open_app_session(driver)
    assert session.subject_id == driver and session.closed_at is None
    _ping(taxsee_app, driver, clock.now(), (40.41, 49.86))
    assert _locations(vault) == 1
    # The driver, signed in to its app, switches location off: the next ping is refused.
    mine = _sign_in(client, sender, DRIVER_PHONE)
    status = mine.switch_my_location(collect=False, language="ru")
    assert not status.collecting and status.session is not None
    assert status.session.id == session.id
    clock.advance(seconds=10)
    with pytest.raises(LocationCollectionOff) as off:
        _ping(taxsee_app, driver, clock.now(), (40.42, 49.87))
    assert off.value.code == "location_collection_off"  # type: ignore[attr-defined]
    assert "40.42" not in str(off.value.problem)  # type: ignore[attr-defined]
    assert _locations(vault) == 1
    assert not mine.my_location_status().collecting
    # The taxsee_app relays it back on; collection resumes.
    assert taxsee_app.switch_location(driver, collect=True).collecting
    _ping(taxsee_app, driver, clock.now(), (40.42, 49.87))
    closed = taxsee_app.close_app_session(session.id)
    assert closed.closed_at == clock.now()
    clock.advance(seconds=10)
    with pytest.raises(NoAppSession):
        _ping(taxsee_app, driver, clock.now(), (40.43, 49.88))
    assert _locations(vault) == 2
    with vault.unit_of_work() as uow:
        counted = {c.reason: c.count for c in refusal_counts(uow, policy_id=TAXSEE)}
    assert counted == {"no_app_session": 2, "location_collection_off": 1}


def test_only_the_apps_backend_opens_sessions_and_relays_the_switch(
    vault: Vault, client: TestClient, taxsee_app: MexfiClient
) -> None:
    driver = _driver(taxsee_app)
    dispatcher = MexfiClient(http=client, api_key=make_key(vault, TAXSEE, "dispatcher"))
    with pytest.raises(Denied) as refused:
        dispatcher.open_app_session(driver)
    assert refused.value.code == "action_denied"  # type: ignore[attr-defined]
    with pytest.raises(Denied):
        dispatcher.switch_location(driver, collect=False)
    with vault.unit_of_work() as uow:
        assert vault.location_status(uow, driver).collecting


# --------------------------------------------------------------------------- TX-13


def test_tx_13_a_customer_reads_the_drivers_position_with_its_own_session_during_the_order(
    vault: Vault,
    client: TestClient,
    taxsee_app: MexfiClient,
    sender: CapturingSender,
    clock: FixedClock,
) -> None:
    driver, customer = _driver(taxsee_app), _customer(taxsee_app)
    stranger = _customer(taxsee_app, OTHER_CUSTOMER_PHONE)
    taxsee_app.open_app_session(driver)
    _ping(taxsee_app, driver, clock.now(), (40.41, 49.86))
    clock.advance(seconds=7)
    _ping(taxsee_app, driver, clock.now(), (40.4101, 49.8601))
    order = taxsee_app.open_order(driver_id=driver, customer_id=customer)
    mine = _sign_in(client, sender, CUSTOMER_PHONE)
    # During the order: the newest position only, to this customer.
    seen = mine.my_driver_position(order, purpose="ride_provision")
    assert seen.order_id == order and seen.position is not None
    assert seen.position.collected_at == clock.now()
    assert seen.position.values["point"] == [40.4101, 49.8601]
    # Another customer, the driver itself, and a customer's token on operator routes: no.
    other = _sign_in(client, sender, OTHER_CUSTOMER_PHONE)
    with pytest.raises(PurposeDenied):
        other.my_driver_position(order, purpose="ride_provision")
    with pytest.raises(Denied):
        mine.driver_position(order, purpose="ride_provision")
    # After the order closes, the same read is refused.
    taxsee_app.close_order(order)
    with pytest.raises(PurposeDenied) as after:
        mine.my_driver_position(order, purpose="ride_provision")
    assert after.value.code == "purpose_denied"  # type: ignore[attr-defined]
    assert "active order" in after.value.message
    # Audited under the customer's session: the read, and each refusal.
    with vault.unit_of_work() as uow:
        entries = vault.audit.entries(uow.records, subject=vault.pseudonym(driver))
    reads = [
        (e.action, e.outcome, e.actor_role, e.purpose, e.reason)
        for e in entries
        if e.actor_id.startswith("session:") and e.categories == ("location",)
    ]
    assert reads == [
        (AuditAction.READ, "ok", "customer", "ride_provision", None),
        (AuditAction.DENY, "denied", "customer", "ride_provision", "no_active_order"),
        (AuditAction.DENY, "denied", "customer", "ride_provision", "no_active_order"),
    ]
    assert stranger != customer


def test_a_customer_session_reaches_no_order_of_another_policy(
    client: TestClient, taxsee_app: MexfiClient, sender: CapturingSender
) -> None:
    _customer(taxsee_app)
    mine = _sign_in(client, sender, CUSTOMER_PHONE)
    response = client.post(
        f"/api/v1/me/orders/{'0' * 32}/driver-position",
        headers=bearer(mine._api_key or "", "ride_provision"),
    )
    assert response.status_code == 404 and response.json()["code"] == "record_not_found"


# --------------------------------------------------------------------------- TX-20 – 22


def test_tx_20_network_locale_over_the_api(
    vault: Vault, client: TestClient, taxsee_app: MexfiClient, bakikart_key: str
) -> None:
    azercell = taxsee_app.network_locale(mcc="400", mnc="01")
    assert (azercell.country, azercell.language, azercell.operator) == ("AZ", "az", "Azercell")
    mts = taxsee_app.network_locale(mcc="250", mnc="01")
    assert (mts.country, mts.language) == ("RU", "ru")
    unknown = taxsee_app.network_locale(mcc="999")
    assert (unknown.country, unknown.language, unknown.operator) == (None, "az", None)
    # BakıKart derives nothing from the network: its policy does not say so.
    with pytest.raises(UndeclaredData):
        MexfiClient(http=client, api_key=bakikart_key).network_locale(mcc="400", mnc="01")
    with pytest.raises(Invalid):
        taxsee_app.network_locale(mcc="40A")
    # The codes are not kept anywhere: no record, and the request is not in the audit log.
    with vault.unit_of_work() as uow:
        assert not uow.records.scalar(select(func.count()).select_from(Record))
