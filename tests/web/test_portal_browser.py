"""The self-service portal in a real browser (issue 14, points 2 and 4): Debian's chromium
driven by Playwright against the app served by uvicorn.

A rider signs in with the code the (capturing) sender got, sees the last 12 months of her
data, asks for her export and confirms it with the code, downloads the JSON and the PDF
letter, turns on personalized pushes (the ledger has it, `can_notify` changes), and asks
for destruction: refused, BakıKart offers access and rectification only, and the page says
so citing the clauses. A driver asks for destruction with TX-11's details, confirms it, the
DPO carries it out in the console, and the driver's data is gone. The portal follows the browser's
language, switches az ↔ ru ↔ en and remembers the choice. Every page is checked with
axe-core (no serious or critical violation) and photographed at 1280 and 390 px into
`artifacts/web/` (`$MEXFI_ARTIFACTS/web`, the console tests' folder). No URL the browser
visits or requests holds a phone or a name.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mexfi.audit import AuditAction, AuditOutcome, read_entries
from mexfi.consent import Method, NoticeKind, Source, can_notify, is_allowed, ledger_entries
from mexfi.requests import RequestKind, RequestState, get_request, list_requests
from mexfi.vault import RecordCreate, Vault
from tests.api.conftest import make_key
from tests.browser import artifacts, axe_source, needs_chromium
from tests.requests.conftest import CapturingSender, register_driver, register_rider
from tests.vault.conftest import DRIVER, SERVICE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [
    needs_chromium,
    # One backend: the browser drives pages, the store's behaviour is tested elsewhere.
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

RIDER_PHONE = "+994 50 212 34 56"
RIDER_DIGITS = "502123456"
FIRST_NAME = "Leyla"
DRIVER_PHONE = str(DRIVER["phone"])
SHOTS = artifacts("web")
WIDTHS = {"desktop": 1280, "phone": 390}


class Visits:
    """Every URL the browser navigated to or requested."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("framenavigated", lambda frame: self.urls.append(frame.url))

    def with_personal_values(self, *values: str) -> list[str]:
        found = []
        for url in self.urls:
            if url.startswith("data:"):
                continue  # a downloaded document's own bytes, not an address
            digits = re.sub(r"\D", "", url)
            if any((v in digits) if v.isdigit() else (v in url) for v in values):
                found.append(url)
        return found


@pytest.fixture
def visits() -> Visits:
    return Visits()


def _context(browser: Browser, visits: Visits, locale: str = "en-US") -> BrowserContext:
    # bypass_csp: only so axe-core can be injected; the CSP header itself is asserted.
    made = browser.new_context(
        locale=locale, viewport={"width": 1280, "height": 900}, bypass_csp=True,
        accept_downloads=True,
    )  # fmt: skip
    made.on("page", visits.watch)
    return made


@pytest.fixture
def context(browser: Browser, visits: Visits) -> Iterator[BrowserContext]:
    made = _context(browser, visits)
    yield made
    made.close()


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


