"""The Taxsee Driver app's backend, simulated over the HTTP API through `mexfi.client` only.

Customers register; each driver registers (registration, vehicle, payout account, licence
fee card), starts the app (the phone's network gives the country and interface language,
TX-20 – TX-22: only those are kept, never the codes, TX-21; the backend opens the app
session inside which alone location is collected, TX-12), pings its position, serves an
order a customer follows (the customer's app is shown where the driver is now, and only
that, while the order is open; after it closes, nothing), switches location off (the next
ping is refused, nothing stored) and on again, stops the app (the session closes), and
withdraws earnings (the payout account read for the payout purpose). Values come from the
synthetic generator under one seed; the shift runs from the app session's opening (the
server's clock), earlier dates from the injected clock (the day before its now).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from mexfi.client import MexfiClient, RecordWriteItem
from mexfi.clock import Clock, SystemClock
from mexfi.errors import Denied
from mexfi.services.report import FlowReport
from mexfi.services.synthetic import GenerationProgress, Person, Synth
from mexfi.services.taxsee.synthetic import POLICY_ID, _details, _plate
from mexfi.vault import LocationCollectionOff

__all__ = ["run"]

_TARIFFS = ("Ekonom", "Standart", "Komfort")
_CARS = (("Toyota", "Prius"), ("Hyundai", "Elantra"), ("Kia", "Rio"), ("LADA", "Vesta"))
_BANKS = (("AIIBAZ2X", "AIIB"), ("PAHAAZ22", "PAHA"), ("KABAAZ22", "KABA"))


def run(
    client: MexfiClient,
    *,
    drivers: int,
    seed: int,
    progress: GenerationProgress | None = None,
    clock: Clock | None = None,
) -> FlowReport:
    """Run `drivers` drivers (and as many customers) through the app with the Taxsee
    backend's client (a key of policy `taxsee_driver`, role `system`: it registers, writes,
    opens and closes orders, relays the driver's position to the customer and reads payout
    accounts); returns the counts of what was done.

    `progress(done, planned, records)` is called after each driver.
    """
    rng = random.Random(seed)
    synth = Synth(rng)
    report = FlowReport("taxsee", seed)
    start = (clock or SystemClock()).now().replace(microsecond=0) - timedelta(days=1)
    customers = [_customer(client, synth, report) for _ in range(drivers)]
    for done in range(1, drivers + 1):
        _driver(client, synth, report, customer=customers[done - 1], start=start)
        if progress is not None:
            progress(done, drivers, report["records"])
    return report


def _customer(client: MexfiClient, synth: Synth, report: FlowReport) -> str:
    person = synth.person(ru_share=0.25)
    phone = synth.phone()
    customer = client.register(
        policy_id=POLICY_ID,
        kind="customer",
        purpose="service_operation",
        records={"customer_contact": {"phone": phone, "name": person.given}},
        lookup_phone=phone,
    )
    report.add("customers")
    report.add("subjects")
    report.add("records")
    return customer.id


def _driver(
    client: MexfiClient, synth: Synth, report: FlowReport, *, customer: str, start: datetime
) -> None:
    rng = synth.rng
    person = synth.person(ru_share=0.15, female_share=0.08)
    phone = synth.phone()
    plate = _plate(synth)
    driver = client.register(
        policy_id=POLICY_ID,
        kind="driver",
        purpose="licence_agreement",
        records={"registration": _registration(synth, person, phone, plate, start)},
        lookup_phone=phone,
    ).id
    report.add("drivers")
    report.add("subjects")
    report.add("records")

    make, model = rng.choice(_CARS)
    client.write(
        driver,
        "vehicle_facts",
        {"make": make, "model": model, "colour": "ağ", "plate_digits": plate.rsplit("-", 1)[1]},
        purpose="service_operation",
    )
    bic, bank = rng.choice(_BANKS)
    payout = {"bank_code": bic, "account_number": synth.iban(bank)}
    payout["recipient_full_name"] = person.full_name
    client.write(driver, "payout_accounts", payout, purpose="payout")
    report.add("records", 2)

    # A shift: the app starts: the phone's network sets country and language (the codes
    # are not kept), the app session opens, then pings every 5-10 s inside it.
    _, mnc = synth.network_of(phone)
    locale = client.network_locale(mcc="400", mnc=mnc)
    network = {"country": locale.country, "language": locale.language}
    session = client.open_app_session(driver)
    at = session.opened_at
    client.write(driver, "mobile_operator", network, purpose="locale_setup", collected_at=at)
    report.add("shifts")
    report.add("records")
    here = synth.point()
    at = _pings(client, synth, report, driver, here, at, rng.randint(3, 6))

    # An order: the customer follows the driver to the pickup.
    order = client.open_order(driver_id=driver, customer_id=customer)
    report.add("orders")
    trip = {
        "started_at": at,
        "pickup_address": synth.address(),
        "destination_address": synth.address(),
        "tariff": rng.choice(_TARIFFS),
        "payment_method": "cash",
    }
    if rng.random() < 0.4:
        trip["details"] = _details(synth, person)
    client.write(driver, "orders", trip, purpose="order_autofill", collected_at=at)
    report.add("records")
    for _ in range(rng.randint(1, 3)):
        at = _pings(client, synth, report, driver, here, at, rng.randint(2, 4))
        seen = client.driver_position(order, purpose="ride_provision")
        report.add("customer_reads")
        times = [r.collected_at for r in seen.records]
        if times == [at]:
            report.add("customer_saw_current")
    client.close_order(order)
    report.add("orders_closed")
    try:
        client.driver_position(order, purpose="ride_provision")
    except Denied:
        report.add("customer_refused_after_close")

    # The driver switches location off in the app: the next ping is refused, nothing kept.
    client.switch_location(driver, collect=False)
    report.add("switched_off")
    try:
        _pings(client, synth, report, driver, here, at, 1)
    except LocationCollectionOff:
        report.add("pings_refused_switched_off")
    client.switch_location(driver, collect=True)
    at = _pings(client, synth, report, driver, here, at, 1)
    client.close_app_session(session.id)
    report.add("app_sessions_closed")

    # Withdrawing earnings: the payout account, read for the payout only.
    account = client.read(driver, ["payout_accounts"], purpose="payout")
    report.add("payouts")
    report.add("records_read", len(account.records))


def _registration(
    synth: Synth, person: Person, phone: str, plate: str, start: datetime
) -> dict[str, Any]:
    rng = synth.rng
    born = (start - timedelta(days=rng.randint(21 * 365, 60 * 365))).date()
    return {
        "full_name": person.full_name,
        "date_of_birth": born,
        "phone": phone,
        "photo": synth.photo(),
        "licence_series": "".join(rng.choice("ABCDEH") for _ in range(2)),
        "licence_number": synth.serial("", 6),
        "licence_issued_on": born + timedelta(days=20 * 365),
        "plate": plate,
    }


def _pings(
    client: MexfiClient,
    synth: Synth,
    report: FlowReport,
    driver: str,
    here: tuple[float, float],
    at: datetime,
    count: int,
) -> datetime:
    """`count` pings near `here` in one write; returns the time of the last."""
    pings = []
    for _ in range(count):
        at += timedelta(seconds=synth.rng.randint(5, 10))
        values = {
            "point": synth.near(here, 300),
            "recorded_at": at,
            "accuracy_m": Decimal(synth.rng.randint(30, 250)) / 10,
        }
        pings.append(
            RecordWriteItem(subject_id=driver, category="location", values=values, collected_at=at)
        )
    client.write_many(pings, purpose="service_operation")
    report.add("pings", count)
    report.add("records", count)
    return at
