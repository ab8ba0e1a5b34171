"""Policy versions and re-acceptance (issue 13, point 2; BK-1.2, BK-7.3, TX-2) against the
running store of each backend: every version kept, a changed file a new version, the same
version over other content refused; exactly the riders who have not accepted the current
version are pending, and accepting takes them off; the diff names what changed; the notice
served is on record and an acceptance cites it; a notification run uses only the types each
subject allows. The CLI is driven through the real root command, the API in process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from mexfi.api import create_app
from mexfi.apikeys import create_api_key
from mexfi.clock import FixedClock
from mexfi.consent import (
    Choice,
    ChoiceInput,
    HolderKind,
    Method,
    NoticeKind,
    PolicyChangeMessage,
    PolicyVersionConflict,
    PolicyVersionNotFound,
    ServedNoticeKind,
    ServedNoticeNotFound,
    UnknownNotice,
    accept_version,
    current_choices,
    current_version,
    diff_versions,
    governing_version,
    ledger_entries,
    list_versions,
    notify_pending,
    pending_subjects,
    record_choices,
    register_policy_version,
    serve_notice,
    served_notice,
    served_notice_text,
    version_notice,
)
from mexfi.consent import Source as ChoiceSource
from mexfi.db import Store
from mexfi.errors import Invalid
from mexfi.policy import Policy, parse_policy, render_notice
from mexfi.secrets import Secrets
from mexfi.vault import Actor, Vault
from tests.cli.runner import Cli, point_cli_at_store
from tests.requests.conftest import register_driver, register_rider

REPO = Path(__file__).resolve().parents[2]
DPO = Actor("dpo-7", "dpo")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: When version 2.0 is posted (registered) in the service tests.
T1 = T0 + timedelta(days=10)
PHONES = [f"+994 50 300 11 {n:02d}" for n in range(10)]


class _Dumper(yaml.SafeDumper):
    """Never an alias: the policy loader refuses them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def policy_yaml(name: str, change: Any = None) -> str:
    """A bundled policy file as YAML text, `change(data)` applied to its parsed form."""
    data = yaml.safe_load((REPO / "policies" / name).read_text(encoding="utf-8"))
    if change is not None:
        change(data)
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False)


def bakikart_v2(
    data: dict[str, Any], *, version: str = "2.0", effective: date | None = None
) -> None:
    """Version 2.0 of BakıKart: a new cookie category (a new cookie revision), a recipient
    gone, a purpose using one more category, a longer retention period, a new title."""
    data["policy"]["version"] = version
    data["policy"]["effective"] = effective or date(2026, 3, 1)
    data["cookies"].append(
        {
            "id": "analytics",
            "title": {
                "az": "Analitika kukiləri",
                "en": "Analytics cookies",
                "ru": "Cookie аналитики",
            },
            "description": {"az": "Statistika.", "en": "Statistics.", "ru": "Статистика."},
            "consent_required": True,
            "clauses": ["BK-5.1"],
        }
    )
    data["recipients"] = [r for r in data["recipients"] if r["id"] != "app_operation_partners"]
    improvement = next(p for p in data["purposes"] if p["id"] == "service_improvement")
    improvement["categories"].append("profile")
    data["retention"][0]["after"] = "2y"
    phone = next(c for c in data["categories"] if c["id"] == "phone")
    phone["title"]["en"] = "The User's mobile phone number"


def taxsee_v2(data: dict[str, Any]) -> None:
    data["policy"]["version"] = "2.0"
    data["policy"]["effective"] = date(2026, 3, 1)
    data["purposes"][0]["title"]["en"] += " (amended)"


@pytest.fixture(scope="module")
def v2() -> Policy:
    return parse_policy(policy_yaml("bakikart.yaml", bakikart_v2), file="bakikart-v2.yaml")


@pytest.fixture(scope="module")
def taxsee2() -> Policy:
    return parse_policy(policy_yaml("taxsee-driver.yaml", taxsee_v2), file="taxsee-v2.yaml")


Post = Callable[[dict[str, Policy], datetime], Vault]


