"""The DPO console without a browser: security headers, CSRF, signed sessions (sign-in,
sliding expiry, revocation, sign-out), the auditor's limits, error pages, the language of a
page, values only for a purpose, no personal value in a URL."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.apikeys import list_api_keys, revoke_api_key
from mexfi.audit import AuditAction, AuditOutcome, read_entries
from mexfi.clock import FixedClock
from mexfi.requests import RequestRead, RequestState, add_request, get_request
from mexfi.vault import Vault
from mexfi.web.console import SESSION_COOKIE, SESSION_TTL
from mexfi.web.security import CONTENT_SECURITY_POLICY, CSRF_COOKIE
from tests.api.conftest import DPO, make_key
from tests.requests.conftest import COMPLETE, CapturingSender, register_rider
from tests.web.conftest import csrf_of, sign_in

PHONE = "+994 50 212 34 56"
DIGITS = "502123456"
FIRST_NAME = "Leyla"


def set_cookies(answer: httpx.Response) -> list[str]:
    return answer.headers.get_list("set-cookie")


def post(
    client: TestClient, path: str, data: dict[str, str], page: str | None = None
) -> httpx.Response:
    """A form posted as the browser would, with the CSRF token of `page` (default: `path`)."""
    token = csrf_of(client.get(page or path).text)
    answer: httpx.Response = client.post(path, data={"csrf_token": token, **data})
    return answer


@pytest.fixture
def rider(vault: Vault) -> str:
    return register_rider(vault, PHONE, first_name=FIRST_NAME)


@pytest.fixture
def verifying(vault: Vault, rider: str) -> RequestRead:
    with vault.unit_of_work() as uow:
        made = add_request(
            vault, uow, policy_id="bakikart", kind="access", channel="written",
            actor=DPO, phone=PHONE, written=COMPLETE,
        )  # fmt: skip
        uow.commit()
    assert made.state is RequestState.VERIFYING
    return made


# --------------------------------------------------------------------------- headers


def test_every_web_answer_carries_the_security_headers(web: TestClient) -> None:
    for path in ("/console/sign-in", "/console/nowhere", "/static/style.css", "/console"):
        answer = web.get(path)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    # The API keeps its own answers: no page headers on problem+json.
    api = web.get("/api/v1/requests")
    assert api.headers["content-type"] == "application/problem+json"
    assert "content-security-policy" not in api.headers


def test_no_page_has_an_inline_script_or_style(console: TestClient, rider: str) -> None:
    for path in ("/console/requests", f"/console/subjects/{rider}", "/console/datamap"):
        html = console.get(path).text
        assert "<script" not in html
        assert " style=" not in html and "<style" not in html


def test_cookies_are_httponly_samesite_lax_and_secure_over_https(
    web_app: FastAPI, dpo_key: str
) -> None:
    with TestClient(web_app, base_url="https://mexfi.test", follow_redirects=False) as tls:
        page = tls.get("/console/sign-in")
        sign_in(tls, dpo_key)
        signed = tls.post(
            "/console/sign-in", data={"csrf_token": csrf_of(page.text), "key": dpo_key}
        )
    for cookie in set_cookies(page) + set_cookies(signed):
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered and "secure" in lowered
    with TestClient(web_app, base_url="http://mexfi.test") as plain:
        cookie = set_cookies(plain.get("/console/sign-in"))[0]
    assert "secure" not in cookie.lower()


# --------------------------------------------------------------------------- CSRF


def test_a_form_without_the_browsers_token_is_refused(console: TestClient) -> None:
    # A forged field may hold anything, letters outside ASCII too: refused, never a 500.
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 43}, {"csrf_token": "ə" * 43}):
        answer = console.post(
            "/console/holds",
            data={"reason": "court order 17", **data},
            headers={"Accept-Language": "ru"},
        )
        assert answer.status_code == 403
        assert '<html lang="ru">' in answer.text and "Форма устарела" in answer.text
    # A token from another browser (its cookie is not this one's) is refused too.
    with TestClient(console.app, base_url="http://mexfi.test") as other:
        foreign = csrf_of(other.get("/console/sign-in").text)
    assert foreign != console.cookies[CSRF_COOKIE]
    answer = console.post("/console/holds", data={"reason": "x", "csrf_token": foreign})
    assert answer.status_code == 403
    # Nothing was placed.
    assert "court order 17" not in console.get("/console/holds").text


def test_the_sign_in_form_is_protected_too(web: TestClient, dpo_key: str) -> None:
    web.get("/console/sign-in")
    answer = web.post("/console/sign-in", data={"key": dpo_key})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in web.cookies


# --------------------------------------------------------------------------- sessions


def test_signing_in_gives_a_signed_session_that_never_holds_the_key(
    web: TestClient, dpo_key: str
) -> None:
    assert web.get("/console/requests").headers["location"] == "/console/sign-in"
    sign_in(web, dpo_key)
    session = web.cookies[SESSION_COOKIE]
    assert dpo_key not in session and dpo_key.removeprefix("mexfi_") not in session
    page = web.get("/console/requests")
    assert page.status_code == 200
    assert 'class="badge badge--role">dpo<' in page.text
    # A tampered session is no session.
    payload, mac = session.split(".")
    web.cookies.set(SESSION_COOKIE, f"{payload}.{'0' * len(mac)}")
    assert web.get("/console/requests").headers["location"] == "/console/sign-in"


def test_an_unknown_key_or_a_role_without_the_console_is_refused(
    web: TestClient, vault: Vault
) -> None:
    token = csrf_of(web.get("/console/sign-in").text)
    web.headers["Accept-Language"] = "en"
    wrong = web.post("/console/sign-in", data={"csrf_token": token, "key": "mexfi_nope"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    service = make_key(vault, "bakikart", "service", "bakikart-backend")
    staff = web.post("/console/sign-in", data={"csrf_token": token, "key": service})
    assert staff.status_code == 403 and "only dpo and auditor" in staff.text
    assert SESSION_COOKIE not in web.cookies


def test_the_session_slides_for_thirty_minutes_and_then_ends(
    console: TestClient, clock: FixedClock
) -> None:
    clock.advance(SESSION_TTL - timedelta(minutes=1))
    assert console.get("/console/requests").status_code == 200  # renewed here
    clock.advance(SESSION_TTL - timedelta(minutes=1))
    assert console.get("/console/requests").status_code == 200
    clock.advance(SESSION_TTL + timedelta(seconds=1))
    ended = console.get("/console/requests")
    assert ended.status_code == 303 and ended.headers["location"] == "/console/sign-in"
    english = {"Accept-Language": "en"}
    assert "Your session ended" in console.get("/console/sign-in", headers=english).text


def test_revoking_the_key_ends_its_console_session_at_once(
    console: TestClient, vault: Vault
) -> None:
    with vault.unit_of_work() as uow:
        (key,) = [k for k in list_api_keys(uow) if k.role == "dpo"]
        revoke_api_key(vault, uow, key.id, actor=DPO)
        uow.commit()
    answer = console.get("/console/requests")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"


def test_signing_out_ends_the_session(console: TestClient) -> None:
    answer = post(console, "/console/sign-out", {}, page="/console/requests")
    assert answer.status_code == 303
    assert SESSION_COOKIE not in console.cookies
    assert console.get("/console/requests").status_code == 303


def test_signing_in_and_out_is_audited_with_the_key_id_and_role_never_the_key(
    web: TestClient, vault: Vault, dpo_key: str
) -> None:
    sign_in(web, dpo_key)
    post(web, "/console/sign-out", {}, page="/console/requests")
    service = make_key(vault, "bakikart", "service", "bakikart-backend")
    token = csrf_of(web.get("/console/sign-in").text)
    assert (
        web.post("/console/sign-in", data={"csrf_token": token, "key": service}).status_code == 403
    )
    with vault.unit_of_work() as uow:
        (key,) = [k for k in list_api_keys(uow) if k.role == "dpo"]
        entries = read_entries(uow.records, actions=[AuditAction.SESSION])
    steps = [(e.reason, e.actor_id, e.actor_role, e.reference, e.outcome) for e in entries]
    assert ("console_sign_in", f"apikey:{key.id}", "dpo", key.id, AuditOutcome.OK) in steps
    assert ("console_sign_out", f"apikey:{key.id}", "dpo", key.id, AuditOutcome.OK) in steps
    refused = [e for e in entries if e.reason == "console_sign_in_role_refused"]
    assert [(e.actor_role, e.outcome) for e in refused] == [("service", AuditOutcome.DENIED)]
    logged = " ".join(str(e) for e in entries)
    assert dpo_key not in logged and dpo_key.removeprefix("mexfi_") not in logged
    assert service not in logged


def test_a_dpo_of_both_operators_signs_in_with_each_key(console: TestClient, vault: Vault) -> None:
    other = make_key(vault, "taxsee_driver", "dpo", "dpo-taxsee")
    sign_in(console, other)
    page = console.get("/console/requests")
    assert '<option value="taxsee_driver"' in page.text and '<option value="bakikart"' in page.text
    auditor = make_key(vault, "bakikart", "auditor", "auditor")
    token = csrf_of(console.get("/console/sign-in").text)
    mixed = console.post("/console/sign-in", data={"csrf_token": token, "key": auditor})
    assert mixed.status_code == 403


# --------------------------------------------------------------------------- roles


def test_an_auditor_reaches_only_the_audit_certificates_and_data_map(
    web: TestClient, vault: Vault
) -> None:
    sign_in(web, make_key(vault, "bakikart", "auditor", "auditor"))
    assert web.get("/console").headers["location"] == "/console/audit"
    for path in ("/console/audit", "/console/certificates", "/console/datamap"):
        assert web.get(path).status_code == 200, path
    for path in ("/console/requests", "/console/subjects", "/console/holds", "/console/versions"):
        answer = web.get(path)
        assert answer.status_code == 403, path
        assert "Not allowed" in answer.text or "İcazə yoxdur" in answer.text
    denied = post(web, "/console/holds", {"reason": "x"}, page="/console/audit")
    assert denied.status_code == 403


def test_a_key_reaches_only_its_own_policys_requests(
    console: TestClient, vault: Vault, rider: str
) -> None:
    from tests.requests.conftest import register_driver

    driver = register_driver(vault)
    with vault.unit_of_work() as uow:
        theirs = add_request(
            vault, uow, policy_id="taxsee_driver", kind="access", channel="written",
            actor=DPO, subject_id=driver, written=COMPLETE,
        )  # fmt: skip
        uow.commit()
    answer = console.get(f"/console/requests/{theirs.id}")
    assert answer.status_code == 403
    assert console.get(f"/console/subjects/{driver}").status_code == 403


# --------------------------------------------------------------------------- errors


def test_errors_are_pages_in_the_pages_language_never_a_trace(console: TestClient) -> None:
    missing = console.get("/console/requests/0123456789abcdef0123456789abcdef")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Traceback" not in missing.text and "Not found" in missing.text
    unknown = console.get("/console/nowhere?lang=az")
    assert unknown.status_code == 404 and "Tapılmadı" in unknown.text
    bad_filter = console.get("/console/requests?state=sleeping")
    assert bad_filter.status_code == 422
    # The API is unchanged: problem+json.
    assert console.get("/api/v1/nowhere").headers["content-type"] == "application/problem+json"


def test_a_failed_form_returns_to_its_page_with_the_message(
    console: TestClient, verifying: RequestRead
) -> None:
    path = f"/console/requests/{verifying.id}"
    answer = post(console, f"{path}/verify", {"code": "000000", "back": path}, page=path)
    assert answer.status_code == 303 and answer.headers["location"] == path
    page = console.get(path).text
    assert "flash--error" in page and "Your role or purpose does not allow this" in page
    empty = post(console, f"{path}/verify", {"code": "", "back": path}, page=path)
    assert empty.headers["location"] == path
    assert "Enter the code." in console.get(path).text


def test_a_destruction_is_answered_only_through_its_confirmation(
    console: TestClient, vault: Vault, sender: CapturingSender
) -> None:
    from tests.requests.conftest import register_driver

    driver = register_driver(vault)
    sign_in(console, make_key(vault, "taxsee_driver", "dpo", "dpo-taxsee"))
    with vault.unit_of_work() as uow:
        made = add_request(
            vault, uow, policy_id="taxsee_driver", kind="destruction", channel="written",
            actor=DPO, subject_id=driver, written=COMPLETE,
        )  # fmt: skip
        uow.commit()
    path = f"/console/requests/{made.id}"
    post(console, f"{path}/code", {"back": path}, page=path)
    post(console, f"{path}/verify", {"code": sender.code_for(made.id), "back": path}, page=path)
    page = console.get(path).text
    assert "What will be destroyed" in page and "Review and confirm" in page
    unconfirmed = post(console, f"{path}/answer", {"back": path}, page=path)
    assert unconfirmed.headers["location"] == path
    with vault.unit_of_work() as uow:
        assert get_request(vault, uow, made.id).state is RequestState.IN_PROGRESS
    confirm = console.get(f"{path}/confirm")
    assert "Confirm the destruction" in confirm.text
    done = console.post(
        f"{path}/answer", data={"csrf_token": csrf_of(confirm.text), "confirm": "yes"}
    )
    assert done.status_code == 200 and "The answer is ready" in done.text
    with vault.unit_of_work() as uow:
        assert get_request(vault, uow, made.id).state is RequestState.ANSWERED


# --------------------------------------------------------------------------- language


def test_the_language_is_chosen_remembered_and_else_the_browsers(console: TestClient) -> None:
    assert '<html lang="en">' in console.get("/console/requests").text  # bakikart's default
    page = console.get("/console/requests", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert '<html lang="ru">' in page.text and "Очередь запросов" in page.text
    chosen = console.get("/console/requests?lang=az")
    assert '<html lang="az">' in chosen.text and "Müraciətlər növbəsi" in chosen.text
    assert any(c.startswith("mexfi_lang=az") for c in set_cookies(chosen))
    later = console.get("/console/audit", headers={"Accept-Language": "ru"})
    assert '<html lang="az">' in later.text  # the choice wins over the browser
    assert 'href="/console/audit?lang=en"' in later.text


def test_times_are_shown_in_baku_time(console: TestClient, verifying: RequestRead) -> None:
    page = console.get(f"/console/requests/{verifying.id}").text
    baku = verifying.received_at + timedelta(hours=4)
    assert baku.strftime("%d.%m.%Y %H:%M") in page


# --------------------------------------------------------------------------- values


def test_a_phone_look_up_is_a_post_and_values_need_a_purpose(
    console: TestClient, vault: Vault, rider: str, verifying: RequestRead, sender: CapturingSender
) -> None:
    found = post(console, "/console/subjects/find", {"query": PHONE}, page="/console/subjects")
    location = found.headers["location"]
    assert location == f"/console/subjects/{rider}"
    assert DIGITS not in re.sub(r"\D", "", location)
    page = console.get(location).text
    assert FIRST_NAME not in page and DIGITS not in re.sub(r"\D", "", page)
    subject = vault.subject(vault.unit_of_work(), rider)

    # A purpose the open request does not back is refused, and the refusal is audited.
    refused = post(
        console, f"{location}/read", {"purpose": "subject_request", "back": location},
        page=location,
    )  # fmt: skip
    assert refused.headers["location"] == location
    assert FIRST_NAME not in console.get(location).text

    path = f"/console/requests/{verifying.id}"
    post(console, f"{path}/code", {"back": path}, page=path)
    post(console, f"{path}/verify", {"code": sender.code_for(verifying.id)}, page=path)
    shown = post(
        console, f"{location}/read",
        {"purpose": "subject_request", "request_id": verifying.id}, page=location,
    )  # fmt: skip
    assert shown.status_code == 200
    assert FIRST_NAME in shown.text
    with vault.unit_of_work() as uow:
        entries = read_entries(
            uow.records, subject=subject.pseudonym, actions=[AuditAction.READ, AuditAction.DENY]
        )
    # The refused read, the code's phone read (send_code), the values shown.
    denied, *_, shown_read = entries
    assert (denied.action, denied.outcome, denied.purpose) == (
        AuditAction.DENY, AuditOutcome.DENIED, "subject_request",
    )  # fmt: skip
    assert (shown_read.action, shown_read.outcome, shown_read.purpose) == (
        AuditAction.READ, AuditOutcome.OK, "subject_request",
    )  # fmt: skip
    assert "profile" in shown_read.categories and shown_read.actor_role == "dpo"


def test_web_routes_are_not_in_the_openapi_document(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/console", "/portal", "/static"))]


def test_a_refusal_letter_downloads_without_an_answer_file(
    console: TestClient, verifying: RequestRead
) -> None:
    path = f"/console/requests/{verifying.id}"
    post(console, f"{path}/reject", {"reason": "identity_not_confirmed"}, page=path)
    refusal = post(console, f"{path}/answer", {}, page=path)
    assert refusal.status_code == 200
    letter = post(console, f"{path}/document", {"letter_lang": "ru", "format": "html"}, page=path)
    assert letter.status_code == 200
    disposition = letter.headers["content-disposition"]
    assert disposition == f'attachment; filename="{verifying.id}.ru.html"'
    assert '<html lang="ru"' in letter.text


def test_an_unexpected_failure_is_a_page_without_its_message(
    console: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mexfi.web.console

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret +994502123456")

    monkeypatch.setattr(mexfi.web.console, "list_requests", broken)
    answer = console.get("/console/requests", headers={"Accept-Language": "en"})
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert "Unexpected error" in answer.text and "secret" not in answer.text
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_a_form_too_large_is_refused(console: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import mexfi.web.pages

    monkeypatch.setattr(mexfi.web.pages, "MAX_FORM_BYTES", 1000)
    token = csrf_of(console.get("/console/holds").text)
    answer = console.post("/console/holds", data={"csrf_token": token, "reason": "x" * 2000})
    assert answer.status_code == 422


def test_the_data_map_is_an_svg_of_every_category_purpose_and_recipient(
    console: TestClient, vault: Vault
) -> None:
    policy = vault.policy("taxsee_driver")
    answer = console.get("/console/datamap/taxsee_driver.svg?lang=ru")
    assert answer.headers["content-type"].startswith("image/svg+xml")
    svg = answer.text
    assert svg.startswith("<?xml") and "<script" not in svg and "style=" not in svg
    assert 'role="img"' in svg and "Карта данных" in svg
    for kind, elements in (
        ("category", policy.categories),
        ("purpose", policy.purposes),
        ("recipient", policy.recipients),
    ):
        assert svg.count(f'class="node node--{kind}"') == len(elements)
    uses = sum(len(p.categories) for p in policy.purposes)
    receives = sum(len(r.purposes) for r in policy.recipients)
    assert svg.count("<path ") == uses + receives
    registration = next(r for r in policy.retention if r.id == "registration_destroyed")
    from mexfi.policy import retention_phrase

    assert retention_phrase(policy, registration, lang="ru")[:20] in svg
