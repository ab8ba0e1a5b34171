"""Each method of the typed client against the app, errors mapped back to the tree."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.apikeys import OutOfScope, Unauthenticated
from mexfi.apikeys.views import get_code_sender as get_session_code_sender
from mexfi.audit import AuditAction, read_entries
from mexfi.client import AsyncMexfiClient, MexfiClient, RecordWriteItem, calls
from mexfi.clock import FixedClock
from mexfi.errors import Conflict, Denied, Invalid, MexfiError, NotFound, Unavailable
from mexfi.requests import RequestStateConflict
from mexfi.vault import PurposeDenied, SubjectNotFound, Vault
from tests.client.conftest import BASE_URL
from tests.requests.conftest import CapturingSender

PHONE = "+994 50 444 55 66"
PURPOSE = "service_provision"


def _rider(client: MexfiClient, phone: str = PHONE) -> str:
    rider = client.register(
        policy_id="bakikart",
        kind="rider",
        purpose=PURPOSE,
        records={"phone": {"phone": phone}, "transport_cards": {"card_number": "912345678"}},
        lookup_phone=phone,
    )
    return rider.id


def test_a_backend_registers_finds_writes_reads_and_rectifies(
    bakikart: MexfiClient, clock: FixedClock
) -> None:
    rider = _rider(bakikart)
    assert bakikart.find_by_phone(policy_id="bakikart", phone="0504445566").id == rider
    assert bakikart.subject(rider).status == "active"
    at = clock.now() - timedelta(hours=1)
    tap = {"place": "28 May", "used_at": at, "kind": "card", "card_number": "912345678"}
    record = bakikart.write(rider, "card_use", tap, purpose=PURPOSE, collected_at=at)
    many = bakikart.write_many(
        [
            RecordWriteItem(subject_id=rider, category="card_use", values={**tap, "place": p})
            for p in ("Gənclik", "Nizami")
        ],
        purpose=PURPOSE,
    )
    assert len(many) == 2 and record not in many
    data = bakikart.read(rider, ["card_use", "phone"], purpose=PURPOSE)
    assert data.purpose == PURPOSE
    assert sorted(r.values["place"] for r in data.records if r.category == "card_use") == [
        "28 May",
        "Gənclik",
        "Nizami",
    ]
    [phone] = bakikart.read(rider, ["phone"], purpose=PURPOSE).records
    assert phone.values["phone"] == "+994504445566"


def test_rectify_changes_a_record_for_a_verified_request(
    bakikart: MexfiClient, dpo: MexfiClient, sender: CapturingSender
) -> None:
    rider = _rider(bakikart)
    [card] = bakikart.read(rider, ["transport_cards"], purpose=PURPOSE).records
    with pytest.raises(PurposeDenied) as unbound:
        dpo.rectify(card.id, {"label": "iş"}, purpose="rectification")
    assert "request_id" in unbound.value.message
    request = dpo.create_request(
        policy_id="bakikart", kind="rectification", channel="written", phone=PHONE
    )
    dpo.send_code(request.id)
    dpo.verify(request.id, sender.code_for(request.id))
    dpo.rectify(card.id, {"label": "iş"}, purpose="rectification", request_id=request.id)
    [after] = bakikart.read(rider, ["transport_cards"], purpose=PURPOSE).records
    assert after.values["label"] == "iş" and after.updated_at is not None


def test_orders_open_close_and_the_customer_sees_only_where_the_driver_is_now(
    taxsee: MexfiClient, clock: FixedClock
) -> None:
    customer = taxsee.register(
        policy_id="taxsee_driver",
        kind="customer",
        purpose="service_operation",
        records={"customer_contact": {"phone": "+994 70 111 22 33"}},
    ).id
    driver = taxsee.register(
        policy_id="taxsee_driver", kind="driver", purpose="service_operation"
    ).id
    taxsee.open_app_session(driver)  # TX-12: pings are taken inside the app's session
    at = clock.now()
    times = [at + timedelta(seconds=10 * i) for i in range(3)]
    taxsee.write_many(
        [
            RecordWriteItem(
                subject_id=driver,
                category="location",
                values={"point": [40.4 + i / 1000, 49.8], "recorded_at": t},
                collected_at=t,
            )
            for i, t in enumerate(times)
        ],
        purpose="service_operation",
    )
    with pytest.raises(PurposeDenied) as before:
        taxsee.read(driver, ["location"], purpose="ride_provision")
    assert before.value.hint is None or "4" not in before.value.message
    order = taxsee.open_order(driver_id=driver, customer_id=customer)
    seen = taxsee.driver_position(order, purpose="ride_provision")
    assert [r.collected_at for r in seen.records] == [times[-1]]
    taxsee.close_order(order)
    taxsee.close_order(order)  # closing a closed order changes nothing
    with pytest.raises(PurposeDenied):
        taxsee.driver_position(order, purpose="ride_provision")


def test_only_the_order_backend_relays_a_position(
    vault: Vault, http: TestClient, taxsee: MexfiClient
) -> None:
    from tests.api.conftest import make_key

    customer = taxsee.register(
        policy_id="taxsee_driver", kind="customer", purpose="service_operation"
    ).id
    driver = taxsee.register(
        policy_id="taxsee_driver", kind="driver", purpose="service_operation"
    ).id
    order = taxsee.open_order(driver_id=driver, customer_id=customer)
    dispatcher = MexfiClient(
        http=http, api_key=make_key(vault, "taxsee_driver", "dispatcher", "dispatch")
    )
    with pytest.raises(OutOfScope) as refused:
        dispatcher.driver_position(order, purpose="ride_provision")
    assert refused.value.hint and "open_order" in refused.value.hint


def test_a_photo_travels_as_base64_both_ways(taxsee: MexfiClient) -> None:
    photo = b"\x89PNG\r\n\x1a\n\xff\x00\xfe"
    driver = taxsee.register(
        policy_id="taxsee_driver",
        kind="driver",
        purpose="licence_agreement",
        records={
            "registration": {
                "full_name": "Test Sürücü",
                "date_of_birth": "1990-01-01",
                "phone": "+994 55 123 45 67",
                "photo": photo,
                "licence_series": "AB",
                "licence_number": "123456",
                "licence_issued_on": "2012-01-01",
                "plate": "10-AB-123",
            }
        },
    ).id
    [record] = taxsee.read(driver, ["registration"], purpose="licence_agreement").records
    import base64

    assert base64.urlsafe_b64decode(record.values["photo"]) == photo


def test_the_dpo_handles_a_request_over_the_client(
    vault: Vault, bakikart: MexfiClient, dpo: MexfiClient, sender: CapturingSender
) -> None:
    rider = _rider(bakikart)
    request = dpo.create_request(
        policy_id="bakikart", kind="access", channel="written", phone=PHONE
    )
    assert request.state == "verifying"
    with pytest.raises(RequestStateConflict) as early:
        dpo.answer(request.id)
    assert Conflict in type(early.value).__mro__ and early.value.hint
    sent = dpo.send_code(request.id)
    assert sent.codes_sent == 1
    assert dpo.verify(request.id, sender.code_for(request.id)).state == "in_progress"
    assert dpo.request_status(request.id).verification.verified
    answered = dpo.answer(request.id)
    assert answered.request.state == "answered" and answered.answer["records"]
    letter = dpo.letter(request.id, answered.answer, lang="en")
    assert letter.startswith(b"<!DOCTYPE html") or b"<html" in letter[:200]
    page = dpo.list_requests()
    assert [r.id for r in page.items] == [request.id] and page.next_cursor is None
    assert rider


def test_holds_and_certificates(bakikart: MexfiClient, dpo: MexfiClient) -> None:
    rider = _rider(bakikart)
    hold = dpo.place_hold(policy_id="bakikart", reason="case-17", subject_id=rider)
    assert [h.id for h in dpo.holds(subject_id=rider).items] == [hold.id]
    lifted = dpo.lift_hold(hold.id)
    assert lifted.hold.lifted_at is not None and lifted.released == []
    assert dpo.holds().items == []
    assert dpo.certificates(rider).items == []
    assert dpo.retention_status().quarantine.total == 0


def test_the_auditor_verifies_and_reads_entries(
    bakikart: MexfiClient, auditor: MexfiClient
) -> None:
    rider = bakikart.subject(_rider(bakikart))
    bakikart.read(rider.id, ["phone"], purpose=PURPOSE)
    assert auditor.audit_verify().ok
    page = auditor.audit_entries(subject=rider.pseudonym, actions=["read"])
    assert [e.action for e in page.items] == ["read"]
    assert auditor.latest_checkpoint() is not None
    with pytest.raises(Denied):
        bakikart.audit_verify()


def test_scan_and_redact(bakikart: MexfiClient) -> None:
    text = "Zəng edin: +994 50 444 55 66"
    found = bakikart.scan(text, lang="az")
    assert [e.type for e in found.entities] == ["PHONE"] or found.entities
    assert "444 55 66" not in bakikart.redact(text, lang="az").text
    assert bakikart.health() == {"status": "ok"}
    assert {p.id for p in bakikart.policies()} == {"bakikart", "taxsee_driver"}


# ------------------------------------------------------------------------------ errors


def test_problems_come_back_as_the_tree_with_their_hint(
    http: TestClient, bakikart: MexfiClient, taxsee: MexfiClient
) -> None:
    rider = _rider(bakikart)
    with pytest.raises(SubjectNotFound) as missing:
        bakikart.find_by_phone(policy_id="bakikart", phone="+994 70 999 88 77")
    assert isinstance(missing.value, NotFound)
    assert missing.value.hint == "register the subject first"
    assert missing.value.code == "subject_not_found" and missing.value.status == 404  # type: ignore[attr-defined]
    assert "999" not in missing.value.message

    with pytest.raises(PurposeDenied) as denied:
        bakikart.read(rider, ["phone"], purpose="subject_request")
    assert isinstance(denied.value, Denied)

    with pytest.raises(OutOfScope) as scope:
        taxsee.subject(rider)
    assert scope.value.hint == "use a key of the subject's policy"

    with pytest.raises(Unauthenticated) as anonymous:
        MexfiClient(http=http, api_key="mexfi_not-a-key").subject(rider)
    assert Denied in type(anonymous.value).__mro__
    assert anonymous.value.status == 401  # type: ignore[attr-defined]

    with pytest.raises(Invalid) as invalid:
        bakikart.write(rider, "card_use", {"place": "28 May", "nonsense": 1}, purpose=PURPOSE)
    assert invalid.value.status == 422  # type: ignore[attr-defined]

    with pytest.raises(Conflict):
        _rider(bakikart)  # the phone is registered


def test_a_personal_value_never_reaches_a_url(bakikart: MexfiClient) -> None:
    with pytest.raises(Invalid) as wrong:
        bakikart.subject("+994504445566")
    assert "4445566" not in str(wrong.value)
    with pytest.raises(Invalid):
        bakikart.read("0504445566", ["phone"], purpose=PURPOSE)
    with pytest.raises(Invalid):
        bakikart.audit_entries(subject="Aysel Məmmədova")


def test_client_side_validation_names_the_field_not_the_value(bakikart: MexfiClient) -> None:
    with pytest.raises(Invalid) as invalid:
        bakikart.find_by_phone(policy_id="bakikart", phone="+994 50 444 55 66" * 5)
    assert "phone" in invalid.value.message and "444" not in invalid.value.message


def test_an_unreachable_server_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.Client(base_url="http://mexfi.invalid", transport=httpx.MockTransport(refuse))
    with MexfiClient(http=http, api_key="k") as client, pytest.raises(Unavailable) as down:
        client.health()
    assert down.value.hint and "mexfi serve" in down.value.hint


def test_a_server_error_is_a_mexfi_error_without_detail() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    http = httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(broken))
    with pytest.raises(Unavailable) as gateway:
        MexfiClient(http=http).health()
    assert gateway.value.code == "http_502"  # type: ignore[attr-defined]
    assert isinstance(gateway.value, MexfiError)


# ------------------------------------------------------------------------------- async


def test_the_async_client_matches_the_sync_one(app: FastAPI, vault: Vault) -> None:
    from tests.api.conftest import make_key

    key = make_key(vault, "bakikart", "service", "bk-async")

    async def scenario() -> tuple[str, str, list[str], str]:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http,
            AsyncMexfiClient(http=http, api_key=key) as client,
        ):
            rider = await client.register(
                policy_id="bakikart",
                kind="rider",
                purpose=PURPOSE,
                records={"phone": {"phone": PHONE}},
                lookup_phone=PHONE,
            )
            found = await client.find_by_phone(policy_id="bakikart", phone=PHONE)
            data = await client.read(rider.id, ["phone"], purpose=PURPOSE)
            refused = ""
            try:
                await client.read(rider.id, ["phone"], purpose="subject_request")
            except PurposeDenied as exc:
                refused = exc.code  # type: ignore[attr-defined]
            return rider.id, found.id, [r.values["phone"] for r in data.records], refused

    rider, found, phones, refused = asyncio.run(scenario())
    assert rider == found and phones == ["+994504445566"] and refused == "purpose_denied"


# ----------------------------------------------------------------- retries and sessions


class _AnswerLost(httpx.BaseTransport):
    """The real app behind a connection that drops the first `lose` answers after the server
    has done the request: what a client sees when a proxy times out mid-write."""

    def __init__(self, inner: httpx.BaseTransport, lose: int) -> None:
        self.inner = inner
        self.lose = lose
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        response = self.inner.handle_request(request)
        if self.lose:
            self.lose -= 1
            response.read()
            raise httpx.ReadError("connection dropped", request=request)
        return response


def _registers(vault: Vault) -> int:
    with vault.unit_of_work() as uow:
        return len(read_entries(uow.records, actions=[AuditAction.REGISTER]))


def test_a_write_retried_after_a_lost_answer_is_done_once(vault: Vault, http: TestClient) -> None:
    from tests.api.conftest import make_key

    key = make_key(vault, "bakikart", "service", "bk-retry")
    lossy = _AnswerLost(http._transport, lose=2)
    with httpx.Client(base_url=BASE_URL, transport=lossy) as raw:
        client = MexfiClient(http=raw, api_key=key, retries=2)
        rider = _rider(client)
        # Three sends of one write under one key of the client's; the server did it once.
        assert len(lossy.keys) == 3 and lossy.keys[0] is not None
        assert len(set(lossy.keys)) == 1
        assert _registers(vault) == 1
        assert client.find_by_phone(policy_id="bakikart", phone=PHONE).id == rider
        # A key of the caller's: the second send answers the first's subject, writing nothing.
        lossy.lose = 0
        again = client.send(
            calls.register(
                policy_id="bakikart", kind="rider", purpose=PURPOSE,
                records={"phone": {"phone": "+994 50 444 55 67"}}, lookup_phone="+994 50 444 55 67",
            ),
            idempotency_key="register-2",
        )  # fmt: skip
        twice = client.send(
            calls.register(
                policy_id="bakikart", kind="rider", purpose=PURPOSE,
                records={"phone": {"phone": "+994 50 444 55 67"}}, lookup_phone="+994 50 444 55 67",
            ),
            idempotency_key="register-2",
        )  # fmt: skip
        assert again.id == twice.id and _registers(vault) == 2


def test_without_retries_a_lost_answer_is_unavailable_and_a_post_is_sent_once(
    vault: Vault, http: TestClient
) -> None:
    from tests.api.conftest import make_key

    key = make_key(vault, "bakikart", "service", "bk-once")
    lossy = _AnswerLost(http._transport, lose=1)
    with httpx.Client(base_url=BASE_URL, transport=lossy) as raw:
        client = MexfiClient(http=raw, api_key=key)
        with pytest.raises(Unavailable):
            _rider(client)
    assert lossy.keys == [None]  # no key, so never resent


def test_a_rider_signs_in_through_the_client_and_reads_own_data(
    app: FastAPI, bakikart: MexfiClient, http: TestClient, sender: CapturingSender
) -> None:
    app.dependency_overrides[get_session_code_sender] = lambda: sender
    rider = _rider(bakikart)
    public = MexfiClient(http=http)
    challenge = public.start_session(policy_id="bakikart", phone=PHONE)
    session = public.verify_session(challenge.challenge_id, sender.code_for(challenge.challenge_id))
    assert session.role == "rider" and session.policy_id == "bakikart"
    mine = MexfiClient(http=http, api_key=session.token)
    assert mine.me().id == rider
    [phone] = mine.read_mine(["phone"], purpose="online_services").records
    assert phone.values["phone"] == "+994504445566"
    assert mine.my_requests().items == []
    mine.end_session()
    with pytest.raises(Unauthenticated):
        mine.me()
    # A phone nobody holds: the same answer, and no code.
    nobody = public.start_session(policy_id="bakikart", phone="+994 77 000 11 22")
    assert nobody.challenge_id != challenge.challenge_id and len(sender.sent) == 1
