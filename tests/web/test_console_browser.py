"""The DPO console in a real browser (issue 14, point 4): Debian's chromium driven by
Playwright against the app served by uvicorn. A DPO signs in with an API key, verifies an
access request with the code the subject received (the capturing sender), reads the
subject's values only after choosing a purpose (and the audit log shows that read), answers
the request and downloads its letters; places and lifts a legal hold; searches the audit
log; views the data map. Every page is checked with axe-core (serious and critical
violations fail) and photographed at 1280 and 390 px into `artifacts/web/`
(`$MEXFI_ARTIFACTS/web`). No URL the browser visits or requests holds the subject's phone.
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

from mexfi.audit import AuditAction, read_entries
from mexfi.consent import register_policy_version
from mexfi.policy import parse_policy
from mexfi.requests import RequestRead, RequestState, add_request, get_request
from mexfi.retention import active_holds
from mexfi.vault import Actor, Vault
from tests.api.conftest import make_key
from tests.browser import artifacts, axe_source, needs_chromium
from tests.consent.test_versions import bakikart_v2, policy_yaml
from tests.requests.conftest import COMPLETE, CapturingSender, register_rider

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [
    needs_chromium,
    # One backend: the browser drives pages, the store's behaviour is tested elsewhere.
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

PHONE = "+994 50 212 34 56"
DIGITS = "502123456"  # the national number, as it would show in a URL in any spelling
FIRST_NAME = "Leyla"
INTAKE = Actor("dpo-intake", "dpo")
SHOTS = artifacts("web")
WIDTHS = {"desktop": 1280, "phone": 390}


class Visits:
    """Every URL the browser navigated to or requested."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("framenavigated", lambda frame: self.urls.append(frame.url))

    def with_phone(self) -> list[str]:
        return [u for u in self.urls if DIGITS in re.sub(r"\D", "", u)]


@pytest.fixture
def visits() -> Visits:
    return Visits()


@pytest.fixture
def context(browser: Browser, visits: Visits) -> Iterator[BrowserContext]:
    # bypass_csp: only so axe-core can be injected; the CSP header itself is asserted.
    made = browser.new_context(
        locale="en-US",
        viewport={"width": 1280, "height": 900},
        bypass_csp=True,
        accept_downloads=True,
    )
    made.on("page", visits.watch)
    yield made
    made.close()


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