@pytest.fixture
def post(vault: Vault, secrets: Secrets) -> Post:
    """`post(policies, at)`: the test's store and keys with `policies` loaded, their versions
    registered at `at` (as opening the store after the policy files changed does); the
    bundled policies' version 1 is registered at T0 first."""

    def post(policies: dict[str, Policy], at: datetime) -> Vault:
        moved = Vault(vault.store, policies, secrets, clock=FixedClock(at))
        with moved.unit_of_work() as uow:
            for policy in policies.values():
                register_policy_version(uow, policy, at=at)
        return moved

    post(vault.policies, T0)
    return post


def pending_ids(vault: Vault, policy_id: str = "bakikart", **kwargs: Any) -> set[str]:
    with vault.unit_of_work() as uow:
        report = pending_subjects(vault, uow, policy_id=policy_id, at=vault.clock.now(), **kwargs)
    return {s.subject_id for s in report.pending}


def accept(vault: Vault, subject_id: str, **kwargs: Any) -> str:
    with vault.unit_of_work() as uow:
        entry = accept_version(
            vault,
            uow,
            subject_id=subject_id,
            actor_id="app-backend",
            actor_role="service",
            at=vault.clock.now(),
            method=Method.API,
            source=ChoiceSource.APP,
            **kwargs,
        )
    return entry.notice


# ------------------------------------------------------------------ registration


def test_registering_keeps_every_version_once(vault: Vault, v2: Policy) -> None:
    bakikart = vault.policies["bakikart"]
    with vault.unit_of_work() as uow:
        first, created = register_policy_version(uow, bakikart, at=T0)
        assert created and first.version == "1.0"
        again, created_again = register_policy_version(uow, bakikart, at=T1)
        assert not created_again and again == first  # nothing new, the first registration kept
        second, created = register_policy_version(uow, v2, at=T1)
        assert created
    with vault.unit_of_work() as uow:
        versions = list_versions(uow, policy_id="bakikart")
        assert [v.version for v in versions] == ["1.0", "2.0"]
        # Version 1 was posted at T0 (its effective date long past), version 2 at T1.
        assert versions[0].takes_effect_at == T0 and versions[1].takes_effect_at == T1
        assert (
            current_version(uow, policy_id="bakikart", at=T1 - timedelta(seconds=1)).version
            == "1.0"
        )
        assert current_version(uow, policy_id="bakikart", at=T1).version == "2.0"
        # A changed cookie section is a new cookie revision; an unchanged section hashes the same.
        assert first.cookie_revision != second.cookie_revision
        assert first.sections["categories"] != second.sections["categories"]
        assert first.sections["notifications"] == second.sections["notifications"]
        assert first.content_hash != second.content_hash
        # The notice as posted, in each language and format, is kept with the version.
        for lang in ("az", "en", "ru"):
            for fmt in ("md", "html"):
                kept = version_notice(
                    uow, policy_id="bakikart", version="1.0", lang=lang, format=fmt
                )
                assert kept == render_notice(bakikart, lang=lang, format=fmt)
        assert "The User's mobile phone number" in version_notice(
            uow, policy_id="bakikart", version="2.0", lang="en"
        )
        with pytest.raises(PolicyVersionNotFound) as missing:
            version_notice(uow, policy_id="bakikart", version="3.0", lang="en")
        assert missing.value.hint == "registered: 1.0, 2.0"


def test_the_same_version_over_other_content_is_refused(vault: Vault, post: Post) -> None:
    edited = parse_policy(
        policy_yaml("bakikart.yaml", lambda d: d["cookies"].pop()), file="bakikart.yaml"
    )
    assert edited.policy.version == "1.0"
    with vault.unit_of_work() as uow, pytest.raises(PolicyVersionConflict) as refused:
        register_policy_version(uow, edited, at=T1)
    assert "'bakikart' version '1.0' is registered with other content" in refused.value.message
    assert refused.value.hint is not None and "bump policy.version" in refused.value.hint
    with vault.unit_of_work() as uow:
        assert [v.version for v in list_versions(uow, policy_id="bakikart")] == ["1.0"]


