"""The cookie banner in a real browser (issue 13, point 3): Debian's chromium driven by
Playwright, the API served by uvicorn on a loopback port, the operator's page served from
another origin (`localhost`, listed in MEXFI_BANNER_ORIGINS) with the one tag and its
blocked scripts. A choice made in the page is stored in the ledger and honoured on the next
load; a blocked script runs only once its category is allowed; a revoked category's cookie
is gone after a reload; a page with Global Privacy Control on records `gpc` and never sets
an advertising cookie; an earlier opt-in against the signal is asked about once; a new
cookie revision asks again. Screenshots of the banner in az, en and ru (desktop, 80-column
and phone widths) go to `$MEXFI_ARTIFACTS/banner` (default `artifacts/banner/`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI

from mexfi.api import create_app
from mexfi.clock import FixedClock
from mexfi.consent import Choice, ConsentEntry, Method, NoticeKind, Source, ledger_entries
from mexfi.consent.banner import ORIGINS_ENV, UI_TEXTS
from mexfi.policy import LANGS, Lang, Policy
from mexfi.secrets import Secrets
from mexfi.vault import Vault
from tests.browser import artifacts, chromium, needs_chromium, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = needs_chromium
GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"

PAGE = """<!doctype html>
<html{lang}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Taxsee Driver</title>
<script>window.ran = [];</script>
<script src="{api}/consent/banner/banner.js" data-policy="{policy}" data-notice="/privacy">
</script>
<style>body {{ font: 16px/1.5 Georgia, serif; margin: 2rem auto; max-width: 44rem;
  padding: 0 1rem; color: #222 }} .hero {{ background: #f3efe6; padding: 1rem 1.5rem }}</style>
</head>
<body>
<h1>Taxsee Driver</h1>
<div class="hero"><p>Orders near you, a fair fee, your earnings every week. Sign in with
your phone number to start driving.</p></div>
<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt
ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco
laboris nisi ut aliquip ex ea commodo consequat.</p>
<script type="text/plain" data-category="performance" data-cookies="perf_id">
  window.ran.push("performance");
  document.cookie = "perf_id=p1; Path=/; Max-Age=3600";
</script>
<script type="text/plain" data-category="functional" data-cookies="fn_lang">
  window.ran.push("functional");
  document.cookie = "fn_lang=az; Path=/; Max-Age=3600";
</script>
<script type="text/plain" data-category="advertising" data-cookies="ad_*">
  window.ran.push("advertising");
  document.cookie = "ad_id=a1; Path=/; Max-Age=3600";
</script>
</body>
</html>
"""


class _Pages(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write((body or "not found").encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Site:
    """The API (uvicorn, a thread) and the operator's page server (another origin)."""

    app: FastAPI
    vault: Vault
    api: str
    origin: str
    pages: dict[str, str] = field(default_factory=dict)

    def page(self, name: str, *, lang: str | None = "en", policy: str = "taxsee_driver") -> str:
        attribute = f' lang="{lang}"' if lang else ""
        self.pages[f"/{name}"] = PAGE.format(lang=attribute, api=self.api, policy=policy)
        return f"{self.origin}/{name}"

    def entries(self, device: str, policy_id: str = "taxsee_driver") -> list[ConsentEntry]:
        holder = self.vault.value_pseudonym("DEVICE", device, digest_chars=24)
        with self.vault.unit_of_work() as uow:
            found = ledger_entries(uow, policy_id=policy_id, holder=holder)
        return [e for e in found if e.kind is NoticeKind.COOKIE]


@pytest.fixture
def site(fresh_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    app = create_app(fresh_vault)
    pages: dict[str, str] = {}
    handler = type("Pages", (_Pages,), {"pages": pages})
    page_server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=page_server.serve_forever, daemon=True).start()
    origin = f"http://localhost:{page_server.server_port}"
    monkeypatch.setenv(ORIGINS_ENV, origin)
    try:
        with serve(app) as base:
            yield Site(app, fresh_vault, f"{base}/api/v1", origin, pages)
    finally:
        page_server.shutdown()
        page_server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(locale="en-US")
    yield made
    made.close()


def load(page: Page, url: str) -> None:
    """Open the page and wait until the banner has applied the device's state."""
    page.goto(url)
    page.evaluate("window.mexfiConsent.ready")


def ran(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.ran")
    return found


def cookies(context: BrowserContext) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies() if c["domain"] == "localhost"}


def shoot(page: Page, name: str) -> Path:
    """A screenshot of the page into the artifacts folder; its path, printed."""
    path = artifacts("banner") / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"\nscreenshot: {path}")
    return path


def choose(page: Page, *, on: tuple[str, ...]) -> None:
    """Open the categories, switch on those named (the rest off), save."""
    banner = page.locator("#mexfi-banner")
    if banner.locator("ul").is_hidden():
        banner.get_by_role("button", name="Choose").click()
    for box in banner.locator("input:not(:disabled)").all():
        box.set_checked(box.get_attribute("data-category") in on)
    banner.get_by_role("button", name="Save choices").click()
    banner.wait_for(state="detached")


# ------------------------------------------------------------------ choices


def test_a_choice_in_the_browser_is_stored_and_honoured_on_the_next_load(
    site: Site, context: BrowserContext, clock: FixedClock
) -> None:
    page = context.new_page()
    url = site.page("home")
    load(page, url)
    assert page.locator("#mexfi-banner").is_visible()
    # Before a choice: no cookie at all, and no blocked script has run.
    assert cookies(context) == {}
    assert ran(page) == []

    choose(page, on=("performance",))
    assert ran(page) == ["performance"]
    jar = cookies(context)
    assert set(jar) == {"mexfi_device", "mexfi_consent", "perf_id"}
    device = jar["mexfi_device"]
    entries = site.entries(device)
    assert [(e.notice, e.choice, e.method) for e in entries] == [
        ("performance", Choice.OPT_IN, Method.SAVE),
        ("functional", Choice.OPT_OUT, Method.SAVE),
        ("advertising", Choice.OPT_OUT, Method.SAVE),
    ]
    assert {(e.source, e.language, e.recorded_at) for e in entries} == {
        (Source.BANNER, "en", clock.now())
    }
    assert all(e.served_notice_id for e in entries)
    # The device id travelled only in bodies: no entry and no URL holds it.
    assert all(device not in e.model_dump_json() for e in entries)

    page.reload()
    page.evaluate("window.mexfiConsent.ready")
    assert page.locator("#mexfi-banner").count() == 0
    assert page.locator("#mexfi-settings").is_visible()
    assert ran(page) == ["performance"]
    assert "ad_id" not in cookies(context)


def test_a_blocked_script_runs_only_once_its_category_is_allowed(
    site: Site, context: BrowserContext
) -> None:
    page = context.new_page()
    load(page, site.page("blocked"))
    blocked = page.locator('script[type="text/plain"][data-category="advertising"]')
    assert blocked.count() == 1 and ran(page) == []
    page.locator("#mexfi-banner").get_by_role("button", name="Accept all").click()
    page.wait_for_function("window.ran.length === 3")
    assert sorted(ran(page)) == ["advertising", "functional", "performance"]
    assert blocked.count() == 0  # replaced by the real script
    assert {"perf_id", "fn_lang", "ad_id"} <= set(cookies(context))


def test_a_revoked_categorys_cookie_is_gone_after_reload(
    site: Site, context: BrowserContext
) -> None:
    page = context.new_page()
    url = site.page("revoke")
    load(page, url)
    page.locator("#mexfi-banner").get_by_role("button", name="Accept all").click()
    page.wait_for_function("window.ran.length === 3")
    jar = cookies(context)
    assert {"ad_id", "perf_id", "fn_lang"} <= set(jar)

    # Revoked elsewhere (another tab of the device): this page's cookies still claim consent.
    shown = httpx.get(f"{site.api}/consent/banner/taxsee_driver/config?lang=en").json()
    revoked = httpx.post(
        f"{site.api}/consent/banner/taxsee_driver/choices",
        json={
            "device_id": jar["mexfi_device"],
            "action": "save",
            "choices": {"performance": True, "functional": True, "advertising": False},
            "revision": shown["revision"],
            "digest": shown["digest"],
            "language": "en",
        },
    )
    assert revoked.status_code == 200, revoked.text
    assert "ad_id" in cookies(context)
    load(page, url)
    assert "ad_id" not in cookies(context)
    assert sorted(ran(page)) == ["functional", "performance"]

    # Revoked in the banner itself: reopened from its settings button.
    page.locator("#mexfi-settings").click()
    choose(page, on=("performance",))
    load(page, url)
    jar = cookies(context)
    assert "fn_lang" not in jar and "ad_id" not in jar and "perf_id" in jar
    assert ran(page) == ["performance"]
    assert [e.method for e in site.entries(jar["mexfi_device"])][-3:] == [Method.SAVE] * 3


# ------------------------------------------------------------------ Global Privacy Control


def test_a_page_with_gpc_records_gpc_and_never_sets_an_advertising_cookie(
    site: Site, browser: Browser
) -> None:
    context = browser.new_context(locale="en-US", extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script(GPC_ON)
    seen: list[str] = []

    def no_ad_cookie() -> None:
        names = set(cookies(context))
        seen.extend(names)
        assert not any(n.startswith("ad_") for n in names), names

    try:
        page = context.new_page()
        url = site.page("gpc")
        load(page, url)
        no_ad_cookie()
        banner = page.locator("#mexfi-banner")
        assert "Global Privacy Control" in banner.locator(".mexfi-note").inner_text()
        shoot(page, "banner-en-gpc")
        device = cookies(context)["mexfi_device"]  # kept: the signal was recorded
        assert sorted((e.notice, e.choice, e.method) for e in site.entries(device)) == [
            ("advertising", Choice.OPT_OUT, Method.GPC),
            ("performance", Choice.OPT_OUT, Method.GPC),
        ]
        banner.get_by_role("button", name="Accept all").click()
        banner.wait_for(state="detached")
        no_ad_cookie()
        assert ran(page) == ["functional"]
        load(page, url)
        no_ad_cookie()
        assert ran(page) == ["functional"]
        assert [e.method for e in site.entries(device)] == [
            Method.GPC,
            Method.GPC,
            Method.ACCEPT_ALL,
        ]
        assert "perf_id" not in seen
    finally:
        context.close()


def test_an_earlier_opt_in_against_gpc_is_asked_once(site: Site, browser: Browser) -> None:
    url = site.page("conflict")
    before = browser.new_context(locale="en-US")
    page = before.new_page()
    load(page, url)
    page.locator("#mexfi-banner").get_by_role("button", name="Accept all").click()
    page.wait_for_function("window.ran.length === 3")
    stored = before.storage_state()
    device = cookies(before)["mexfi_device"]
    before.close()

    context = browser.new_context(
        locale="en-US", storage_state=stored, extra_http_headers={"Sec-GPC": "1"}
    )
    context.add_init_script(GPC_ON)
    try:
        page = context.new_page()
        load(page, url)
        dialog = page.locator("#mexfi-banner")
        assert dialog.get_by_role("heading").inner_text() == "Global Privacy Control"
        assert "Advertising cookies" in dialog.inner_text()
        shoot(page, "banner-en-gpc-conflict")
        # Not overridden, not applied either: off until the answer.
        assert ran(page) == ["functional"]
        assert len(site.entries(device)) == 3
        dialog.get_by_role("button", name="Keep allowed").click()
        dialog.wait_for(state="detached")
        assert sorted(ran(page)) == ["advertising", "functional", "performance"]
        answers = site.entries(device)[3:]
        assert sorted((e.notice, e.choice, e.method) for e in answers) == [
            ("advertising", Choice.OPT_IN, Method.GPC),
            ("performance", Choice.OPT_IN, Method.GPC),
        ]
        # Asked once: the next load with the signal asks nothing.
        load(page, url)
        assert page.locator("#mexfi-banner").count() == 0
        assert sorted(ran(page)) == ["advertising", "functional", "performance"]
        assert len(site.entries(device)) == 5
    finally:
        context.close()


# ------------------------------------------------------------------ revisions, languages


def test_a_new_cookie_revision_asks_again(
    site: Site,
    context: BrowserContext,
    policies: dict[str, Policy],
    secrets: Secrets,
    clock: FixedClock,
) -> None:
    page = context.new_page()
    url = site.page("revision")
    load(page, url)
    page.locator("#mexfi-banner").get_by_role("button", name="Accept all").click()
    page.wait_for_function("window.ran.length === 3")

    data = policies["taxsee_driver"].model_dump(mode="json", exclude_defaults=True)
    data["policy"]["version"] = "1.1"
    data["cookies"][3]["description"]["en"] += " Partners may set them on our pages."
    changed = Policy.model_validate(data)
    site.app.state.vault = Vault(
        site.vault.store, {**policies, "taxsee_driver": changed}, secrets, clock=clock
    )
    load(page, url)
    assert page.locator("#mexfi-banner").is_visible()
    assert ran(page) == []  # nothing runs on the old revision's consent
    assert "ad_id" not in cookies(context)


#: Tests of the page alone: one backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@sqlite_only
@pytest.mark.parametrize(
    ("html_lang", "locale", "shown"),
    [("ru", "en-US", "ru"), (None, "az-AZ", "az"), ("fr", "ru-RU", "ru"), ("de", "fr-FR", "az")],
)
def test_the_banner_speaks_the_pages_language_else_the_browsers(
    site: Site, browser: Browser, html_lang: str | None, locale: str, shown: Lang
) -> None:
    context = browser.new_context(locale=locale)
    try:
        page = context.new_page()
        load(page, site.page(f"lang-{html_lang}-{locale}", lang=html_lang))
        banner = page.locator("#mexfi-banner")
        assert banner.get_by_role("heading").inner_text() == UI_TEXTS["title"][shown]
        assert banner.get_attribute("lang") == shown
    finally:
        context.close()


# ------------------------------------------------------------------ screenshots

SIZES = {"desktop": (1280, 800), "80col": (640, 720), "phone": (375, 740)}


@sqlite_only
def test_screenshots_of_the_banner_in_az_en_ru(site: Site, browser: Browser) -> None:
    taken: list[Path] = []
    for lang in LANGS:
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            try:
                page = context.new_page()
                load(page, site.page(f"shot-{lang}-{size}", lang=lang))
                banner = page.locator("#mexfi-banner")
                title = banner.get_by_role("heading").inner_text()
                assert title == UI_TEXTS["title"][lang]
                # Nothing of the banner is cut off at this width.
                box = banner.locator(".mexfi-box").bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
                taken.append(shoot(page, f"banner-{lang}-{size}"))
                banner.get_by_role("button", name=UI_TEXTS["customize"][lang]).click()
                banner.locator("ul").wait_for(state="visible")
                taken.append(shoot(page, f"banner-{lang}-{size}-categories"))
            finally:
                context.close()
    assert all(p.stat().st_size > 10_000 for p in taken)
