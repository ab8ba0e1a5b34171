"""The cookie banner's public routes (issue 13, point 3; BK-5.1, TX-18, TX-19) against the
running store of each backend, in process: the config comes from the policy, a choice lands
in the consent ledger under the device's pseudonym with its method, source, language and
served notice, a new cookie revision asks again, Global Privacy Control opts out of the
advertising and performance categories (and asks once about an earlier opt-in), and bad
requests are refused as problems that never echo what was sent."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mexfi.api import create_app
from mexfi.clock import FixedClock
from mexfi.consent import (
    Choice,
    ConsentEntry,
    HolderKind,
    Method,
    NoticeKind,
    Source,
    ledger_entries,
)
from mexfi.consent.banner import (
    GPC_CATEGORIES,
    MAX_BODY,
    ORIGINS_ENV,
    banner_text,
    cookie_revision,
)
from mexfi.consent.versions import (
    get_version,
    register_policy_version,
    served_notice,
    served_notice_text,
)
from mexfi.db import Store
from mexfi.policy import Policy
from mexfi.secrets import Secrets
from mexfi.vault import Vault

BASE = "/api/v1/consent/banner"
DEVICE = "Zm9vYmFyYmF6cXV4MTIzNA"  # 22 base64url characters, as the script makes them
OTHER_DEVICE = "0123456789abcdef0123456789abcdef"
PHONE = "+994 50 555 12 34"


@pytest.fixture
def client(vault: Vault) -> Iterator[TestClient]:
    with TestClient(create_app(vault), base_url="http://mexfi.test") as client:
        yield client


def holder(vault: Vault, device: str = DEVICE) -> str:
    return vault.value_pseudonym("DEVICE", device, digest_chars=24)


def config(client: TestClient, policy_id: str, lang: str = "en", **headers: str) -> Any:
    response = client.get(f"{BASE}/{policy_id}/config", params={"lang": lang}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def state(client: TestClient, policy_id: str, device: str = DEVICE, **headers: str) -> Any:
    response = client.post(
        f"{BASE}/{policy_id}/state", json={"device_id": device, "lang": "en"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def choose(
    client: TestClient,
    policy_id: str,
    action: str,
    choices: dict[str, bool] | None = None,
    *,
    device: str = DEVICE,
    lang: str = "en",
    headers: dict[str, str] | None = None,
) -> Any:
    shown = config(client, policy_id, lang)
    response = client.post(
        f"{BASE}/{policy_id}/choices",
        json={
            "device_id": device,
            "action": action,
            "choices": choices or {},
            "revision": shown["revision"],
            "digest": shown["digest"],
            "language": shown["language"],
        },
        headers=headers or {},
    )
    assert response.status_code == 200, response.text
    return response.json()


def cookie_entries(vault: Vault, policy_id: str, device: str = DEVICE) -> list[ConsentEntry]:
    with vault.unit_of_work() as uow:
        entries = ledger_entries(uow, policy_id=policy_id, holder=holder(vault, device))
    return [e for e in entries if e.kind is NoticeKind.COOKIE]


def changed(policy: Policy, *, version: str, cookies: bool) -> Policy:
    """The policy under a new version string, its cookie section changed or not."""
    data = policy.model_dump(mode="json", exclude_defaults=True)
    data["policy"]["version"] = version
    if cookies:
        data["cookies"][1]["description"]["en"] += " Also measures how fast pages load."
    return Policy.model_validate(data)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ config


def test_tx_18_config_shows_the_four_categories_in_the_language_asked(
    client: TestClient, vault: Vault
) -> None:
    shown = config(client, "taxsee_driver", "ru-RU,en")
    policy = vault.policy("taxsee_driver")
    assert shown["language"] == "ru"
    assert [c["id"] for c in shown["categories"]] == [
        "strictly_necessary",
        "performance",
        "functional",
        "advertising",
    ]
    necessary, performance = shown["categories"][0], shown["categories"][1]
    assert necessary["required"] and not necessary["gpc"]
    assert not performance["required"] and performance["gpc"]
    assert performance["title"] == policy.cookies[1].title("ru")
    assert shown["texts"]["accept_all"] == "Принять все"
    assert shown["revision"] == cookie_revision(policy)
    assert shown["digest"] == _sha256(banner_text(policy, "ru"))
    assert not shown["gpc"]


def test_bk_5_1_bakikart_banner_has_its_three_categories_and_none_for_gpc(
    client: TestClient,
) -> None:
    shown = config(client, "bakikart", "fr,az")
    assert shown["language"] == "az"
    assert [(c["id"], c["required"], c["gpc"]) for c in shown["categories"]] == [
        ("safety", True, False),
        ("ease_of_use", False, False),
        ("quality", False, False),
    ]


def test_an_unknown_language_falls_back_to_the_policys(client: TestClient, vault: Vault) -> None:
    shown = config(client, "taxsee_driver", "fr,de")
    assert shown["language"] == vault.policy("taxsee_driver").policy.language


def test_the_config_reports_a_gpc_header(client: TestClient) -> None:
    assert config(client, "taxsee_driver", **{"Sec-GPC": "1"})["gpc"] is True
    assert config(client, "taxsee_driver", **{"Sec-GPC": "0"})["gpc"] is False


# ------------------------------------------------------------------ choices in the ledger


def test_a_device_with_no_choice_is_undecided_and_nothing_is_written(
    client: TestClient, vault: Vault
) -> None:
    seen = state(client, "taxsee_driver")
    assert seen["decided"] is False and seen["recorded"] is False
    assert seen["allowed"] == {
        "strictly_necessary": True,
        "performance": False,
        "functional": False,
        "advertising": False,
    }
    assert cookie_entries(vault, "taxsee_driver") == []


def test_tx_19_accept_all_is_recorded_under_the_devices_pseudonym(
    client: TestClient, vault: Vault, clock: FixedClock
) -> None:
    seen = choose(client, "taxsee_driver", "accept_all", lang="az")
    assert seen["decided"] is True
    assert all(seen["allowed"].values())
    entries = cookie_entries(vault, "taxsee_driver")
    assert {(e.notice, e.choice) for e in entries} == {
        ("performance", Choice.OPT_IN),
        ("functional", Choice.OPT_IN),
        ("advertising", Choice.OPT_IN),
    }
    for entry in entries:
        assert entry.holder == holder(vault) and entry.holder.startswith("DEVICE_")
        assert entry.holder_kind is HolderKind.DEVICE
        assert entry.method is Method.ACCEPT_ALL and entry.source is Source.BANNER
        assert entry.language == "az"
        assert entry.recorded_at == clock.now()
        assert DEVICE not in entry.model_dump_json()
    # The served notice is the exact text the banner showed, in the language shown.
    notice_id = entries[0].served_notice_id
    assert notice_id is not None
    with vault.unit_of_work() as uow:
        assert served_notice(uow, notice_id).language == "az"
        text = served_notice_text(uow, notice_id)
    assert text == banner_text(vault.policy("taxsee_driver"), "az")
    assert json.loads(text)["texts"]["accept_all"] == "Hamısını qəbul et"
    # The next load finds the choice.
    assert state(client, "taxsee_driver") == {**seen, "recorded": False}
    # Another device is another holder.
    assert state(client, "taxsee_driver", OTHER_DEVICE)["decided"] is False


def test_save_records_each_category_and_reject_all_withdraws(
    client: TestClient, vault: Vault
) -> None:
    saved = choose(
        client,
        "taxsee_driver",
        "save",
        {"performance": True, "functional": False, "advertising": False},
    )
    assert saved["allowed"] == {
        "strictly_necessary": True,
        "performance": True,
        "functional": False,
        "advertising": False,
    }
    rejected = choose(client, "taxsee_driver", "reject_all")
    assert rejected["decided"] and not any(
        on for c, on in rejected["allowed"].items() if c != "strictly_necessary"
    )
    methods = [(e.notice, e.choice, e.method) for e in cookie_entries(vault, "taxsee_driver")]
    assert methods[:3] == [
        ("performance", Choice.OPT_IN, Method.SAVE),
        ("functional", Choice.OPT_OUT, Method.SAVE),
        ("advertising", Choice.OPT_OUT, Method.SAVE),
    ]
    assert methods[3:] == [
        ("performance", Choice.OPT_OUT, Method.REJECT_ALL),
        ("functional", Choice.OPT_OUT, Method.REJECT_ALL),
        ("advertising", Choice.OPT_OUT, Method.REJECT_ALL),
    ]


def test_bk_5_1_choices_are_kept_per_policy(client: TestClient, vault: Vault) -> None:
    choose(client, "bakikart", "save", {"ease_of_use": True, "quality": False})
    assert state(client, "bakikart")["allowed"] == {
        "safety": True,
        "ease_of_use": True,
        "quality": False,
    }
    assert state(client, "taxsee_driver")["decided"] is False


def test_a_new_cookie_revision_asks_again_and_another_version_does_not(
    store: Store,
    policies: dict[str, Policy],
    secrets: Secrets,
    clock: FixedClock,
) -> None:
    def served(policy: Policy) -> TestClient:
        vault = Vault(store, {**policies, policy.id: policy}, secrets, clock=clock)
        with vault.unit_of_work() as uow:
            register_policy_version(uow, policy, at=clock.now())
            uow.commit()
        return TestClient(create_app(vault), base_url="http://mexfi.test")

    v1 = policies["taxsee_driver"]
    same_cookies = changed(v1, version="1.0.1", cookies=False)
    new_cookies = changed(v1, version="1.1", cookies=True)
    assert cookie_revision(same_cookies) == cookie_revision(v1)
    assert cookie_revision(new_cookies) != cookie_revision(v1)

    choose(served(v1), "taxsee_driver", "accept_all")
    # Another version with the same cookie section: the choice holds.
    assert state(served(same_cookies), "taxsee_driver")["decided"] is True
    # The cookie section changed: ask again, and nothing is allowed meanwhile.
    again = state(served(new_cookies), "taxsee_driver")
    assert again["decided"] is False and again["revision"] == cookie_revision(new_cookies)
    assert not any(on for c, on in again["allowed"].items() if c != "strictly_necessary")
    # The revision is the one the registered version hashes.
    with Vault(store, policies, secrets, clock=clock).unit_of_work() as uow:
        registered = get_version(uow, policy_id="taxsee_driver", version="1.1")
    assert registered.cookie_revision == cookie_revision(new_cookies)


def test_a_choice_shown_under_another_revision_is_refused(client: TestClient) -> None:
    shown = config(client, "taxsee_driver")
    body = {
        "device_id": DEVICE,
        "action": "accept_all",
        "revision": "0" * 64,
        "digest": shown["digest"],
        "language": "en",
    }
    stale = client.post(f"{BASE}/taxsee_driver/choices", json=body)
    assert stale.status_code == 409, stale.text
    assert stale.json()["code"] == "banner_outdated"
    # Texts of another language than the one claimed shown are as stale.
    other = {**body, "revision": shown["revision"], "language": "ru"}
    assert client.post(f"{BASE}/taxsee_driver/choices", json=other).status_code == 409


# ------------------------------------------------------------------ Global Privacy Control


def test_gpc_header_opts_out_of_advertising_and_performance(
    client: TestClient, vault: Vault
) -> None:
    seen = state(client, "taxsee_driver", **{"Sec-GPC": "1"})
    assert seen["recorded"] is True and seen["gpc"] is True
    assert sorted(seen["gpc_off"]) == sorted(GPC_CATEGORIES)
    # Functional still needs an answer: the banner is shown.
    assert seen["decided"] is False
    entries = cookie_entries(vault, "taxsee_driver")
    assert sorted((e.notice, e.choice, e.method) for e in entries) == [
        ("advertising", Choice.OPT_OUT, Method.GPC),
        ("performance", Choice.OPT_OUT, Method.GPC),
    ]
    assert all(e.served_notice_id is None for e in entries)  # nothing was shown
    # Seen again, nothing new is written.
    assert state(client, "taxsee_driver", **{"Sec-GPC": "1"})["recorded"] is False
    assert len(cookie_entries(vault, "taxsee_driver")) == 2


def test_gpc_from_the_script_counts_like_the_header(client: TestClient, vault: Vault) -> None:
    response = client.post(f"{BASE}/taxsee_driver/state", json={"device_id": DEVICE, "gpc": True})
    assert response.json()["recorded"] is True
    assert {e.method for e in cookie_entries(vault, "taxsee_driver")} == {Method.GPC}


def test_gpc_touches_no_bakikart_category(client: TestClient, vault: Vault) -> None:
    seen = state(client, "bakikart", **{"Sec-GPC": "1"})
    assert seen["recorded"] is False and seen["gpc_off"] == []
    assert cookie_entries(vault, "bakikart") == []


def test_accept_all_under_gpc_leaves_the_signalled_categories_off(
    client: TestClient, vault: Vault
) -> None:
    seen = choose(client, "taxsee_driver", "accept_all", headers={"Sec-GPC": "1"})
    assert seen["decided"] is True
    assert seen["allowed"] == {
        "strictly_necessary": True,
        "performance": False,
        "functional": True,
        "advertising": False,
    }
    assert [(e.notice, e.choice, e.method) for e in cookie_entries(vault, "taxsee_driver")] == [
        ("performance", Choice.OPT_OUT, Method.GPC),
        ("advertising", Choice.OPT_OUT, Method.GPC),
        ("functional", Choice.OPT_IN, Method.ACCEPT_ALL),
    ]


def test_an_earlier_opt_in_against_gpc_is_asked_once_and_the_answer_recorded(
    client: TestClient, vault: Vault
) -> None:
    choose(client, "taxsee_driver", "accept_all")
    before = len(cookie_entries(vault, "taxsee_driver"))
    asked = state(client, "taxsee_driver", **{"Sec-GPC": "1"})
    # Not overridden: nothing written, the categories off until the answer.
    assert asked["recorded"] is False
    assert sorted(asked["conflicts"]) == ["advertising", "performance"]
    assert asked["allowed"]["advertising"] is False and asked["allowed"]["functional"] is True
    assert len(cookie_entries(vault, "taxsee_driver")) == before

    answered = choose(
        client,
        "taxsee_driver",
        "gpc",
        {"advertising": True, "performance": False},
        headers={"Sec-GPC": "1"},
    )
    assert answered["conflicts"] == []
    assert answered["allowed"]["advertising"] is True
    assert answered["allowed"]["performance"] is False
    latest = cookie_entries(vault, "taxsee_driver")[before:]
    assert sorted((e.notice, e.choice, e.method) for e in latest) == [
        ("advertising", Choice.OPT_IN, Method.GPC),
        ("performance", Choice.OPT_OUT, Method.GPC),
    ]
    # Asked once: the next load with the signal asks nothing and keeps the answer.
    again = state(client, "taxsee_driver", **{"Sec-GPC": "1"})
    assert again["conflicts"] == [] and again["recorded"] is False
    assert again["allowed"]["advertising"] is True


def test_a_choice_about_a_gpc_category_under_the_signal_answers_it(
    client: TestClient, vault: Vault
) -> None:
    choose(
        client,
        "taxsee_driver",
        "save",
        {"performance": True, "functional": True, "advertising": False},
        headers={"Sec-GPC": "1"},
    )
    entries = {e.notice: e for e in cookie_entries(vault, "taxsee_driver")}
    assert entries["performance"].method is Method.GPC
    assert entries["functional"].method is Method.SAVE
    assert state(client, "taxsee_driver", **{"Sec-GPC": "1"})["conflicts"] == []


# ------------------------------------------------------------------ strict public routes


def test_a_bad_device_id_is_a_problem_that_does_not_echo_it(client: TestClient) -> None:
    for device in (PHONE, "short", "Zm9vYmFyYmF6cXV4MTIzNA=="):
        response = client.post(f"{BASE}/taxsee_driver/state", json={"device_id": device})
        assert response.status_code == 422, device
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"] == [
            {"field": "body.device_id", "type": "string_pattern_mismatch"}
        ]
        assert device not in response.text


def test_a_body_past_the_bound_is_refused(client: TestClient) -> None:
    body = json.dumps({"device_id": DEVICE, "lang": "x" * MAX_BODY}).encode()
    response = client.post(
        f"{BASE}/taxsee_driver/state",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert str(MAX_BODY) in response.json()["detail"]


def test_unknown_fields_and_categories_are_refused_without_echo(client: TestClient) -> None:
    extra = client.post(f"{BASE}/taxsee_driver/state", json={"device_id": DEVICE, "phone": PHONE})
    assert extra.status_code == 422 and PHONE not in extra.text
    shown = config(client, "taxsee_driver")
    body = {
        "device_id": DEVICE,
        "action": "save",
        "revision": shown["revision"],
        "digest": shown["digest"],
        "language": "en",
    }
    unknown = client.post(
        f"{BASE}/taxsee_driver/choices",
        json={**body, "choices": {"performance": True, "tracking_pixel": True}},
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "banner_choice_invalid"
    assert "tracking_pixel" not in unknown.text
    partial = client.post(
        f"{BASE}/taxsee_driver/choices", json={**body, "choices": {"performance": True}}
    )
    assert partial.status_code == 422
    assert "functional" in partial.json()["detail"]
    necessary = client.post(
        f"{BASE}/taxsee_driver/choices",
        json={**body, "action": "gpc", "choices": {"functional": True}},
    )
    assert necessary.status_code == 422


def test_an_unknown_policy_is_not_found(client: TestClient) -> None:
    response = client.post(f"{BASE}/nope/state", json={"device_id": DEVICE})
    assert response.status_code == 404


def test_no_route_takes_a_device_id_in_its_url(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if not path.startswith(BASE):
            continue
        for operation in operations.values():
            assert operation["x-mexfi-auth"] == "none", path
            for parameter in operation.get("parameters", []):
                assert "device" not in parameter["name"], (path, parameter)


def test_cors_only_for_the_configured_origins(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ORIGINS_ENV, "https://taxsee.example, https://bakikart.example/")
    site = {"Origin": "https://bakikart.example"}
    allowed = client.post(f"{BASE}/bakikart/state", json={"device_id": DEVICE}, headers=site)
    assert allowed.headers["access-control-allow-origin"] == "https://bakikart.example"
    assert "Origin" in allowed.headers["vary"]
    # A problem carries it too (the script reads a 409 to ask again).
    problem = client.post(f"{BASE}/bakikart/state", json={"device_id": "x"}, headers=site)
    assert problem.status_code == 422
    assert problem.headers["access-control-allow-origin"] == "https://bakikart.example"
    preflight = client.options(
        f"{BASE}/bakikart/choices",
        headers={**site, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-origin"] == "https://bakikart.example"

    evil = {"Origin": "https://evil.example"}
    refused = client.post(f"{BASE}/bakikart/state", json={"device_id": DEVICE}, headers=evil)
    assert "access-control-allow-origin" not in refused.headers
    denied = client.options(
        f"{BASE}/bakikart/state", headers={**evil, "Access-Control-Request-Method": "POST"}
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in denied.headers