def test_a_version_cannot_take_effect_before_one_registered(vault: Vault, post: Post) -> None:
    later = parse_policy(
        policy_yaml("bakikart.yaml", lambda d: bakikart_v2(d, effective=date(2026, 6, 1)))
    )
    earlier = parse_policy(
        policy_yaml(
            "bakikart.yaml", lambda d: bakikart_v2(d, version="2.1", effective=date(2026, 5, 1))
        )
    )
    with vault.unit_of_work() as uow:
        version, _ = register_policy_version(uow, later, at=T1)
        # Posted now, binding from its effective date: version 1 governs until then.
        assert version.takes_effect_at == datetime(2026, 6, 1, tzinfo=UTC)
        assert current_version(uow, policy_id="bakikart", at=T1).version == "1.0"
    with vault.unit_of_work() as uow, pytest.raises(PolicyVersionConflict, match="before version"):
        register_policy_version(uow, earlier, at=T1)


# ------------------------------------------------------------------ who must re-accept


def test_bk_7_3_a_new_version_lists_exactly_the_riders_who_must_re_accept(
    vault: Vault, post: Post, v2: Policy
) -> None:
    riders = [register_rider(vault, phone) for phone in PHONES[:5]]
    register_driver(vault)  # another policy's subject: never in BakıKart's list
    # Registering is acceptance of the version in force (BK-1.2): nobody is pending.
    assert pending_ids(vault) == set()

    moved = post({**vault.policies, "bakikart": v2}, T1)
    assert pending_ids(moved) == set(riders)
    assert accept(moved, riders[0]) == "2.0"
    assert accept(moved, riders[1], version="2.0") == "2.0"
    assert pending_ids(moved) == set(riders[2:])
    # A rider registered under version 2 accepted it on registration.
    newcomer = register_rider(moved, PHONES[5])
    assert newcomer not in pending_ids(moved)
    with moved.unit_of_work() as uow:
        report = pending_subjects(moved, uow, policy_id="bakikart", at=T1)
    assert (report.version, report.rule, report.subjects, report.accepted) == (
        "2.0",
        "when_posted",
        6,
        3,
    )
    assert {s.accepted for s in report.pending} == {"1.0"}
    assert all(s.pseudonym.startswith("ps_") and s.kind == "rider" for s in report.pending)

    accept(moved, riders[2])
    assert pending_ids(moved) == set(riders[3:])
    # Against version 1, only the newcomer is: the others accepted it on registration.
    assert pending_ids(moved, version="1.0") == {newcomer}


def test_taxsee_binds_on_acceptance_and_bakikart_when_posted(
    vault: Vault, post: Post, v2: Policy, taxsee2: Policy
) -> None:
    driver = register_driver(vault)
    rider = register_rider(vault, PHONES[0])
    moved = post({"bakikart": v2, "taxsee_driver": taxsee2}, T1)
    driver_holder, rider_holder = moved.pseudonym(driver), moved.pseudonym(rider)

    def governing(policy_id: str, holder: str) -> str:
        with moved.unit_of_work() as uow:
            return governing_version(uow, policy_id=policy_id, holder=holder, at=T1).version

    # Taxsee (on_acceptance): the old version governs the driver until he accepts the new.
    assert governing("taxsee_driver", driver_holder) == "1.0"
    assert pending_ids(moved, "taxsee_driver") == {driver}
    accept(moved, driver)
    assert governing("taxsee_driver", driver_holder) == "2.0"
    assert pending_ids(moved, "taxsee_driver") == set()
    # BakıKart (when_posted): the new version binds the rider from the moment it is posted.
    assert governing("bakikart", rider_holder) == "2.0"
    assert rider in pending_ids(moved)


# ------------------------------------------------------------------ the diff


def test_the_diff_names_what_changed(vault: Vault, post: Post, v2: Policy) -> None:
    post({"bakikart": v2}, T1)
    with vault.unit_of_work() as uow:
        diff = diff_versions(uow, policy_id="bakikart", old="1.0", new="2.0")
        same = diff_versions(uow, policy_id="bakikart", old="2.0", new="2.0")
        with pytest.raises(PolicyVersionNotFound):
            diff_versions(uow, policy_id="bakikart", old="1.0", new="9.9")
    assert same.sections == []
    cookies = diff.section("cookies")
    assert cookies is not None and cookies.added == ["analytics"] and not cookies.removed
    recipients = diff.section("recipients")
    assert recipients is not None and recipients.removed == ["app_operation_partners"]
    purposes = diff.section("purposes")
    assert purposes is not None
    assert [(c.id, c.fields) for c in purposes.changed] == [
        ("service_improvement", ["+categories[profile]"])
    ]
    retention = diff.section("retention")
    assert retention is not None
    assert [(c.id, c.fields) for c in retention.changed] == [
        ("passive_after_one_year", ["after.count"])
    ]
    categories = diff.section("categories")
    assert categories is not None
    assert [(c.id, c.fields) for c in categories.changed] == [("phone", ["title.en"])]
    info = diff.section("policy")
    assert info is not None and info.changed[0].fields == ["effective", "version"]
    assert diff.section("notifications") is None  # unchanged sections are left out
    # The six sections a reader checks come first, in their order.
    assert [s.section for s in diff.sections][:4] == [
        "categories",
        "purposes",
        "recipients",
        "retention",
    ]