def check_page(page: Page, axe: str, name: str) -> None:
    """axe-core on the page (no serious or critical violation) and its screenshots at
    desktop and phone widths."""
    page.add_script_tag(content=axe)
    result: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"axe-core on {name}: {bad}"
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        path = SHOTS / f"console-{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"\nscreenshot: {path}")
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_in(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/console/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/(requests|audit)$"))


@pytest.fixture
def rider(vault: Vault) -> str:
    return register_rider(vault, PHONE, first_name=FIRST_NAME)


@pytest.fixture
def access_request(vault: Vault, rider: str) -> RequestRead:
    """A written access request (TX-11's details complete) naming the subject by phone:
    verifying."""
    with vault.unit_of_work() as uow:
        made = add_request(
            vault,
            uow,
            policy_id="bakikart",
            kind="access",
            channel="written",
            actor=INTAKE,
            phone=PHONE,
            language="en",
            written=COMPLETE,
        )
        uow.commit()
    assert made.state is RequestState.VERIFYING
    return made


def test_a_dpo_answers_an_access_request_end_to_end(
    live: str,
    context: BrowserContext,
    vault: Vault,
    dpo_key: str,
    sender: CapturingSender,
    access_request: RequestRead,
    rider: str,
    visits: Visits,
    axe: str,
) -> None:
    page = context.new_page()
    first = page.goto(f"{live}/console/sign-in")
    assert first is not None
    csp = first.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    check_page(page, axe, "sign-in")
    sign_in(page, live, dpo_key)
    check_page(page, axe, "queue")

    # The queue lists the request; its page shows state and checklist, no value.
    page.get_by_role("link", name=access_request.id).click()
    page.wait_for_url(f"**/console/requests/{access_request.id}")
    assert "Verifying" in page.locator(".page-head").inner_text()
    check_page(page, axe, "request-verifying")
    page.get_by_role("button", name="Send a code").click()
    page.wait_for_load_state()
    assert "one-time code was sent" in page.locator(".flashes").inner_text()
    page.get_by_label("Code read back by the requester").fill(sender.code_for(access_request.id))
    page.get_by_role("button", name="Check the code").click()
    page.wait_for_load_state()
    assert "In progress" in page.locator(".page-head").inner_text()
    assert FIRST_NAME not in page.content()
    check_page(page, axe, "request-in-progress")

    # The subject by phone: a POST; no value until a purpose is chosen.
    page.goto(f"{live}/console/subjects")
    check_page(page, axe, "subjects")
    page.get_by_label("Phone, subject id or pseudonym").fill(PHONE)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**/console/subjects/{rider}")
    assert FIRST_NAME not in page.content()
    check_page(page, axe, "subject")
    page.locator("#purpose-subject_request").check()
    page.get_by_label("The open request it serves").select_option(access_request.id)
    page.get_by_role("button", name="Read the values").click()
    page.wait_for_load_state()
    values = page.locator(".values")
    assert FIRST_NAME in values.inner_text()
    assert "subject_request" in values.inner_text()
    check_page(page, axe, "subject-values")
    subject = vault.subject(vault.unit_of_work(), rider)
    with vault.unit_of_work() as uow:
        reads = read_entries(uow.records, subject=subject.pseudonym, actions=[AuditAction.READ])
    assert [(e.purpose, e.actor_role) for e in reads][-1] == ("subject_request", "dpo")
    # ... and the page's own audit table says so.
    page.goto(f"{live}/console/subjects/{rider}")
    assert "subject_request" in page.locator("table.audit").inner_text()
    assert FIRST_NAME not in page.content()

    # Answer it: the answer page offers the letters in az, en, ru and the JSON answer.
    page.goto(f"{live}/console/requests/{access_request.id}")
    page.get_by_role("button", name="Carry out and answer").click()
    page.wait_for_load_state()
    assert "The answer is ready" in page.content()
    check_page(page, axe, "request-answered")
    with page.expect_download() as pdf_download:
        page.locator("[data-doc='en-pdf']").click()
    pdf = Path(pdf_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf_download.value.suggested_filename == f"{access_request.id}.en.pdf"
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert FIRST_NAME in text
    with page.expect_download() as html_download:
        page.locator("[data-doc='az-html']").click()
    letter = Path(html_download.value.path()).read_text(encoding="utf-8")
    assert '<html lang="az"' in letter and FIRST_NAME in letter
    with page.expect_download() as json_download:
        page.locator("[data-doc='json']").click()
    answer = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    assert answer["request"]["id"] == access_request.id
    with vault.unit_of_work() as uow:
        assert get_request(vault, uow, access_request.id).state is RequestState.ANSWERED

    page.goto(f"{live}/console/requests/{access_request.id}")
    check_page(page, axe, "request-closed")
    assert visits.with_phone() == [], "a URL held the subject's phone"


@pytest.fixture
def two_versions(vault: Vault, rider: str) -> None:
    """BakıKart's bundled version and a 2.0 posted since (the rider accepted only the first)."""
    v2 = parse_policy(policy_yaml("bakikart.yaml", bakikart_v2), file="bakikart-v2.yaml")
    now = vault.clock.now()
    with vault.unit_of_work() as uow:
        register_policy_version(uow, vault.policy("bakikart"), at=now - timedelta(days=30))
        register_policy_version(uow, v2, at=now - timedelta(days=1))
        uow.commit()


def test_a_dpo_places_and_lifts_a_hold_searches_the_audit_and_views_the_data_map(
    live: str,
    context: BrowserContext,
    vault: Vault,
    dpo_key: str,
    rider: str,
    two_versions: None,
    visits: Visits,
    axe: str,
) -> None:
    subject = vault.subject(vault.unit_of_work(), rider)
    page = context.new_page()
    sign_in(page, live, dpo_key)

    page.goto(f"{live}/console/holds")
    page.get_by_label("Subject (id or ps_…)").fill(subject.pseudonym)
    page.get_by_label("Reason").fill("court order 2026/17")
    page.get_by_role("button", name="Place the hold").click()
    page.wait_for_load_state()
    assert "placed" in page.locator(".flashes").inner_text()
    with vault.unit_of_work() as uow:
        (hold,) = active_holds(uow, policy_id="bakikart")
    assert hold.subject_id == rider and hold.reason == "court order 2026/17"
    assert subject.pseudonym in page.locator("table").inner_text()
    check_page(page, axe, "holds")
    page.get_by_role("button", name=f"Lift {hold.id}").click()
    page.wait_for_load_state()
    assert "lifted" in page.locator(".flashes").inner_text()
    with vault.unit_of_work() as uow:
        assert active_holds(uow, policy_id="bakikart") == []

    # The audit log, searched by action: the hold's lift is there; the log verifies.
    page.goto(f"{live}/console/audit")
    page.get_by_label("Action").select_option("unblock")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert "action=unblock" in page.url
    assert page.locator("#verify-result").inner_text() == "The log is intact"
    check_page(page, axe, "audit")
    page.goto(f"{live}/console/audit?subject={subject.pseudonym}")
    assert subject.pseudonym in page.locator("table.audit").inner_text()

    page.goto(f"{live}/console/datamap")
    drawing = page.locator("#datamap svg")
    assert drawing.count() == 1
    assert drawing.get_attribute("role") == "img"
    assert drawing.locator("rect").count() > 10
    check_page(page, axe, "datamap")
    # Policy versions: the diff of the two, and the rider yet to accept 2.0.
    page.goto(f"{live}/console/versions")
    assert page.locator("#pending-count").inner_text() == "1"
    assert "Changes 1.0 → 2.0" in page.locator("#diff-h").inner_text()
    assert "analytics" in page.locator(".diff").all_inner_texts()[0] + page.content()
    check_page(page, axe, "versions")
    for path, name in [
        ("/console/certificates", "certificates"),
        ("/console/requests?state=all", "queue-all"),
    ]:
        page.goto(live + path)
        check_page(page, axe, name)

    # A form posted without the browser's CSRF token is refused with a page in its language.
    english = {"Accept-Language": "en-US,en;q=0.9"}
    refused = page.request.post(f"{live}/console/holds", form={"reason": "x"}, headers=english)
    assert refused.status == 403
    assert "The form has expired" in refused.text()
    forged = page.request.post(
        f"{live}/console/holds", form={"reason": "x", "csrf_token": "A" * 43}, headers=english
    )
    assert forged.status == 403
    assert visits.with_phone() == []


def test_an_auditor_sees_only_the_audit_certificates_and_data_map(
    live: str, context: BrowserContext, vault: Vault, axe: str
) -> None:
    key = make_key(vault, "taxsee_driver", "auditor", "auditor-console")
    page = context.new_page()
    sign_in(page, live, key)
    nav = page.get_by_role("navigation", name="Main navigation").inner_text()
    assert "Audit log" in nav and "Data map" in nav and "Certificates" in nav
    assert "Requests" not in nav and "Legal holds" not in nav
    check_page(page, axe, "auditor-audit")
    answer = page.goto(f"{live}/console/requests")
    assert answer is not None and answer.status == 403
    assert "Not allowed" in page.content()
    # The page follows the language chosen, and remembers it.
    page.goto(f"{live}/console/audit?lang=ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    page.goto(f"{live}/console/datamap")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert "Карта данных" in page.locator("h1").inner_text()
    check_page(page, axe, "auditor-datamap-ru")
