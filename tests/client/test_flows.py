"""The operators' reference flows, end to end through the client against the app."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from mexfi.api import create_app
from mexfi.client import MexfiClient
from mexfi.clock import FixedClock
from mexfi.services.bakikart import flows as bakikart_flows
from mexfi.services.taxsee import flows as taxsee_flows
from mexfi.vault import Vault
from tests.api.conftest import make_key
from tests.client.conftest import BASE_URL


def test_bakikart_riders_register_top_up_tap_and_buy_qr_tickets(
    bakikart: MexfiClient, clock: FixedClock
) -> None:
    seen: list[tuple[int, int, int]] = []
    report = bakikart_flows.run(
        bakikart, riders=4, seed=11, progress=lambda *p: seen.append(p), clock=clock
    )
    counts = report.counts
    assert report.seed == 11
    assert counts["subjects"] == 4 and counts["topups"] == 4 and counts["qr_tickets"] == 4
    assert 4 <= counts["taps"] <= 16 and counts["reads"] == 4
    assert counts["lookups"] >= 1 and counts["lookups_wrong"] == 0
    # The app's history shows each rider what was written for them: top-up, taps, ticket.
    assert counts["records_read"] == counts["topups"] + counts["taps"] + counts["qr_tickets"]
    assert [s[0] for s in seen] == [1, 2, 3, 4] and seen[-1][2] == counts["records"]


def test_a_run_is_the_same_for_the_same_seed(
    bakikart: MexfiClient, fresh_vault: Vault, clock: FixedClock
) -> None:
    first = bakikart_flows.run(bakikart, riders=3, seed=5, clock=clock)
    with TestClient(create_app(fresh_vault), base_url=BASE_URL) as http:
        key = make_key(fresh_vault, "bakikart", "service", "bk-again")
        again = bakikart_flows.run(
            MexfiClient(http=http, api_key=key), riders=3, seed=5, clock=clock
        )
    assert again.to_dict() == first.to_dict()
    assert "seed 5" in str(first)


def test_taxsee_drivers_shift_ping_serve_a_followed_order_and_withdraw(
    taxsee: MexfiClient, clock: FixedClock
) -> None:
    report = taxsee_flows.run(taxsee, drivers=3, seed=3, clock=clock)
    counts = report.counts
    assert counts["drivers"] == counts["customers"] == 3 and counts["subjects"] == 6
    assert counts["shifts"] == counts["orders"] == counts["orders_closed"] == 3
    assert counts["pings"] >= 3 * 5
    # During its order the customer saw where the driver was then, and only that; after it
    # closed, nothing.
    assert counts["customer_reads"] >= 3
    assert counts["customer_saw_current"] == counts["customer_reads"]
    assert counts["customer_refused_after_close"] == 3
    # Withdrawing: each driver's payout account, read for the payout.
    assert counts["payouts"] == 3 and counts["records_read"] == 3
    # TX-12: each driver switched location off and the next ping was refused, nothing kept;
    # each app session was closed at the end of the shift.
    assert counts["switched_off"] == counts["pings_refused_switched_off"] == 3
    assert counts["app_sessions_closed"] == 3


def test_taxsee_flows_keep_the_derived_locale_not_the_network_codes(
    taxsee: MexfiClient, vault: Vault, clock: FixedClock
) -> None:
    from sqlalchemy import select

    from mexfi.vault import Actor
    from mexfi.vault.models import Subject

    taxsee_flows.run(taxsee, drivers=2, seed=4, clock=clock)
    dpo = Actor("dpo-1", "dpo")
    with vault.unit_of_work() as uow:
        drivers = list(uow.records.scalars(select(Subject.id).where(Subject.kind == "driver")))
        stored: list[dict[str, object]] = []
        for driver in drivers:
            request_id = uuid.uuid4().hex
            vault.open_request(
                uow, request_id, driver, purpose="subject_request",
                categories=["mobile_operator"], include_passive=False, actor=dpo,
            )  # fmt: skip
            data = vault.read(
                uow, driver, ["mobile_operator"], purpose="subject_request", actor=dpo,
                request_id=request_id,
            )  # fmt: skip
            stored.extend(dict(r.values) for r in data.records)
    # TX-21: the country and language the network gave (TX-20), never the MCC or MNC.
    assert stored == [{"country": "AZ", "language": "az"}] * 2