# ------------------------------------------------------------------ served notices


def test_the_served_notice_is_on_record_and_an_acceptance_cites_it(
    vault: Vault, post: Post, v2: Policy
) -> None:
    rider = register_rider(vault, PHONES[0])
    moved = post({**vault.policies, "bakikart": v2}, T1)
    text = render_notice(v2, lang="ru", format="md")
    with moved.unit_of_work() as uow:
        served = serve_notice(
            uow, policy_id="bakikart", version="2.0", kind=ServedNoticeKind.POLICY,
            language="ru", text=text, at=T1,
        )  # fmt: skip
        old = serve_notice(
            uow, policy_id="bakikart", version="1.0", kind=ServedNoticeKind.POLICY,
            language="ru", text=render_notice(vault.policies["bakikart"], lang="ru", format="md"),
            at=T1,
        )  # fmt: skip
    with moved.unit_of_work() as uow:
        assert served_notice_text(uow, served) == text
        read = served_notice(uow, served)
        assert (read.version, read.kind, read.language) == ("2.0", ServedNoticeKind.POLICY, "ru")
        with pytest.raises(ServedNoticeNotFound):
            served_notice(uow, "0" * 32)
    # Citing the notice of another version is refused: the acceptance must cite what was shown.
    with pytest.raises(Invalid, match=r"not the policy notice of 'bakikart' version '2\.0'"):
        accept(moved, rider, served_notice_id=old)
    accept(moved, rider, served_notice_id=served)
    with moved.unit_of_work() as uow:
        choices = current_choices(uow, policy_id="bakikart", holder=moved.pseudonym(rider))
        assert choices[(NoticeKind.POLICY, "2.0")] is Choice.ACKNOWLEDGE
        last = ledger_entries(uow, policy_id="bakikart", holder=moved.pseudonym(rider))[-1]
        assert (last.notice, last.served_notice_id, last.language) == ("2.0", served, "ru")


# ------------------------------------------------------------------ telling them


@dataclass
class CapturingNoticeSender:
    """The tests' push gateway: keeps what it is asked to send; fails for chosen subjects."""

    failing: frozenset[str] = frozenset()
    name: str = "capture"

    def __post_init__(self) -> None:
        self.sent: list[PolicyChangeMessage] = []

    def send(self, message: PolicyChangeMessage) -> None:
        if message.subject_id in self.failing:
            raise RuntimeError("gateway down")
        self.sent.append(message)


def choose(vault: Vault, subject_id: str, **choices: Choice) -> None:
    with vault.unit_of_work() as uow:
        record_choices(
            uow,
            policy=vault.policies["bakikart"],
            holder=vault.pseudonym(subject_id),
            holder_kind=HolderKind.SUBJECT,
            choices=[ChoiceInput(NoticeKind.NOTIFICATION, k, c) for k, c in choices.items()],
            method=Method.PORTAL,
            source=ChoiceSource.PORTAL,
            language="az",
            actor_id="rider-app",
            at=vault.clock.now(),
        )