def check_page(page: Page, axe: str, name: str) -> None:
    """axe-core on the page (no serious or critical violation) at both widths, and its
    screenshots at desktop and phone widths."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(content=axe)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        result: dict[str, Any] = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
        )
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"axe-core on portal {name} at {width} px: {bad}"
        path = SHOTS / f"portal-{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"\nscreenshot: {path}")
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_in(page: Page, base: str, sender: CapturingSender, *, service: str, phone: str) -> None:
    page.goto(f"{base}/portal")
    page.wait_for_url("**/portal/sign-in")
    page.locator(f"#service-{service}").check()
    page.get_by_label("The phone you registered with").fill(phone)
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url("**/portal/code")
    page.get_by_label("6-digit code").fill(sender.sent[-1].code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/portal/home")


def _rider(vault: Vault) -> str:
    rider = register_rider(vault, RIDER_PHONE, first_name=FIRST_NAME)
    now = vault.clock.now()
    taps = [
        RecordCreate(
            rider,
            "card_use",
            {
                "place": place,
                "used_at": now - timedelta(days=d),
                "kind": "card",
                "card_number": "900000001",
            },
            now - timedelta(days=d),
        )
        for d, place in ((2, "Nizami"), (9, "28 May"), (40, "Gənclik"))
    ]
    with vault.unit_of_work() as uow:
        vault.write_many(uow, taps, actor=SERVICE, purpose="service_provision")
    return rider


def test_a_rider_sees_downloads_chooses_and_is_refused_destruction(
    live: str,
    context: BrowserContext,
    vault: Vault,
    sender: CapturingSender,
    visits: Visits,
    axe: str,
) -> None:
    rider = _rider(vault)
    with vault.unit_of_work() as uow:
        pseudonym = vault.subject(uow, rider).pseudonym
    page = context.new_page()
    first = page.goto(f"{live}/portal/sign-in")
    assert first is not None
    csp = first.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    check_page(page, axe, "sign-in")

    # A phone that is not one: the page says why, in the page's language.
    page.get_by_label("The phone you registered with").fill("12")
    page.get_by_role("button", name="Send me a code").click()
    assert "does not look like a phone number" in page.locator(".portal-errors").inner_text()
    check_page(page, axe, "sign-in-invalid")

    page.locator("#service-bakikart").check()
    page.get_by_label("The phone you registered with").fill(RIDER_PHONE)
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url("**/portal/code")
    check_page(page, axe, "code")
    page.get_by_label("6-digit code").fill(sender.sent[-1].code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/portal/home")
    cookie = next(c for c in context.cookies() if c["name"] == "mexfi_portal")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/portal"
    check_page(page, axe, "home")

    # My data: the last 12 months of the active tier, read as the rider.
    page.get_by_role("navigation").get_by_role("link", name="My data", exact=True).click()
    page.wait_for_url("**/portal/data")
    content = page.locator("main").inner_text()
    assert FIRST_NAME in content and "Nizami" in content and "Gənclik" in content
    assert "900000001" not in content and "•••• 0001" in content
    check_page(page, axe, "data-rider")
    with vault.unit_of_work() as uow:
        reads = read_entries(uow.records, subject=pseudonym, actions=[AuditAction.READ])
    assert reads[-1].purpose == "online_services" and reads[-1].actor_role == "rider"

    # The export: the form validates, the code confirms, both documents download.
    page.goto(f"{live}/portal/export")
    check_page(page, axe, "export")
    page.get_by_role("button", name="Send the request and get a code").click()
    assert "Tick the box to sign the request" in page.locator(".portal-errors").inner_text()
    page.get_by_label("This request is mine").check()
    page.get_by_role("button", name="Send the request and get a code").click()
    page.wait_for_url(re.compile(r"/portal/requests/\w+$"))
    request_id = page.url.rsplit("/", 1)[1]
    assert "We sent a code to your phone" in page.locator(".flashes").inner_text()
    check_page(page, axe, "request-verifying")
    page.get_by_label("6-digit code").fill("000000" if sender.code_for(request_id) != "000000"
                                           else "111111")  # fmt: skip
    page.get_by_role("button", name="Confirm").click()
    assert "Attempts left: 2" in page.locator("#code-error").inner_text()
    page.get_by_label("6-digit code").fill(sender.code_for(request_id))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    assert "Your export is ready" in page.locator("h1").inner_text()
    check_page(page, axe, "download")
    with page.expect_download() as json_download:
        page.locator("#download-json").click()
    assert json_download.value.suggested_filename == f"mexfi-export-{request_id}.json"
    exported = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    categories = {r["category"] for r in exported["records"]}
    assert {"phone", "profile", "card_use"} <= categories
    profile = next(r for r in exported["records"] if r["category"] == "profile")
    assert profile["values"]["first_name"] == FIRST_NAME
    with page.expect_download() as pdf_download:
        page.locator("#download-pdf").click()
    pdf = Path(pdf_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    assert FIRST_NAME in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    with vault.unit_of_work() as uow:
        (made,) = list_requests(vault, uow, subject_id=rider)
    assert made.kind is RequestKind.ACCESS and made.state is RequestState.ANSWERED
    page.goto(f"{live}/portal/requests/{request_id}")
    assert "handed out when the request was answered" in page.locator("main").inner_text()
    check_page(page, axe, "request-answered")
    page.goto(f"{live}/portal/requests")
    check_page(page, axe, "requests")

    # Push preferences: personalized pushes are off until opted in (BK-6.1).
    with vault.unit_of_work() as uow:
        policy = vault.policy("bakikart")
        assert not can_notify(uow, policy=policy, holder=pseudonym, notification="personalized")
    page.goto(f"{live}/portal/choices")
    check_page(page, axe, "choices")
    switch = page.get_by_role("switch", name="Personalized push notifications")
    assert not switch.is_checked()
    switch.check()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_url("**/portal/choices")
    assert "1 change(s) recorded" in page.locator(".flashes").inner_text()
    assert page.get_by_role("switch", name="Personalized push notifications").is_checked()
    with vault.unit_of_work() as uow:
        assert can_notify(uow, policy=policy, holder=pseudonym, notification="personalized")
        entry = ledger_entries(uow, policy_id="bakikart", holder=pseudonym)[-1]
    assert (entry.kind, entry.notice, entry.choice.value) == (
        NoticeKind.NOTIFICATION, "personalized", "opt_in",
    )  # fmt: skip
    assert entry.method is Method.PORTAL and entry.source is Source.PORTAL
    assert entry.served_notice_id is not None

    # This device's cookies: chosen in the operator's banner, then changed in the portal.
    assert "made no cookie choice yet" in page.locator("main").inner_text()
    page.get_by_role("link", name="Open the cookie settings").click()
    page.wait_for_url("**/portal/cookies")
    page.get_by_role("button", name="Reject all").click()
    page.wait_for_function("() => document.cookie.includes('mexfi_consent')")
    check_page(page, axe, "cookies")
    page.get_by_role("link", name="Back to my choices").click()
    page.wait_for_url("**/portal/choices")
    ease = page.get_by_role("switch", name="Ease-of-use cookies")
    assert not ease.is_checked()
    assert page.get_by_role("switch", name="Safety cookies").is_disabled()
    ease.check()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_url("**/portal/choices")
    assert page.get_by_role("switch", name="Ease-of-use cookies").is_checked()
    device = next(c["value"] for c in context.cookies() if c["name"] == "mexfi_device")
    with vault.unit_of_work() as uow:
        holder = vault.value_pseudonym("DEVICE", device, digest_chars=24)
        chosen = ledger_entries(uow, policy_id="bakikart", holder=holder)[-1]
    assert (chosen.notice, chosen.choice.value, chosen.method) == (
        "ease_of_use", "opt_in", Method.PORTAL,
    )  # fmt: skip

    # Destruction: BakıKart offers access and rectification only; refused, and said so.
    page.goto(f"{live}/portal/rights")
    check_page(page, axe, "rights")
    page.get_by_label("Destruction").check()
    page.get_by_label("This request is mine").check()
    page.get_by_role("button", name="Send the request and get a code").click()
    refusal = page.locator("#refused").inner_text()
    assert "Request not accepted: Destruction" in refusal
    assert "offers only: A copy of my data, Rectification (BK-3.2, BK-7.1)" in refusal
    check_page(page, axe, "rights-refused")
    with vault.unit_of_work() as uow:
        assert len(list_requests(vault, uow, subject_id=rider)) == 1  # nothing stored
        denied = read_entries(uow.records, subject=pseudonym, actions=[AuditAction.REQUEST])[-1]
    assert denied.outcome is AuditOutcome.DENIED
    assert denied.reason == "destruction:refused:right_not_offered"

    # Who read it and why (TX-3.4), where it came from (TX-3.7), the policy version.
    page.goto(f"{live}/portal/activity")
    feed = page.locator(".portal-feed").inner_text()
    assert "The portal (answering your request)" in feed and "Answering the User" in feed
    check_page(page, axe, "activity")
    page.goto(f"{live}/portal/sources")
    assert "From your device" in page.locator("main").inner_text()
    check_page(page, axe, "sources")
    page.goto(f"{live}/portal/policy")
    check_page(page, axe, "policy")
    # Registering was accepting (BK-1.2): the version in force is on record as accepted.
    assert "You have accepted version 1.0" in page.locator("main").inner_text()

    # Signing out ends the session: its pages send the browser back to sign in.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/portal/sign-in")
    page.goto(f"{live}/portal/data")
    page.wait_for_url("**/portal/sign-in")
    assert visits.with_personal_values(RIDER_DIGITS, FIRST_NAME) == []


def test_a_driver_asks_for_destruction_and_the_dpo_carries_it_out(
    live: str,
    browser: Browser,
    context: BrowserContext,
    vault: Vault,
    sender: CapturingSender,
    visits: Visits,
    axe: str,
) -> None:
    driver = register_driver(vault, DRIVER_PHONE)
    page = context.new_page()
    sign_in(page, live, sender, service="taxsee_driver", phone=DRIVER_PHONE)
    check_page(page, axe, "home-driver")

    # The driver's role reads nothing directly (TX-3 by request): the page says so.
    page.goto(f"{live}/portal/data")
    assert "given to you on request" in page.locator("main").inner_text()
    check_page(page, axe, "data-driver")

    # TX-12: the driver turns location collection off; the ledger has it.
    page.goto(f"{live}/portal/choices")
    location = page.get_by_role("switch", name="Collect my location")
    assert location.is_checked()
    location.uncheck()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_url("**/portal/choices")
    assert not page.get_by_role("switch", name="Collect my location").is_checked()
    check_page(page, axe, "choices-driver")
    with vault.unit_of_work() as uow:
        pseudonym = vault.subject(uow, driver).pseudonym
        policy = vault.policy("taxsee_driver")
        assert not is_allowed(
            uow, policy=policy, holder=pseudonym, kind=NoticeKind.GEOLOCATION, notice="collection"
        )
        switched = ledger_entries(uow, policy_id="taxsee_driver", holder=pseudonym)[-1]
    assert switched.method is Method.PORTAL and switched.choice.value == "opt_out"

    page.goto(f"{live}/portal/rights")
    page.get_by_label("Destruction").check()
    page.get_by_label("This request is mine").check()
    page.get_by_role("button", name="Send the request and get a code").click()
    errors = page.locator(".portal-errors").inner_text()
    assert "Fill in this field" in errors and "Give your FIN code or your address" in errors
    check_page(page, axe, "rights-driver-invalid")
    page.get_by_label("Document series").fill("AZE")
    page.get_by_label("Document number").fill("17171717")
    page.get_by_label("Date of issue").fill("2019-05-04")
    page.get_by_label("Issued by").fill("ASAN xidmət 3")
    page.get_by_label("FIN (PIN) code").fill("5ZX7K2Q")
    page.get_by_label("This request is mine").check()
    page.get_by_role("button", name="Send the request and get a code").click()
    page.wait_for_url(re.compile(r"/portal/requests/\w+$"))
    request_id = page.url.rsplit("/", 1)[1]
    page.get_by_label("6-digit code").fill(sender.code_for(request_id))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"**/portal/requests/{request_id}")
    assert "with the data protection officer" in page.locator("main").inner_text()
    check_page(page, axe, "request-with-dpo")

    # The DPO carries it out in the console: the destruction's confirmation page, then done.
    dpo_key = make_key(vault, "taxsee_driver", "dpo", "dpo-console")
    staff = _context(browser, visits)
    try:
        console = staff.new_page()
        console.goto(f"{live}/console/sign-in")
        console.get_by_label("API key").fill(dpo_key)
        console.get_by_role("button", name="Sign in").click()
        console.wait_for_url("**/console/requests")
        console.goto(f"{live}/console/requests/{request_id}/confirm")
        console.get_by_label("I have seen what will be destroyed").check()
        console.get_by_role("button", name="Destroy and answer").click()
        console.wait_for_load_state()
        assert "Request answered." in console.locator(".flashes").inner_text()
    finally:
        staff.close()
    with vault.unit_of_work() as uow:
        assert get_request(vault, uow, request_id).state is RequestState.ANSWERED
        assert vault.category_summary(uow, driver) == []
    page.goto(f"{live}/portal/requests/{request_id}")
    text = page.locator("main").inner_text()
    assert "destroyed irreversibly" in text and "Records destroyed" in text
    check_page(page, axe, "request-destroyed")
    page.goto(f"{live}/portal/data")
    assert "Nothing is held about you" in page.locator("main").inner_text()
    page.goto(f"{live}/portal/activity")
    assert "destroyed" in page.locator(".portal-feed").inner_text()
    check_page(page, axe, "activity-driver")
    assert visits.with_personal_values("557654321", "Rəşad") == []


def test_the_portal_follows_the_browser_and_remembers_the_language_chosen(
    live: str, browser: Browser, vault: Vault, sender: CapturingSender, axe: str
) -> None:
    register_rider(vault, RIDER_PHONE, first_name=FIRST_NAME)
    visits = Visits()
    context = _context(browser, visits, locale="ru-RU")
    try:
        page = context.new_page()
        page.goto(f"{live}/portal/sign-in")
        assert page.locator("html").get_attribute("lang") == "ru"
        assert page.locator("h1").inner_text() == "Вход к вашим данным"
        check_page(page, axe, "sign-in-ru")
        page.get_by_role("link", name="AZ").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "az"
        check_page(page, axe, "sign-in-az")
        # Remembered on the next page, over the browser's Russian.
        page.get_by_label("Qeydiyyatdan keçdiyiniz telefon").fill(RIDER_PHONE)
        page.get_by_role("button", name="Kod göndərin").click()
        page.wait_for_url("**/portal/code")
        assert page.locator("h1").inner_text() == "Kodu daxil edin"
        page.get_by_role("link", name="RU").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Введите код"
        page.get_by_label("6-значный код").fill(sender.sent[-1].code)
        page.get_by_role("button", name="Войти").click()
        page.wait_for_url("**/portal/home")
        assert page.locator("html").get_attribute("lang") == "ru"
        page.get_by_role("link", name="EN").click()
        page.wait_for_load_state()
        page.goto(f"{live}/portal/choices")
        assert page.locator("h1").inner_text() == "My choices"
        # A validation message in the page's language.
        page.goto(f"{live}/portal/rights?lang=ru")
        page.get_by_role("button", name="Отправить запрос и получить код").click()
        assert "Выберите, что вы просите" in page.locator(".portal-errors").inner_text()
        check_page(page, axe, "rights-invalid-ru")
        assert visits.with_personal_values(RIDER_DIGITS, FIRST_NAME) == []
    finally:
        context.close()
