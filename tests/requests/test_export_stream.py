"""The access export streams: the JSON is written as the rows arrive, so memory stays flat
however many records the subject has, and the document is the one `export_access` parses."""

from __future__ import annotations

import io
import tracemalloc
from datetime import timedelta

import orjson

from mexfi.requests import export_access, write_access_export
from mexfi.vault import RecordCreate, Vault
from tests.vault.conftest import SERVICE

from .conftest import DPO, access_request, register_rider

PHONE = "+994 50 222 33 44"


def _taps(vault: Vault, subject: str, count: int) -> None:
    now = vault.clock.now()
    for start in range(0, count, 2000):
        items = [
            RecordCreate(
                subject,
                "card_use",
                {
                    "place": "Nizami",
                    "used_at": now - timedelta(minutes=i),
                    "kind": "card",
                    "card_number": "900000001",
                },
                now - timedelta(days=1, minutes=i),
            )
            for i in range(start, min(count, start + 2000))
        ]
        with vault.unit_of_work() as uow:
            vault.write_many(uow, items, actor=SERVICE, purpose="service_provision")


def _peak(vault: Vault, subject: str) -> tuple[int, int]:
    """(records written, peak bytes allocated) of a streamed export into a counting sink."""
    size = 0

    def sink(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    request = access_request(vault, subject)
    with vault.unit_of_work() as uow:
        tracemalloc.start()
        try:
            written = write_access_export(vault, uow, subject, sink, actor=DPO, request_id=request)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert size > written * 100
    return written, peak


def test_memory_stays_flat_with_the_subjects_size(rq_vault: Vault) -> None:
    small = register_rider(rq_vault, PHONE)
    large = register_rider(rq_vault, "+994 50 222 33 45")
    # Both well past one fetch of the cursor (2,000 rows), which bounds what is held.
    _taps(rq_vault, small, 5_000)
    _taps(rq_vault, large, 20_000)
    small_written, small_peak = _peak(rq_vault, small)
    large_written, large_peak = _peak(rq_vault, large)
    assert (small_written, large_written) == (5_002, 20_002)  # + phone and profile
    # Four times the records (3 MB more JSON out): the peak does not follow the data.
    assert large_peak < small_peak * 1.25, (small_peak, large_peak)


def test_the_stream_is_the_document_export_access_returns(rq_vault: Vault) -> None:
    rider = register_rider(rq_vault, PHONE)
    _taps(rq_vault, rider, 3)
    buffer = io.BytesIO()
    request = access_request(rq_vault, rider)
    with rq_vault.unit_of_work() as uow:
        write_access_export(rq_vault, uow, rider, buffer.write, actor=DPO, request_id=request)
        parsed = export_access(rq_vault, uow, rider, actor=DPO, request_id=request)
    streamed = orjson.loads(buffer.getvalue())
    assert streamed["records"] == parsed["records"]
    assert {r["category"] for r in streamed["records"]} == {"phone", "profile", "card_use"}
    tap = next(r for r in streamed["records"] if r["category"] == "card_use")
    assert tap["values"]["place"] == "Nizami" and tap["purposes"] and tap["source"]
    # Times are the subject's own (Baku, +04:00), the instant unchanged; the card is masked.
    assert tap["values"]["used_at"].endswith("+04:00")
    assert tap["values"]["card_number"] == {"last4": "0001", "ref": f"{tap['id']}.card_number"}
    # The second export's access log also lists the first export's own entries.
    extra = parsed["access_log"][len(streamed["access_log"]) :]
    assert extra and {e["action"] for e in extra} == {"export"}