def test_bk_6_1_notify_tells_each_only_through_a_type_it_allows(
    vault: Vault, post: Post, v2: Policy
) -> None:
    default, personal, silent, blocked, accepted = (
        register_rider(vault, phone) for phone in PHONES[:5]
    )
    moved = post({**vault.policies, "bakikart": v2}, T1)
    # Opted out of the two service types, into personalized: told through personalized.
    choose(moved, personal, qr_tickets=Choice.OPT_OUT, balance_and_payments=Choice.OPT_OUT,
           personalized=Choice.OPT_IN)  # fmt: skip
    # Opted out of every type: never told (no other way is tried).
    choose(moved, silent, qr_tickets=Choice.OPT_OUT, balance_and_payments=Choice.OPT_OUT)
    with moved.unit_of_work() as uow:
        moved.set_status(uow, blocked, "blocked", actor=DPO, reason="case-1")
    accept(moved, accepted)

    def run(sender: CapturingNoticeSender, **kwargs: Any) -> Any:
        with moved.unit_of_work() as uow:
            return notify_pending(
                moved, uow, policy_id="bakikart", sender=sender, actor_id="dpo-7", at=T1, **kwargs
            )

    dry = CapturingNoticeSender()
    report = run(dry, dry_run=True)
    assert dry.sent == [] and report.served_notice_id is None
    assert {(t.subject_id, t.notification) for t in report.told} == {
        (default, "qr_tickets"),
        (personal, "personalized"),
    }

    # Personalized only: the default rider has not opted in (BK-6.1), so is not told.
    only = CapturingNoticeSender()
    report = run(only, via=["personalized"], dry_run=True)
    assert {t.subject_id for t in report.told} == {personal}
    assert {s.subject_id for s in report.unreachable} == {default, silent}

    sender = CapturingNoticeSender(failing=frozenset({personal}))
    report = run(sender)
    assert report.pending == 4  # the accepted rider is not pending
    assert [(m.subject_id, m.notification) for m in sender.sent] == [(default, "qr_tickets")]
    assert [s.subject_id for s in report.failed] == [personal]
    assert [s.subject_id for s in report.unreachable] == [silent]
    assert [s.subject_id for s in report.inactive] == [blocked]
    message = sender.sent[0]
    assert message.pseudonym == moved.pseudonym(default) and message.language == "en"
    assert "version 2.0" in message.text and "+994" not in message.text
    with moved.unit_of_work() as uow:
        assert report.served_notice_id is not None
        assert served_notice_text(uow, report.served_notice_id) == message.text

    # Told once: the next run tells only the one whose send failed.
    retry = CapturingNoticeSender()
    report = run(retry)
    assert [m.subject_id for m in retry.sent] == [personal] and report.already_told == 1
    assert run(CapturingNoticeSender()).already_told == 2
    assert len(run(CapturingNoticeSender(), again=True).told) == 2

    with pytest.raises(UnknownNotice, match="'sms' is not declared"):
        run(CapturingNoticeSender(), via=["sms"])


def test_a_policy_without_notification_types_tells_nobody(
    vault: Vault, post: Post, taxsee2: Policy
) -> None:
    driver = register_driver(vault)
    moved = post({**vault.policies, "taxsee_driver": taxsee2}, T1)
    sender = CapturingNoticeSender()
    with moved.unit_of_work() as uow:
        report = notify_pending(
            moved, uow, policy_id="taxsee_driver", sender=sender, actor_id="dpo-7", at=T1
        )
    assert sender.sent == [] and report.notifications == []
    assert [s.subject_id for s in report.unreachable] == [driver]


# ------------------------------------------------------------------ the API


@pytest.fixture
def client(vault: Vault) -> Iterator[TestClient]:
    with TestClient(create_app(vault), base_url="http://mexfi.test") as client:
        yield client


def key(vault: Vault, policy_id: str, role: str) -> dict[str, str]:
    with vault.unit_of_work() as uow:
        secret = create_api_key(
            vault, uow, policy_id=policy_id, role=role, label=f"test-{role}", actor=DPO
        ).secret
    return {"Authorization": f"Bearer {secret}"}


