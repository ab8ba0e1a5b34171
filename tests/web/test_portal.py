"""The self-service portal through the app in process (issue 14, point 2): phone sign-in with
a one-time code into an HttpOnly session cookie that sign-out revokes; the rights a policy
does not offer refused and said so (BK-3.2); TX-11's details asked of a Taxsee request; the
language followed and remembered; a new policy version accepted citing the notice shown; and
no personal value in any URL the portal sends a browser to or links to."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mexfi.api import create_app
from mexfi.apikeys import Unauthenticated, authenticate_session
from mexfi.audit import AuditAction, AuditOutcome, read_entries
from mexfi.clock import FixedClock
from mexfi.consent import (
    Method,
    NoticeKind,
    Source,
    governing_version,
    ledger_entries,
    register_policy_version,
    served_notice,
)
from mexfi.policy import parse_policy
from mexfi.requests import RequestKind, RequestState, list_requests
from mexfi.requests.views import get_code_sender
from mexfi.secrets import Secrets
from mexfi.vault import Vault
from tests.consent.test_versions import bakikart_v2, policy_yaml
from tests.requests.conftest import CapturingSender, register_driver, register_rider
from tests.web.conftest import csrf_of

PHONE = "+994 50 222 33 44"
DIGITS = "502223344"
NAME = "Leyla"
OTHER_PHONE = "+994 55 666 77 88"
DRIVER_PHONE = "+994 55 765 43 21"
TX_11 = {
    "id_document_series": "AZE",
    "id_document_number": "17171717",
    "id_issue_date": "2019-05-04",
    "id_issue_authority": "ASAN xidmət 3",
    "fin": "5ZX7K2Q",
}


class Trail:
    """Every address the portal sent the browser to or linked to, and every page."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.pages: list[str] = []

    def keep(self, response: Any) -> Any:
        self.urls.append(str(response.request.url))
        if "location" in response.headers:
            self.urls.append(response.headers["location"])
        if response.headers.get("content-type", "").startswith("text/html"):
            self.pages.append(response.text)
            self.urls += [
                html.unescape(u)
                for u in re.findall(r'(?:href|action|src)="([^"]*)"', response.text)
                if not u.startswith("data:")
            ]
        return response

    def holding(self, *values: str) -> list[str]:
        return [
            u
            for u in self.urls
            if any(v in re.sub(r"\D", "", u) if v.isdigit() else v in u for v in values)
        ]


@pytest.fixture
def trail() -> Trail:
    return Trail()


def _client(app: Any, trail: Trail, base: str = "http://mexfi.test") -> TestClient:
    client = TestClient(app, base_url=base, follow_redirects=False)
    client.headers["accept-language"] = "en"
    client.event_hooks["response"].append(lambda r: (r.read(), trail.keep(r)))
    return client


@pytest.fixture
def portal(web_app: Any, trail: Trail) -> Any:
    with _client(web_app, trail) as client:
        yield client


