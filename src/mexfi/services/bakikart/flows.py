"""The BakıKart app's backend, simulated over the HTTP API through `mexfi.client` only.

Each rider registers (phone, a transport card, sometimes a profile), is found by phone when
signing in again, tops up, taps in the metro and on BakuBus (several taps in one write),
buys a QR ticket and sees the history in the app. Values come from the synthetic generator
(`Synth`) under one seed, so a run is the same every time; times are the injected clock's
(the day before its now).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from mexfi.client import MexfiClient, RecordWriteItem
from mexfi.clock import Clock, SystemClock
from mexfi.services.bakikart.synthetic import POLICY_ID, PURPOSE, _topup_place
from mexfi.services.report import FlowReport
from mexfi.services.synthetic import GenerationProgress, Synth

__all__ = ["APP_PURPOSE", "run"]

#: What the rider's app shows them (their history, balance): BK's online services.
APP_PURPOSE = "online_services"
_FARE = Decimal("0.60")
_AMOUNTS = ("1.00", "2.00", "5.00", "10.00", "20.00")
_MEANS = ("cash_terminal", "bank_card", "other")
_ROUTES = ("Metro", "Metro", "BakuBus 1", "BakuBus 65", "BakuBus 88", "BakuBus 175")


def run(
    client: MexfiClient,
    *,
    riders: int,
    seed: int,
    progress: GenerationProgress | None = None,
    clock: Clock | None = None,
) -> FlowReport:
    """Run `riders` riders through the app with the BakıKart backend's client (a key of
    policy `bakikart`, role `service`); returns the counts of what was done.

    `progress(done, planned, records)` is called after each rider.
    """
    rng = random.Random(seed)
    synth = Synth(rng)
    report = FlowReport("bakikart", seed)
    end = (clock or SystemClock()).now().replace(microsecond=0)
    for done in range(1, riders + 1):
        _rider(client, synth, report, start=end - timedelta(days=1))
        if progress is not None:
            progress(done, riders, report["records"])
    return report


def _rider(client: MexfiClient, synth: Synth, report: FlowReport, *, start: datetime) -> None:
    rng = synth.rng
    phone = synth.phone()
    card = synth.serial("9", 9)
    records: dict[str, dict[str, Any]] = {"phone": {"phone": phone}}
    records["transport_cards"] = {"card_number": card}
    if rng.random() < 0.4:
        person = synth.person()
        records["profile"] = {"first_name": person.given, "last_name": person.surname}
    rider = client.register(
        policy_id=POLICY_ID,
        kind="rider",
        purpose=PURPOSE,
        records=records,
        lookup_phone=phone,
    )
    report.add("subjects")
    report.add("records", len(records))

    # Signing in again on a new phone: the app finds the rider by the number.
    if rng.random() < 0.5:
        found = client.find_by_phone(policy_id=POLICY_ID, phone=phone)
        report.add("lookups")
        if found.id != rider.id:
            report.add("lookups_wrong")

    at = start + timedelta(minutes=rng.randint(30, 120))
    means = rng.choice(_MEANS)
    client.write(
        rider.id,
        "topups",
        {
            "amount": rng.choice(_AMOUNTS),
            "topped_up_at": at,
            "means": means,
            "target": "card",
            "card_number": card,
            "place": _topup_place(synth, means),
        },
        purpose=PURPOSE,
        collected_at=at,
    )
    report.add("topups")
    report.add("records")

    # The validators' taps reach the backend in batches: one write for the day's taps.
    taps = []
    for _ in range(rng.randint(1, 4)):
        at += timedelta(minutes=rng.randint(20, 200))
        values = {"place": synth.station(), "used_at": at, "kind": "card", "card_number": card}
        taps.append(
            RecordWriteItem(
                subject_id=rider.id, category="card_use", values=values, collected_at=at
            )
        )
    client.write_many(taps, purpose=PURPOSE)
    report.add("taps", len(taps))
    report.add("records", len(taps))

    bought = at + timedelta(minutes=rng.randint(5, 60))
    ticket = {
        "ticket_id": "QR-" + synth.token("", 16).upper(),
        "purchased_at": bought,
        "price": _FARE,
        "route": rng.choice(_ROUTES),
        "used_at": bought + timedelta(minutes=rng.randint(1, 30)),
    }
    client.write(rider.id, "qr_tickets", ticket, purpose=PURPOSE, collected_at=bought)
    report.add("qr_tickets")
    report.add("records")

    # The app's history screen.
    shown = client.read(rider.id, ["topups", "card_use", "qr_tickets"], purpose=APP_PURPOSE)
    report.add("reads")
    report.add("records_read", len(shown.records))