def test_api_serves_a_notice_on_record_and_accepting_takes_the_rider_off_the_list(
    vault: Vault, client: TestClient
) -> None:
    riders = [register_rider(vault, phone) for phone in PHONES[:2]]
    service = key(vault, "bakikart", "service")
    notice = client.get("/api/v1/policies/bakikart/notice/az?format=html", headers=service)
    assert notice.status_code == 200, notice.text
    served = notice.headers["X-Mexfi-Served-Notice"]
    with vault.unit_of_work() as uow:
        assert served_notice_text(uow, served) == notice.text
        assert served_notice(uow, served).version == "1.0"
    versions = client.get("/api/v1/policies/bakikart/versions", headers=service)
    assert [v["version"] for v in versions.json()] == ["1.0"]
    old = client.get(
        "/api/v1/policies/bakikart/notice/en", params={"version": "0.9"}, headers=service
    )
    assert old.status_code == 404, old.text

    # A new version is posted; the riders must re-accept it.
    with vault.unit_of_work() as uow:
        v2 = parse_policy(policy_yaml("bakikart.yaml", bakikart_v2))
        register_policy_version(uow, v2, at=vault.clock.now())
    assert pending_ids(vault) == set(riders)
    kept = client.get(
        "/api/v1/policies/bakikart/notice/en", params={"version": "2.0"}, headers=service
    )
    assert kept.status_code == 200 and "The User's mobile phone number" in kept.text
    cited = kept.headers["X-Mexfi-Served-Notice"]
    accepted = client.post(
        f"/api/v1/consent/subjects/{riders[0]}/accept",
        json={"version": "2.0", "served_notice_id": cited},
        headers=service,
    )
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert (body["version"], body["served_notice_id"], body["holder"]) == (
        "2.0",
        cited,
        vault.pseudonym(riders[0]),
    )
    assert pending_ids(vault) == {riders[1]}
    # Roles that do not record acceptances, and another policy's keys, are refused.
    for headers in (key(vault, "bakikart", "support"), key(vault, "taxsee_driver", "dpo")):
        refused = client.post(
            f"/api/v1/consent/subjects/{riders[1]}/accept", json={}, headers=headers
        )
        assert refused.status_code == 403, refused.text
    unknown = client.post(
        f"/api/v1/consent/subjects/{riders[1]}/accept",
        json={"version": "7.0"},
        headers=service,
    )
    assert unknown.status_code == 404 and pending_ids(vault) == {riders[1]}


def test_api_a_signed_in_rider_accepts_for_himself(vault: Vault, client: TestClient) -> None:
    from mexfi.apikeys.views import get_code_sender
    from tests.requests.conftest import CapturingSender

    rider, other = (register_rider(vault, phone) for phone in PHONES[:2])
    with vault.unit_of_work() as uow:
        v2 = parse_policy(policy_yaml("bakikart.yaml", bakikart_v2))
        register_policy_version(uow, vault.policies["bakikart"], at=vault.clock.now())
        register_policy_version(uow, v2, at=vault.clock.now())
    sender = CapturingSender()
    client.app.dependency_overrides[get_code_sender] = lambda: sender  # type: ignore[attr-defined]
    started = client.post(
        "/api/v1/sessions/start", json={"policy_id": "bakikart", "phone": PHONES[0]}
    )
    challenge = started.json()["challenge_id"]
    verified = client.post(
        "/api/v1/sessions/verify",
        json={"challenge_id": challenge, "code": sender.code_for(challenge)},
    )
    assert verified.status_code == 201, verified.text
    session = {"Authorization": f"Bearer {verified.json()['token']}"}
    accepted = client.post("/api/v1/me/consent/accept", json={"version": "2.0"}, headers=session)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["subject_id"] == rider
    assert pending_ids(vault) == {other}
    # The session reaches only its own route; an operator's route refuses it.
    refused = client.post(f"/api/v1/consent/subjects/{other}/accept", json={}, headers=session)
    assert refused.status_code == 403 and pending_ids(vault) == {other}


# ------------------------------------------------------------------ the CLI


@dataclass
class PolicyCli(Cli):
    """The CLI with a policy folder of its own, whose files a test rewrites."""

    policies: Path

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json"))

    def write(self, name: str, change: Any = None) -> None:
        (self.policies / name).write_text(policy_yaml(name, change), encoding="utf-8")