def post(client: TestClient, path: str, page: str, data: dict[str, Any]) -> Any:
    """POST a form of `page` (a path) as a browser would, with the page's CSRF token."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data})


def sign_in(
    client: TestClient,
    sender: CapturingSender,
    phone: str = PHONE,
    service: str = "bakikart",
    code: str | None = None,
) -> Any:
    started = post(
        client, "/portal/sign-in", "/portal/sign-in", {"service": service, "phone": phone}
    )
    assert started.status_code == 303 and started.headers["location"] == "/portal/code"
    opened = post(client, "/portal/code", "/portal/code", {"code": code or sender.sent[-1].code})
    assert opened.status_code == 303, opened.text
    return opened


def test_a_rider_signs_in_with_a_code_into_an_httponly_cookie_and_signing_out_revokes_it(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    register_rider(vault, PHONE, first_name=NAME)
    assert portal.get("/portal").headers["location"] == "/portal/sign-in"
    assert portal.get("/portal/home").headers["location"] == "/portal/sign-in"
    page = portal.get("/portal/sign-in")
    assert page.status_code == 200 and 'type="tel"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    started = post(portal, "/portal/sign-in", "/portal/sign-in",
                   {"service": "bakikart", "phone": PHONE})  # fmt: skip
    assert started.status_code == 303 and started.headers["location"] == "/portal/code"
    [message] = sender.sent
    assert message.phone == PHONE
    # A wrong code says how many attempts are left; the right one opens the session.
    wrong = "000000" if message.code != "000000" else "111111"
    refused = post(portal, "/portal/code", "/portal/code", {"code": wrong})
    assert refused.status_code == 422 and "Attempts left: 2" in refused.text
    opened = post(portal, "/portal/code", "/portal/code", {"code": message.code})
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/home"
    cookie = next(c for c in opened.headers.get_list("set-cookie") if c.startswith("mexfi_portal="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
    assert "Max-Age=900" in cookie and "Secure" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with vault.unit_of_work() as uow:
        session = authenticate_session(vault, uow, token)
    assert session.role == "rider"
    home = portal.get("/portal/home")
    assert home.status_code == 200 and "The BakıKart Application" in home.text
    data = portal.get("/portal/data")
    assert NAME in data.text
    # Signing out revokes the token itself, not only the cookie.
    out = post(portal, "/portal/sign-out", "/portal/home", {})
    assert out.status_code == 303 and out.headers["location"] == "/portal/sign-in"
    with vault.unit_of_work() as uow, pytest.raises(Unauthenticated):
        authenticate_session(vault, uow, token)
    portal.cookies.set("mexfi_portal", token, path="/portal")
    assert portal.get("/portal/data").headers["location"] == "/portal/sign-in"


def test_the_session_cookie_is_secure_over_https(
    vault: Vault, web_app: Any, sender: CapturingSender, trail: Trail
) -> None:
    register_rider(vault, PHONE)
    with _client(web_app, trail, base="https://mexfi.test") as client:
        opened = sign_in(client, sender)
    cookie = next(c for c in opened.headers.get_list("set-cookie") if c.startswith("mexfi_portal="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_an_unregistered_phone_gets_the_same_answer_and_no_code(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    register_rider(vault, PHONE)
    started = post(portal, "/portal/sign-in", "/portal/sign-in",
                   {"service": "bakikart", "phone": OTHER_PHONE})  # fmt: skip
    assert started.status_code == 303 and started.headers["location"] == "/portal/code"
    assert sender.sent == []
    # Whatever is typed, the challenge opens nothing.
    tried = post(portal, "/portal/code", "/portal/code", {"code": "123456"})
    assert tried.status_code == 422 and "mexfi_portal=" not in str(tried.headers)


def test_a_form_without_the_browsers_csrf_token_is_refused(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    portal.get("/portal/sign-in")
    refused = portal.post("/portal/sign-in", data={"service": "bakikart", "phone": PHONE})
    assert refused.status_code == 403 and "The form has expired" in refused.text
    assert sender.sent == []


def test_bk_3_2_a_rider_asking_for_destruction_is_refused_citing_the_clauses(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    rider = register_rider(vault, PHONE)
    sign_in(portal, sender)
    for kind in ("destruction", "blocking"):
        refused = post(portal, "/portal/requests", "/portal/rights", {"kind": kind, "sign": "yes"})
        assert refused.status_code == 403
        text = html.unescape(refused.text)
        assert "its privacy policy offers only: A copy of my data, Rectification" in text
        assert "(BK-3.2, BK-7.1)" in text
    with vault.unit_of_work() as uow:
        assert list_requests(vault, uow, subject_id=rider) == []
        pseudonym = vault.subject(uow, rider).pseudonym
        entries = read_entries(uow.records, subject=pseudonym, actions=[AuditAction.REQUEST])
    assert [(e.reason, e.outcome) for e in entries] == [
        ("destruction:refused:right_not_offered", AuditOutcome.DENIED),
        ("blocking:refused:right_not_offered", AuditOutcome.DENIED),
    ]
    assert all(e.clauses == ("BK-3.2", "BK-7.1") for e in entries)
    # The rights it does offer are ordinary requests, confirmed with a code.
    made = post(portal, "/portal/requests", "/portal/rights",
                {"kind": "rectification", "category": "profile", "sign": "yes"})  # fmt: skip
    assert made.status_code == 303
    with vault.unit_of_work() as uow:
        (request,) = list_requests(vault, uow, subject_id=rider)
    assert request.kind is RequestKind.RECTIFICATION and request.state is RequestState.VERIFYING
    assert made.headers["location"] == f"/portal/requests/{request.id}"
    confirmed = post(portal, f"/portal/requests/{request.id}/confirm", made.headers["location"],
                     {"code": sender.code_for(request.id)})  # fmt: skip
    assert confirmed.status_code == 303
    page = portal.get(f"/portal/requests/{request.id}")
    assert "with the data protection officer" in page.text
    with vault.unit_of_work() as uow:
        (request,) = list_requests(vault, uow, subject_id=rider)
    assert request.state is RequestState.IN_PROGRESS and request.categories == ("profile",)


def test_tx_11_a_driver_request_carries_the_identity_details(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    driver = register_driver(vault, DRIVER_PHONE)
    sign_in(portal, sender, phone=DRIVER_PHONE, service="taxsee_driver")
    data = portal.get("/portal/data")
    assert "given to you on request" in data.text
    missing = post(portal, "/portal/requests", "/portal/rights", {"kind": "destruction"})
    assert missing.status_code == 422
    for message in ("Fill in this field", "Give your FIN code or your address",
                    "Tick the box to sign the request"):  # fmt: skip
        assert message in missing.text
    with vault.unit_of_work() as uow:
        assert list_requests(vault, uow, subject_id=driver) == []
    made = post(portal, "/portal/requests", "/portal/rights",
                {"kind": "destruction", "sign": "yes", **TX_11})  # fmt: skip
    assert made.status_code == 303
    with vault.unit_of_work() as uow:
        (request,) = list_requests(vault, uow, subject_id=driver)
    assert request.state is RequestState.VERIFYING and request.channel == "written"
    assert all(request.requirements.values()) and request.identity_checks
    # The details were checked, then dropped: none of them is kept or logged.
    with vault.unit_of_work() as uow:
        logged = " ".join(str(e) for e in read_entries(uow.records))
    assert "17171717" not in logged and "5ZX7K2Q" not in logged


def test_the_access_export_is_answered_on_confirmation_and_handed_out_once(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    rider = register_rider(vault, PHONE, first_name=NAME)
    sign_in(portal, sender)
    made = post(portal, "/portal/requests", "/portal/export", {"kind": "access", "sign": "yes"})
    request_id = made.headers["location"].rsplit("/", 1)[1]
    page = post(portal, f"/portal/requests/{request_id}/confirm", made.headers["location"],
                {"code": sender.code_for(request_id)})  # fmt: skip
    assert page.status_code == 200 and "Your export is ready" in page.text
    assert page.headers["cache-control"] == "no-store"
    found = re.search(r'href="data:application/json;base64,([^"]+)"', page.text)
    assert found is not None
    exported = json.loads(base64.b64decode(found.group(1)))
    assert exported["request"]["id"] == request_id
    assert {"phone", "profile"} <= {r["category"] for r in exported["records"]}
    pdf = re.search(r'href="data:application/pdf;base64,([^"]+)"', page.text)
    assert pdf is not None and base64.b64decode(pdf.group(1)).startswith(b"%PDF")
    with vault.unit_of_work() as uow:
        (request,) = list_requests(vault, uow, subject_id=rider)
        pseudonym = vault.subject(uow, rider).pseudonym
        exports = read_entries(uow.records, subject=pseudonym, actions=[AuditAction.EXPORT])
    assert request.state is RequestState.ANSWERED
    assert {(e.actor_id, e.purpose) for e in exports} == {("portal", "subject_request")}
    # Answered once: asking again on the request's page prepares nothing.
    again = post(portal, f"/portal/requests/{request_id}/export", f"/portal/requests/{request_id}",
                 {})  # fmt: skip
    assert again.status_code == 303


def test_tx_3_a_driver_asks_for_rights_beyond_the_export(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    """Every right Taxsee gives is offered: the legal basis (TX-3.2) is answered on
    confirmation; a prohibition (TX-3.6) waits for the DPO with its due date shown."""
    driver = register_driver(vault, DRIVER_PHONE)
    sign_in(portal, sender, phone=DRIVER_PHONE, service="taxsee_driver")
    rights = portal.get("/portal/rights")
    for kind in ("existence", "legal_basis", "processing_info", "sources", "prohibition",
                 "withdraw_consent", "unblocking", "operator_info"):  # fmt: skip
        assert f'value="{kind}"' in rights.text
    asked = post(portal, "/portal/requests", "/portal/rights",
                 {"kind": "legal_basis", "sign": "yes", **TX_11})  # fmt: skip
    assert asked.status_code == 303, asked.text
    request_id = asked.headers["location"].rsplit("/", 1)[1]
    page = post(portal, f"/portal/requests/{request_id}/confirm", asked.headers["location"],
                {"code": sender.code_for(request_id)})  # fmt: skip
    assert page.status_code == 200 and "Your answer is ready" in page.text
    found = re.search(r'href="data:application/json;base64,([^"]+)"', page.text)
    assert found is not None
    assert json.loads(base64.b64decode(found.group(1)))["request"]["id"] == request_id
    banned = post(portal, "/portal/requests", "/portal/rights",
                  {"kind": "prohibition", "sign": "yes", **TX_11})  # fmt: skip
    banned_id = banned.headers["location"].rsplit("/", 1)[1]
    confirmed = post(portal, f"/portal/requests/{banned_id}/confirm", banned.headers["location"],
                     {"code": sender.code_for(banned_id)})  # fmt: skip
    assert confirmed.status_code == 303
    with vault.unit_of_work() as uow:
        made = {r.kind: r for r in list_requests(vault, uow, subject_id=driver)}
    assert made[RequestKind.LEGAL_BASIS].state is RequestState.ANSWERED
    waiting = made[RequestKind.PROHIBITION]
    assert waiting.state is RequestState.IN_PROGRESS
    shown = portal.get(f"/portal/requests/{banned_id}").text
    assert waiting.due_date.strftime("%d.%m.%Y") in shown


def test_bk_3_2_a_rider_is_refused_a_right_bakikart_does_not_give(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    register_rider(vault, PHONE, first_name=NAME)
    sign_in(portal, sender)
    refused = post(portal, "/portal/requests", "/portal/rights",
                   {"kind": "legal_basis", "sign": "yes"})  # fmt: skip
    assert refused.status_code == 403 and "BK-3.2" in refused.text


def test_the_portal_follows_the_browser_and_remembers_the_language_chosen(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    register_rider(vault, PHONE)
    portal.headers["accept-language"] = "ru-RU,ru;q=0.9,en;q=0.5"
    page = portal.get("/portal/sign-in")
    assert '<html lang="ru">' in page.text and "Вход к вашим данным" in page.text
    chosen = portal.get("/portal/sign-in?lang=az")
    assert '<html lang="az">' in chosen.text
    assert any(c.startswith("mexfi_lang=az") for c in chosen.headers.get_list("set-cookie"))
    # Remembered over the browser's Russian; a validation message in Azerbaijani.
    invalid = post(portal, "/portal/sign-in", "/portal/sign-in", {"service": "bakikart"})
    assert invalid.status_code == 422 and "Telefon nömrəsini daxil edin." in invalid.text
    sign_in(portal, sender)
    assert '<html lang="az">' in portal.get("/portal/home").text
    english = portal.get("/portal/rights?lang=en")
    assert '<html lang="en">' in english.text
    refused = post(portal, "/portal/requests", "/portal/rights", {"sign": "yes"})
    assert refused.status_code == 422 and "Choose what you ask for." in refused.text


def test_no_personal_value_is_in_any_url_the_portal_uses(
    vault: Vault, portal: TestClient, sender: CapturingSender, trail: Trail
) -> None:
    register_rider(vault, PHONE, first_name=NAME)
    sign_in(portal, sender)
    pages = ["home", "data", "export", "rights", "requests", "activity", "activity?show=all",
             "sources", "choices", "cookies", "policy"]  # fmt: skip
    for path in pages:
        assert portal.get(f"/portal/{path}").status_code == 200, path
    made = post(portal, "/portal/requests", "/portal/export", {"kind": "access", "sign": "yes"})
    request_id = made.headers["location"].rsplit("/", 1)[1]
    post(portal, f"/portal/requests/{request_id}/confirm", made.headers["location"],
         {"code": sender.code_for(request_id)})  # fmt: skip
    assert any(NAME in p for p in trail.pages)  # the pages show it...
    assert len(trail.urls) > 50
    assert trail.holding(DIGITS, NAME, "Həsənova") == []  # ...no address holds it


def test_another_subjects_request_is_not_found(
    vault: Vault, portal: TestClient, web_app: Any, sender: CapturingSender, trail: Trail
) -> None:
    register_rider(vault, PHONE)
    register_rider(vault, OTHER_PHONE, first_name="Aysel")
    sign_in(portal, sender)
    made = post(portal, "/portal/requests", "/portal/export", {"kind": "access", "sign": "yes"})
    with _client(web_app, trail) as other:
        sign_in(other, sender, phone=OTHER_PHONE)
        assert other.get(made.headers["location"]).status_code == 404
        request_id = made.headers["location"].rsplit("/", 1)[1]
        tried = post(other, f"/portal/requests/{request_id}/confirm", "/portal/home",
                     {"code": "123456"})  # fmt: skip
        assert tried.status_code in (303, 404)
    with vault.unit_of_work() as uow:
        (request,) = list_requests(vault, uow, policy_id="bakikart")
    assert request.state is RequestState.VERIFYING and request.failed_attempts == 0


def test_bk_7_3_a_rider_accepts_the_new_version_citing_the_notice_shown(
    vault: Vault, secrets: Secrets, clock: FixedClock, trail: Trail
) -> None:
    rider = register_rider(vault, PHONE)
    with vault.unit_of_work() as uow:
        register_policy_version(uow, vault.policy("bakikart"), at=clock.now())
    v2 = parse_policy(policy_yaml("bakikart.yaml", bakikart_v2), file="bakikart-v2.yaml")
    later = FixedClock(clock.now() + timedelta(days=10))
    moved = Vault(vault.store, {**vault.policies, "bakikart": v2}, secrets, clock=later)
    sender = CapturingSender()
    app = create_app(moved)
    app.dependency_overrides[get_code_sender] = lambda: sender
    with _client(app, trail) as client:
        sign_in(client, sender)
        home = client.get("/portal/home")
        assert "A new version of the privacy policy: 2.0" in home.text
        page = client.get("/portal/policy")
        served = re.search(r'name="served_notice_id" value="([^"]+)"', page.text)
        assert served is not None and "Accept version 2.0" in page.text
        accepted = post(client, "/portal/policy/accept", "/portal/policy",
                        {"version": "2.0", "served_notice_id": served.group(1)})  # fmt: skip
        assert accepted.status_code == 303
        assert "You have accepted version 2.0" in client.get("/portal/policy").text
    with moved.unit_of_work() as uow:
        pseudonym = moved.subject(uow, rider).pseudonym
        entry = ledger_entries(uow, policy_id="bakikart", holder=pseudonym)[-1]
        notice = served_notice(uow, served.group(1))
        governing = governing_version(uow, policy_id="bakikart", holder=pseudonym, at=later.now())
    assert (entry.kind, entry.notice) == (NoticeKind.POLICY, "2.0")
    assert entry.method is Method.PORTAL and entry.source is Source.PORTAL
    assert entry.served_notice_id == notice.id and notice.version == "2.0"
    assert governing.version == "2.0"


def test_every_word_the_portal_shows_is_there_in_az_en_and_ru() -> None:
    from mexfi.audit import AuditAction as Action
    from mexfi.requests import RequestState as State
    from mexfi.vault import PASSIVE
    from mexfi.web import portal as module
    from mexfi.web.i18n import STRINGS

    root = Path(module.__file__).parent
    sources = [root / "portal.py", *sorted((root / "templates" / "portal").glob("*.html"))]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    used = set(re.findall(r"[\"'](portal\.[a-z_.]+[a-z_])[\"']", text))
    families = {
        "portal.state.": [s.value for s in State],
        "portal.kind.": [k.value for k in RequestKind],
        "portal.action.": [a.value for a in Action],
        "portal.source.": ["subject", "device", "operator", "counterpart", "acquirer"],
        "portal.source_text.": ["subject", "device", "operator", "counterpart", "acquirer"],
        "portal.tier.": ["active", PASSIVE],
        "portal.status.": ["blocked", "prohibited"],
        "portal.policy.rule.": ["when_posted", "on_acceptance"],
        "portal.choices.geo.": ["app_in_use", "order", "always"],
        "portal.request.answered.": [
            "access",
            "rectification",
            "blocking",
            "destruction",
            "unblocking",
            "prohibition",
            "withdraw_consent",
            "info",
        ],
        "portal.signin.as_": ["rider", "driver"],
    }
    used |= {prefix + member for prefix, members in families.items() for member in members}
    used -= {p.rstrip(".") for p in families} | {"portal.signin.as"}
    missing = sorted(k for k in used if k not in STRINGS)
    assert missing == []
    assert all(set(STRINGS[k]) == {"az", "en", "ru"} and all(STRINGS[k].values()) for k in used)
    # Slots are the same in every language.
    for key in used:
        slots = {
            lang: sorted(re.findall(r"\{(\w+)\}", STRINGS[key][lang])) for lang in STRINGS[key]
        }
        assert len({tuple(v) for v in slots.values()}) == 1, (key, slots)


def test_sign_in_codes_are_limited_per_phone_and_the_page_says_so(
    vault: Vault, portal: TestClient, sender: CapturingSender
) -> None:
    register_rider(vault, PHONE)
    form = {"service": "bakikart", "phone": PHONE}
    for _ in range(3):
        assert post(portal, "/portal/sign-in", "/portal/sign-in", form).status_code == 303
    limited = post(portal, "/portal/sign-in", "/portal/sign-in", form)
    assert limited.status_code == 429 and "Too many codes" in limited.text
    assert len(sender.sent) == 3
