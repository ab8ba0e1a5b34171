"""Synthetic BakıKart riders: a phone, sometimes a profile, cards, e-wallet, taps, top-ups, QR."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from mexfi.services.synthetic import METRO_STATIONS, BatchWriter, Synth
from mexfi.vault import Actor

__all__ = ["POLICY_ID", "SERVICE_ACTOR", "generate_riders"]

POLICY_ID = "bakikart"
#: Collection is the app's automated processing (role `service`, purpose `service_provision`).
SERVICE_ACTOR = Actor("synthetic-bakikart", "service")
PURPOSE = "service_provision"

_DEVICES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Apple", "iPhone 13", "iOS", ("16.7", "17.5", "18.1")),
    ("Apple", "iPhone 15", "iOS", ("17.5", "18.1", "18.3")),
    ("Apple", "iPhone 11", "iOS", ("16.7", "17.5")),
    ("Samsung", "Galaxy A54", "Android", ("13", "14")),
    ("Samsung", "Galaxy S23", "Android", ("14", "15")),
    ("Samsung", "Galaxy A14", "Android", ("13", "14")),
    ("Xiaomi", "Redmi Note 12", "Android", ("13", "14")),
    ("Xiaomi", "Redmi 13C", "Android", ("13", "14")),
    ("Xiaomi", "Poco X5", "Android", ("13",)),
    ("Huawei", "P30 Lite", "Android", ("10",)),
    ("Honor", "X8", "Android", ("12", "13")),
)
_CARD_LABELS = ("iş", "ev", "əsas", "uşaq üçün", "основная", "для работы", None)
_TOPUP_AMOUNTS = ("1.00", "2.00", "3.00", "5.00", "5.00", "10.00", "10.00", "20.00")
_MEANS_WEIGHTS = {"cash_terminal": 5, "bank_card": 4, "ewallet": 2, "other": 1}
_BUS_ROUTES = ("1", "3", "5", "6", "13", "14", "30", "65", "88", "125", "175")
#: Metro and BakuBus single fare, AZN.
_FARE = Decimal("0.60")
# Taps a day: 0..4, about two on average.
_TAPS_A_DAY = (0, 1, 2, 3, 4)
_TAPS_WEIGHTS = (10, 15, 50, 20, 5)


def _rider(writer: BatchWriter, synth: Synth, *, start: datetime, end: datetime) -> int:
    """Register one rider and queue their records; returns the number queued."""
    rng = synth.rng
    person = synth.person(ru_share=0.2)
    phone = synth.phone()
    registered = synth.moment(start - timedelta(days=365), start + (end - start) / 2)
    records: dict[str, dict[str, Any]] = {"phone": {"phone": phone}}
    if rng.random() < 0.4:
        profile: dict[str, Any] = {"first_name": person.given}
        if rng.random() < 0.8:
            profile["last_name"] = person.surname
        if rng.random() < 0.6:
            profile["email"] = person.email(rng)
        records["profile"] = profile
    subject_id = writer.register(
        policy_id=POLICY_ID,
        kind="rider",
        actor=SERVICE_ACTOR,
        purpose=PURPOSE,
        records=records,
        lookup_phone=phone,
        at=registered,
    )
    since = max(start, registered)
    queued = 0

    def add(category: str, values: dict[str, Any], at: datetime) -> None:
        nonlocal queued
        writer.add(POLICY_ID, SERVICE_ACTOR, PURPOSE, subject_id, category, values, at)
        queued += 1

    cards = [synth.serial("9", 9) for _ in range(1 if rng.random() < 0.8 else 2)]
    for card in cards:
        values: dict[str, Any] = {"card_number": card}
        label = rng.choice(_CARD_LABELS)
        if label is not None:
            values["label"] = label
        add("transport_cards", values, registered)
    has_wallet = rng.random() < 0.7
    if has_wallet:
        balance = Decimal(rng.randint(0, 5000)) / 100
        add("ewallet", {"wallet_id": synth.serial("EW", 10), "balance": balance}, registered)

    home = synth.station()
    work = synth.station()
    brand, model, os_name, versions = rng.choice(_DEVICES)
    network, _ = synth.network_of(phone)
    for _ in range(rng.randint(1, 3)):
        seen = synth.moment(since, end)
        add(
            "device",
            {
                "brand": brand,
                "model": model,
                "os": os_name,
                "os_version": rng.choice(versions),
                "network": network,
                "ip_address": synth.ip_address(),
                "location": synth.near(METRO_STATIONS[home], 400),
                "recorded_at": seen,
            },
            seen,
        )

    uses_qr = rng.random() < 0.3
    day = start
    while day < end:
        # Taps: to work in the morning peak, home in the evening, sometimes elsewhere.
        for index in range(rng.choices(_TAPS_A_DAY, _TAPS_WEIGHTS)[0]):
            if index % 2 == 0:
                at = synth.local_time_on(day, 7.0, 10.0)
                place = home if rng.random() < 0.8 else synth.station()
            else:
                at = synth.local_time_on(day, 17.0, 20.5)
                place = work if rng.random() < 0.8 else synth.station()
            at += timedelta(hours=3 * (index // 2))
            if not since <= at < end:
                continue
            by_app = uses_qr and rng.random() < 0.3
            tap: dict[str, Any] = {
                "place": place,
                "used_at": at,
                "kind": "app" if by_app else "card",
            }
            if not by_app:
                tap["card_number"] = rng.choice(cards)
            add("card_use", tap, at)
        # A top-up every five days or so.
        if rng.random() < 0.2:
            at = synth.local_time_on(day, 6.5, 22.0)
            if since <= at < end:
                target = "ewallet" if has_wallet and rng.random() < 0.3 else "card"
                means = rng.choices(tuple(_MEANS_WEIGHTS), tuple(_MEANS_WEIGHTS.values()))[0]
                if target == "ewallet" and means == "ewallet":
                    means = "bank_card"
                topup: dict[str, Any] = {
                    "amount": rng.choice(_TOPUP_AMOUNTS),
                    "topped_up_at": at,
                    "means": means,
                    "target": target,
                    "place": _topup_place(synth, means),
                }
                if target == "card":
                    topup["card_number"] = rng.choice(cards)
                if rng.random() < 0.3:
                    topup["details"] = _topup_details(synth, means)
                add("topups", topup, at)
        # QR tickets, for riders who use them.
        if uses_qr and rng.random() < 0.3:
            bought = synth.local_time_on(day, 7.0, 21.0)
            if since <= bought < end:
                route = "Metro" if rng.random() < 0.6 else f"BakuBus {rng.choice(_BUS_ROUTES)}"
                ticket: dict[str, Any] = {
                    "ticket_id": "QR-" + synth.token("", 16).upper(),
                    "purchased_at": bought,
                    "price": _FARE,
                    "route": route,
                }
                used = bought + timedelta(minutes=rng.randint(1, 40))
                if rng.random() < 0.9 and used < end:
                    ticket["used_at"] = used
                add("qr_tickets", ticket, bought)
        day += timedelta(days=1)
    return queued


def _topup_place(synth: Synth, means: str) -> str:
    if means == "cash_terminal":
        return f"{synth.station()} metrosu, terminal"
    if means == "ewallet":
        return "BakıKart tətbiqi"
    if means == "bank_card":
        return synth.rng.choice(("BakıKart tətbiqi", f"{synth.station()} metrosu, kassa"))
    return f"{synth.station()} metrosu, kassa"


def _topup_details(synth: Synth, means: str) -> str:
    rng = synth.rng
    if means == "cash_terminal":
        return rng.choice(
            (
                f"Terminal T-{rng.randint(100, 999)}, qəbz çap olunub",
                f"Терминал T-{rng.randint(100, 999)}, чек напечатан",
                "Qalıq balansa köçürüldü",
            )
        )
    return rng.choice(
        (
            "Mobil tətbiq vasitəsilə",
            "Через мобильное приложение",
            "Avtomatik artırma",
            "Пополнение по запросу",
        )
    )


def generate_riders(
    writer: BatchWriter,
    synth: Synth,
    *,
    count: int,
    start: datetime,
    end: datetime,
    on_subject: Callable[[], None] | None = None,
) -> int:
    """Register `count` riders with their history between `start` and `end`."""
    queued = 0
    for _ in range(count):
        queued += _rider(writer, synth, start=start, end=end)
        if on_subject is not None:
            on_subject()
    return queued