@pytest.fixture
def cli(
    fresh_store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> PolicyCli:
    """The CLI over a fresh store of each backend, its policy folder a copy of the bundled."""
    policies = tmp_path / "policies"
    policies.mkdir()
    point_cli_at_store(monkeypatch, fresh_store.config, tmp_path, policies=policies)
    run = PolicyCli(monkeypatch, capsys, policies)
    for name in ("bakikart.yaml", "taxsee-driver.yaml"):
        run.write(name)
    code, out, err = run("init")
    assert code == 0, (out, err)
    return run


def test_cli_versions_diff_pending_notify_and_their_exit_codes(cli: PolicyCli) -> None:
    from mexfi.cli.context import open_vault

    versions = cli.json("policy", "versions")
    assert {(v["policy_id"], v["version"], v["in_force"]) for v in versions} == {
        ("bakikart", "1.0", True),
        ("taxsee_driver", "1.0", True),
    }
    with open_vault() as vault:
        riders = [register_rider(vault, phone) for phone in PHONES[:3]]
        pseudonyms = {r: vault.pseudonym(r) for r in riders}
    assert cli.json("policy", "pending", "bakikart")["pending"] == []

    # The policy file changes without a new version: every command refuses (exit 3).
    cli.write("bakikart.yaml", lambda d: d["cookies"].pop())
    code, _, err = cli("policy", "versions")
    assert code == 3 and "bump policy.version" in " ".join(err.split())
    # With a new version it is registered and in force (posted now, its date past).
    cli.write("bakikart.yaml", lambda d: bakikart_v2(d, effective=date(2025, 6, 1)))
    versions = cli.json("policy", "versions", "bakikart")
    assert [(v["version"], v["in_force"]) for v in versions] == [("1.0", False), ("2.0", True)]
    code, out, _ = cli("policy", "versions")
    assert code == 0 and "in force" in out
    assert all(v["content_hash"][:12] in out for v in versions)

    pending = cli.json("policy", "pending", "bakikart")
    assert (pending["version"], pending["subjects"], pending["accepted"]) == ("2.0", 3, 0)
    assert {(s["subject_id"], s["pseudonym"]) for s in pending["pending"]} == set(
        pseudonyms.items()
    )
    code, out, err = cli("policy", "pending", "bakikart")
    assert code == 0 and all(r in out for r in riders) and "+994" not in out + err

    diff = cli.json("policy", "diff", "bakikart", "1.0", "2.0")
    assert {s["section"] for s in diff["sections"]} >= {"cookies", "recipients", "retention"}
    code, out, _ = cli("policy", "diff", "bakikart", "1.0", "2.0")
    assert code == 0 and "+ analytics" in out and "- app_operation_partners" in out

    with open_vault() as vault:
        accept(vault, riders[0])
        choose(vault, riders[1], qr_tickets=Choice.OPT_OUT, balance_and_payments=Choice.OPT_OUT)
    code, out, err = cli("policy", "notify", "bakikart", "--dry-run")
    assert code == 0 and "(dry run: nothing sent or recorded)" in " ".join(err.split())
    assert "[console sender" not in err
    report = cli.json("policy", "notify", "bakikart", "--actor", "dpo-7")
    assert [t["subject_id"] for t in report["told"]] == [riders[2]]
    assert [s["subject_id"] for s in report["unreachable"]] == [riders[1]]
    assert cli.json("policy", "notify", "bakikart")["already_told"] == 1

    assert cli("policy", "diff", "bakikart", "1.0", "9.9")[0] == 3
    assert cli("policy", "pending", "nobody")[0] == 3
    assert cli("policy", "pending", "bakikart", "--version", "0.1")[0] == 3
    assert cli("policy", "notify", "bakikart", "--via", "sms")[0] == 3
    assert cli("policy", "notify", "bakikart", "--via", "sms")[0] == 3


def test_cli_notify_exits_1_when_a_send_fails(
    cli: PolicyCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mexfi.consent.versions as versions
    from mexfi.cli.context import open_vault

    cli.write("bakikart.yaml", lambda d: bakikart_v2(d, effective=date(2025, 6, 1)))
    with open_vault() as vault:
        rider = register_rider(vault, PHONES[0])
    # Registered under 2.0: nobody pending yet; a rider of 1.0 is simulated by version 2.1.
    cli.write("bakikart.yaml", lambda d: bakikart_v2(d, version="2.1", effective=date(2025, 7, 1)))
    broken = CapturingNoticeSender(failing=frozenset({rider}), name="broken")
    monkeypatch.setitem(versions._BUILT_IN, "broken", lambda: broken)
    monkeypatch.setenv("MEXFI_NOTICE_SENDER", "broken")
    code, out, _ = cli("policy", "notify", "bakikart", "--format", "json")
    assert code == 1 and json.loads(out)["failed"][0]["subject_id"] == rider
    monkeypatch.setenv("MEXFI_NOTICE_SENDER", "nonesuch")
    assert cli("policy", "notify", "bakikart")[0] == 3
