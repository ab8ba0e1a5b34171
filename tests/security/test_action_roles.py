"""Issue 10, item 3: status changes, destruction, written consents and orders check the
actor's role against the policy (TX-10, TX-1.10, TX-7.7, TX-8, TX-13); refusals are
audited; a customer sees the driver's current position during its own order, and only then."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from mexfi.audit import AuditAction, AuditEntryRead
from mexfi.cli.app import app as mexfi_app
from mexfi.cli.context import open_vault
from mexfi.db import Store, UnitOfWork, new_id
from mexfi.policy import Policy, PolicyLoadError, RoleAction, parse_policy
from mexfi.vault import (
    ActionDenied,
    Actor,
    DisclosureDenied,
    InvalidValue,
    PurposeDenied,
    RecordCreate,
    RecordRead,
    Vault,
)
from mexfi.vault.actions import check_action
from mexfi.vault.models import AppSession, DestructionEvidence, OrderLink
from tests.cli.test_exit_codes import run as run_cli
from tests.requests.conftest import COMPLETE
from tests.requests.conftest import add as add_request
from tests.requests.conftest import register_driver as register_request_driver
from tests.vault.conftest import DPO, DRIVER, SERVICE, SYSTEM

REPO = Path(__file__).resolve().parents[2]
TAXSEE, BAKIKART = "taxsee_driver", "bakikart"

#: What each role may do, from POLICY-CLAUSES.md: only the operator's employees and its own
#: system act on personal data (TX-10); the DPO answers written requests (block, prohibit,
#: destroy: TX-3.5, TX-3.6, TX-11; BK-3.2) and records written consents (TX-10, BK-4.2);
#: the system destroys registration data within 24 h (TX-7.7, TX-8) and, as the order
#: backend, alone opens and closes orders (TX-13), and as the app's backend, app sessions
#: (TX-12). BakıKart destroys nothing by rule and has no orders and no app sessions. Every
#: other role, and any undeclared one, may do none of it.
GRANTED: dict[str, dict[str, set[RoleAction]]] = {
    TAXSEE: {
        "dpo": {RoleAction.SET_STATUS, RoleAction.DESTROY, RoleAction.RECORD_CONSENT},
        "system": {
            RoleAction.DESTROY,
            RoleAction.OPEN_ORDER,
            RoleAction.CLOSE_ORDER,
            RoleAction.OPEN_APP_SESSION,
            RoleAction.CLOSE_APP_SESSION,
        },
    },
    BAKIKART: {
        "dpo": {RoleAction.SET_STATUS, RoleAction.DESTROY, RoleAction.RECORD_CONSENT},
    },
}
ROLES = {
    TAXSEE: [
        "support",
        "dispatcher",
        "payout_officer",
        "dpo",
        "system",
        "driver",
        "customer",
        "authority",
        "third_party",
        "intern",  # declared nowhere
    ],
    BAKIKART: ["support", "service", "dpo", "rider", "authority", "partner", "intern"],
}
#: The audit action a refusal of each action is recorded under.
AUDITED_AS = {
    RoleAction.SET_STATUS: AuditAction.BLOCK,
    RoleAction.DESTROY: AuditAction.DESTROY,
    RoleAction.RECORD_CONSENT: AuditAction.CONSENT,
    RoleAction.OPEN_ORDER: AuditAction.ORDER_OPEN,
    RoleAction.CLOSE_ORDER: AuditAction.ORDER_CLOSE,
    RoleAction.OPEN_APP_SESSION: AuditAction.SESSION,
    RoleAction.CLOSE_APP_SESSION: AuditAction.SESSION,
}
CELLS = [
    pytest.param(policy_id, role, action, id=f"{policy_id}-{role}-{action.value}")
    for policy_id, roles in ROLES.items()
    for role in roles
    for action in RoleAction
]
#: A written consent each policy's register can take (TX-10, BK-4.3).
CONSENT = {
    TAXSEE: ("third_parties_with_consent", ["consented_disclosure"], ["location"]),
    BAKIKART: ("service_level_partners", ["service_level"], ["device"]),
}
#: A category each policy can destroy.
DESTROYED = {TAXSEE: "registration", BAKIKART: "profile"}
#: A category of the other party of a scene (a customer, another rider).
OTHER_CATEGORY = {TAXSEE: "customer_contact", BAKIKART: "profile"}

_numbers = itertools.count(1)


def _phone() -> str:
    return f"+994 50 {next(_numbers) % 1000:03d} 11 22"


# --------------------------------------------------------------------------- helpers


def register_driver(vault: Vault, uow: UnitOfWork) -> str:
    return vault.register(
        uow,
        policy_id=TAXSEE,
        kind="driver",
        actor=SYSTEM,
        purpose="licence_agreement",
        records={"registration": {**DRIVER, "phone": _phone()}},
    ).id


def register_customer(vault: Vault, uow: UnitOfWork) -> str:
    return vault.register(
        uow,
        policy_id=TAXSEE,
        kind="customer",
        actor=SYSTEM,
        purpose="service_operation",
        records={"customer_contact": {"phone": _phone()}},
    ).id


def register_rider(vault: Vault, uow: UnitOfWork) -> str:
    return vault.register(
        uow,
        policy_id=BAKIKART,
        kind="rider",
        actor=SERVICE,
        purpose="service_provision",
        records={"phone": {"phone": _phone()}, "profile": {"first_name": "Leyla"}},
    ).id


TRACK = 96  # a day of points, one every 15 minutes


def _point(i: int) -> tuple[float, float]:
    return (40.4 + i / 1000, 49.8 + i / 1000)


def newest_point() -> tuple[float, float]:
    return _point(TRACK - 1)


def write_track(vault: Vault, uow: UnitOfWork, driver: str) -> None:
    """A day of the driver's location, the newest point now, taken in an app session (TX-12)."""
    now = vault.clock.now()
    vault.open_app_session(uow, subject_id=driver, actor=SYSTEM, at=now - timedelta(days=1))
    items = []
    for i in range(TRACK):
        at = now - timedelta(minutes=15 * (TRACK - 1 - i))
        values = {"point": _point(i), "recorded_at": at.isoformat()}
        items.append(RecordCreate(driver, "location", values, at))
    vault.write_many(uow, items, actor=SYSTEM, purpose="service_operation")


def audited(vault: Vault, store: Store, action: AuditAction, outcome: str) -> list[AuditEntryRead]:
    with store.records() as session:
        return [e for e in vault.audit.entries(session, actions=[action]) if e.outcome == outcome]


class Scene(NamedTuple):
    """A subject acted on, the other party of its order, that order, and the subject's open
    app session."""

    subject: str
    other: str
    order: str
    app_session: str


def scene(vault: Vault, policy_id: str) -> Scene:
    """Two subjects of the policy, an open order between them, an open app session."""
    with vault.unit_of_work() as uow:
        if policy_id == TAXSEE:
            driver, customer = register_driver(vault, uow), register_customer(vault, uow)
            order = vault.open_order(uow, driver_id=driver, customer_id=customer, actor=SYSTEM)
            app = vault.open_app_session(uow, subject_id=driver, actor=SYSTEM).id
            return Scene(driver, customer, order, app)
        rider, other = register_rider(vault, uow), register_rider(vault, uow)
        # BakıKart has no order backend and no app sessions: rows are planted to try
        # closing one of each.
        order, app = new_id(), new_id()
        uow.records.add(
            OrderLink(
                id=order,
                policy_id=policy_id,
                driver_id=rider,
                customer_id=other,
                started_at=vault.clock.now(),
            )
        )
        uow.records.add(
            AppSession(
                id=app,
                policy_id=policy_id,
                subject_id=rider,
                opened_at=vault.clock.now(),
                closed_at=None,
            )
        )
        uow.records.flush()
        return Scene(rider, other, order, app)


def actor_of(role: str, where: Scene) -> Actor:
    """An actor in `role`; a subject or counterpart role is the subject it would be."""
    subject_id = {"driver": where.subject, "rider": where.subject, "customer": where.other}
    return Actor(f"{role}-7", role, subject_id=subject_id.get(role))


def perform(
    vault: Vault, uow: UnitOfWork, policy_id: str, action: RoleAction, where: Scene, actor: Actor
) -> None:
    if action is RoleAction.SET_STATUS:
        vault.set_status(uow, where.subject, "blocked", actor=actor, reason="test")
    elif action is RoleAction.DESTROY:
        vault.destroy(uow, where.subject, [DESTROYED[policy_id]], reason="test", actor=actor)
    elif action is RoleAction.RECORD_CONSENT:
        recipient, purposes, categories = CONSENT[policy_id]
        vault.record_written_consent(
            uow,
            where.subject,
            recipient=recipient,
            purposes=purposes,
            categories=categories,
            document_reference="DOC-17",
            actor=actor,
        )
    elif action is RoleAction.OPEN_ORDER:
        vault.open_order(uow, driver_id=where.subject, customer_id=where.other, actor=actor)
    elif action is RoleAction.OPEN_APP_SESSION:
        vault.open_app_session(uow, subject_id=where.subject, actor=actor)
    elif action is RoleAction.CLOSE_APP_SESSION:
        vault.close_app_session(uow, where.app_session, actor=actor)
    else:
        vault.close_order(uow, where.order, actor=actor)


def done(vault: Vault, uow: UnitOfWork, action: RoleAction, where: Scene) -> bool:
    """Whether the action took effect."""
    session = uow.records
    if action is RoleAction.SET_STATUS:
        return vault.subject(uow, where.subject).status == "blocked"
    if action is RoleAction.DESTROY:
        query = select(func.count()).where(DestructionEvidence.subject_id == where.subject)
        return bool(session.scalar(query))
    if action is RoleAction.RECORD_CONSENT:
        return bool(vault.written_consents(uow, where.subject))
    if action is RoleAction.OPEN_ORDER:
        query = select(func.count()).where(
            OrderLink.driver_id == where.subject, OrderLink.id != where.order
        )
        return bool(session.scalar(query))
    if action is RoleAction.OPEN_APP_SESSION:
        query = select(func.count()).where(
            AppSession.subject_id == where.subject, AppSession.id != where.app_session
        )
        return bool(session.scalar(query))
    if action is RoleAction.CLOSE_APP_SESSION:
        app = session.get(AppSession, where.app_session)
        assert app is not None
        session.refresh(app)
        return app.closed_at is not None
    link = session.get(OrderLink, where.order)
    assert link is not None
    session.refresh(link)
    return link.ended_at is not None


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize(("policy_id", "role", "action"), CELLS)
def test_policy_grants_each_action_to_the_expected_roles(
    policies: dict[str, Policy], policy_id: str, role: str, action: RoleAction
) -> None:
    policy = policies[policy_id]
    actor = Actor("a-1", role)
    if action in GRANTED[policy_id].get(role, set()):
        assert check_action(policy, actor, action).id == role
        return
    with pytest.raises(ActionDenied) as refused:
        check_action(policy, actor, action)
    declared = role in {r.id for r in policy.roles}
    assert refused.value.reason == ("action_not_allowed" if declared else "role_not_declared")
    assert refused.value.hint is not None and "roles granted" in refused.value.hint


@pytest.mark.parametrize(("policy_id", "role", "action"), CELLS)
def test_every_cell_through_the_vault(
    vault: Vault, store: Store, policy_id: str, role: str, action: RoleAction
) -> None:
    where = scene(vault, policy_id)
    actor = actor_of(role, where)
    if action in GRANTED[policy_id].get(role, set()):
        with vault.unit_of_work() as uow:
            perform(vault, uow, policy_id, action, where, actor)
        with vault.unit_of_work() as uow:
            assert done(vault, uow, action, where)
        assert not audited(vault, store, AUDITED_AS[action], "denied")
        return
    with pytest.raises(ActionDenied), vault.unit_of_work() as uow:
        perform(vault, uow, policy_id, action, where, actor)
    with vault.unit_of_work() as uow:
        assert not done(vault, uow, action, where)
    # On record although the unit of work rolled back, naming who tried, never a value.
    (refusal,) = audited(vault, store, AUDITED_AS[action], "denied")
    assert (refusal.actor_id, refusal.actor_role, refusal.policy_id) == (
        actor.id,
        role,
        policy_id,
    )
    assert refusal.reason in {"action_not_allowed", "role_not_declared"}
    assert refusal.subject == vault.pseudonym(where.subject) and refusal.count == 0


def test_role_actions_are_only_the_operators(policies: dict[str, Policy]) -> None:
    text = (REPO / "policies" / "taxsee-driver.yaml").read_text(encoding="utf-8")
    customer = "    clauses: [TX-13]\n  - id: authority"
    assert customer in text
    with pytest.raises(PolicyLoadError, match="only staff and system roles"):
        parse_policy(
            text.replace(customer, "    actions: [open_order]\n" + customer), file="tx.yaml"
        )
    granted = "actions: [set_status, destroy, record_consent]"
    assert granted in text
    with pytest.raises(PolicyLoadError, match="only the system role"):
        parse_policy(text.replace(granted, granted[:-1] + ", open_order]"), file="tx.yaml")
    assert parse_policy(text, file="tx.yaml") == policies[TAXSEE]


# --------------------------------------------------------------------------- the findings


def test_customer_and_third_party_cannot_open_an_order(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        driver, customer = register_driver(vault, uow), register_customer(vault, uow)
    for actor in (
        Actor("customer-app", "customer", subject_id=customer),
        Actor("partner-1", "third_party"),
        Actor("ops-2", "dispatcher"),
    ):
        with pytest.raises(ActionDenied, match="may not open order"), vault.unit_of_work() as uow:
            vault.open_order(uow, driver_id=driver, customer_id=customer, actor=actor)
    with store.records() as session:
        assert session.scalar(select(func.count()).select_from(OrderLink)) == 0
    refused = audited(vault, store, AuditAction.ORDER_OPEN, "denied")
    assert [e.actor_role for e in refused] == ["customer", "third_party", "dispatcher"]
    assert all(e.clauses == ("TX-13",) for e in refused)
    assert all(e.subject == vault.pseudonym(driver) for e in refused)


def test_open_and_close_are_audited_for_both_sides(vault: Vault, store: Store) -> None:
    with vault.unit_of_work() as uow:
        driver, customer = register_driver(vault, uow), register_customer(vault, uow)
        order = vault.open_order(uow, driver_id=driver, customer_id=customer, actor=SYSTEM)
    with vault.unit_of_work() as uow:
        vault.close_order(uow, order, actor=SYSTEM)
        vault.close_order(uow, order, actor=SYSTEM)  # already closed: nothing more happens
    sides = {vault.pseudonym(driver): 0, vault.pseudonym(customer): 0}
    for action in (AuditAction.ORDER_OPEN, AuditAction.ORDER_CLOSE):
        (entry,) = audited(vault, store, action, "ok")
        assert (entry.actor_role, entry.reference, entry.subjects) == ("system", order, sides)
    with store.records() as session:
        # The customer's access log shows the order too (TX-3.4).
        mine = vault.audit.entries(session, subject=vault.pseudonym(customer))
    assert {e.action for e in mine} >= {AuditAction.ORDER_OPEN, AuditAction.ORDER_CLOSE}


def test_an_order_needs_two_subjects_of_the_same_policy(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver, rider = register_driver(vault, uow), register_rider(vault, uow)
    for other in (rider, driver):
        with pytest.raises(InvalidValue, match="same policy"), vault.unit_of_work() as uow:
            vault.open_order(uow, driver_id=driver, customer_id=other, actor=SYSTEM)


def test_tx_13_customer_sees_the_current_position_not_the_history(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver, customer = register_driver(vault, uow), register_customer(vault, uow)
        write_track(vault, uow, driver)
    me = Actor("customer-app", "customer", subject_id=customer)
    now = vault.clock.now()

    def read_location(
        since: datetime | None = None, until: datetime | None = None
    ) -> list[RecordRead]:
        with vault.unit_of_work() as uow:
            return vault.read(
                uow,
                driver,
                ["location"],
                purpose="ride_provision",
                actor=me,
                since=since,
                until=until,
            ).records

    with pytest.raises(PurposeDenied, match="active order"):
        read_location()
    with vault.unit_of_work() as uow:
        order = vault.open_order(uow, driver_id=driver, customer_id=customer, actor=SYSTEM)
    (current,) = read_location()  # one point of the 96: the newest
    assert current.collected_at == now and current.values["point"] == newest_point()
    # A time window would reach back into the history: refused, not honoured.
    with pytest.raises(InvalidValue, match="no time window"):
        read_location(until=now - timedelta(hours=6))
    with pytest.raises(InvalidValue, match="no time window"):
        read_location(since=now - timedelta(days=1))
    with pytest.raises(PurposeDenied, match="current position only"), vault.unit_of_work() as uow:
        list(vault.export(uow, driver, ["location"], purpose="ride_provision", actor=me))
    # Another customer of the same driver sees nothing.
    with vault.unit_of_work() as uow:
        stranger = Actor("app-2", "customer", subject_id=register_customer(vault, uow))
        with pytest.raises(PurposeDenied, match="active order"):
            vault.read(uow, driver, ["location"], purpose="ride_provision", actor=stranger)
    with vault.unit_of_work() as uow:
        vault.close_order(uow, order, actor=SYSTEM)
    with pytest.raises(PurposeDenied, match="active order"):
        read_location()
    # The operator's own view stays whole: only the counterpart's is cut to the present.
    with vault.unit_of_work() as uow:
        whole = vault.read(uow, driver, ["location"], purpose="service_operation", actor=SYSTEM)
    assert len(whole.records) == 96


def test_tx_13_disclosure_to_the_customer_is_the_current_position(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver, customer = register_driver(vault, uow), register_customer(vault, uow)
        write_track(vault, uow, driver)
        vault.open_order(uow, driver_id=driver, customer_id=customer, actor=SYSTEM)
    with vault.unit_of_work() as uow:
        data = vault.disclose(
            uow,
            driver,
            ["location"],
            recipient="customers",
            purpose="ride_provision",
            basis="contract",
            reference="order",
            actor=Actor("customer-app", "customer", subject_id=customer),
        )
    assert [r.values["point"] for r in data.records] == [newest_point()]


def test_customer_cannot_block_and_an_undeclared_role_cannot_unblock(
    vault: Vault, store: Store
) -> None:
    with vault.unit_of_work() as uow:
        driver, customer = register_driver(vault, uow), register_customer(vault, uow)
    with pytest.raises(ActionDenied, match="may not set status"), vault.unit_of_work() as uow:
        vault.set_status(
            uow,
            driver,
            "blocked",
            actor=Actor("customer-app", "customer", subject_id=customer),
            reason="test",
        )
    with vault.unit_of_work() as uow:
        assert vault.subject(uow, driver).status == "active"
        vault.set_status(uow, driver, "blocked", actor=DPO, reason="subject_request")
    with pytest.raises(ActionDenied, match="'intern' is not declared"), vault.unit_of_work() as uow:
        vault.set_status(uow, driver, "active", actor=Actor("i-1", "intern"), reason="test")
    with vault.unit_of_work() as uow:
        assert vault.subject(uow, driver).status == "blocked"
    (blocked,) = audited(vault, store, AuditAction.BLOCK, "denied")
    (unblocked,) = audited(vault, store, AuditAction.UNBLOCK, "denied")
    assert (blocked.actor_role, blocked.reason) == ("customer", "action_not_allowed")
    assert (unblocked.actor_role, unblocked.reason) == ("intern", "role_not_declared")
    assert "TX-1.10" in blocked.clauses


@pytest.mark.parametrize("policy_id", [TAXSEE, BAKIKART])
def test_a_customer_or_subject_cannot_destroy(vault: Vault, store: Store, policy_id: str) -> None:
    where = scene(vault, policy_id)
    category = DESTROYED[policy_id]
    role = "customer" if policy_id == TAXSEE else "rider"
    attackers: list[Callable[[UnitOfWork], object]] = [
        lambda uow: vault.destroy(
            uow, where.subject, [category], reason="x", actor=actor_of(role, where)
        ),
        lambda uow: vault.destroy_many(
            uow,
            [(where.subject, [category]), (where.other, [OTHER_CATEGORY[policy_id]])],
            reason="x",
            actor=Actor("s-1", "support"),
        ),
        lambda uow: vault.destroy_records(
            uow, where.subject, category, [], reason="x", actor=Actor("s-1", "support")
        ),
    ]
    for attack in attackers:
        with pytest.raises(ActionDenied, match="may not destroy"), vault.unit_of_work() as uow:
            attack(uow)
    with vault.unit_of_work() as uow:
        counts = vault.record_counts(uow, where.subject)
        assert not done(vault, uow, RoleAction.DESTROY, where)
    assert counts[category] == 1
    refused = audited(vault, store, AuditAction.DESTROY, "denied")
    assert len(refused) == 3
    # The batch's refusal names every subject it would have touched.
    both = {vault.pseudonym(where.subject): 0, vault.pseudonym(where.other): 0}
    assert refused[1].subjects == both and refused[1].subject is None


def test_third_party_cannot_record_consent_and_then_take_the_track(
    vault: Vault, store: Store
) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        write_track(vault, uow, driver)
    partner = Actor("partner-1", "third_party")
    with pytest.raises(ActionDenied, match="may not record consent"), vault.unit_of_work() as uow:
        vault.record_written_consent(
            uow,
            driver,
            recipient="third_parties_with_consent",
            purposes=["consented_disclosure"],
            categories=["location"],
            document_reference="DOC-FORGED",
            actor=partner,
        )
    with pytest.raises(DisclosureDenied, match="written consent"), vault.unit_of_work() as uow:
        vault.disclose(
            uow,
            driver,
            ["location"],
            recipient="third_parties_with_consent",
            purpose="consented_disclosure",
            basis="written_consent",
            reference="DOC-FORGED",
            actor=partner,
        )
    (refused,) = audited(vault, store, AuditAction.CONSENT, "denied")
    assert (refused.actor_role, refused.reason, refused.clauses) == (
        "third_party",
        "action_not_allowed",
        ("TX-10",),
    )
    assert refused.subject == vault.pseudonym(driver)
    # The DPO records the consent, and only the DPO withdraws it.
    with vault.unit_of_work() as uow:
        consent = vault.record_written_consent(
            uow,
            driver,
            recipient="third_parties_with_consent",
            purposes=["consented_disclosure"],
            categories=["location"],
            document_reference="DOC-1",
            actor=DPO,
        )
    with pytest.raises(ActionDenied), vault.unit_of_work() as uow:
        vault.withdraw_written_consent(uow, consent, actor=partner)
    with vault.unit_of_work() as uow:
        assert vault.written_consents(uow, driver) == [consent]
        vault.withdraw_written_consent(uow, consent, actor=DPO)
        assert vault.written_consents(uow, driver) == []


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A data directory of the test's own with a key file and one driver; the driver's id."""
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    for name in ("MEXFI_DATABASE_URL", "MEXFI_KEYSTORE_URL", "MEXFI_KEY_FILE", "MEXFI_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert CliRunner().invoke(mexfi_app, ["keys", "init"]).exit_code == 0
    with open_vault() as vault:
        return register_request_driver(vault)


def test_cli_answer_by_a_role_not_granted_the_action_exits_denied(
    cli_driver: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with open_vault() as vault:
        request = add_request(
            vault,
            policy_id=TAXSEE,
            kind="blocking",
            channel="written",
            actor=DPO,
            subject_id=cli_driver,
            written=COMPLETE,
        )

    def answer(role: str) -> tuple[int, str]:
        out = str(tmp_path / role)
        return run_cli(
            monkeypatch, capsys, "requests", "answer", request.id, "--role", role, "--out", out,
            "--no-pdf",
        )  # fmt: skip

    code, err = answer("customer")
    assert code == 4 and "may not set status" in err
    with open_vault() as vault, vault.unit_of_work() as uow:
        assert vault.subject(uow, cli_driver).status == "active"
    assert answer("dpo")[0] == 0
    with open_vault() as vault, vault.unit_of_work() as uow:
        assert vault.subject(uow, cli_driver).status == "blocked"


def test_the_retention_executor_acts_as_the_system_role_granted_destruction(
    policies: dict[str, Policy],
) -> None:
    """With two system roles, retention acts as the one that may destroy (MX112 flags a
    policy where none may), not merely the first declared."""
    from mexfi.policy import RoleKind
    from mexfi.retention import retention_actor

    taxsee = policies["taxsee_driver"]
    [system] = [r for r in taxsee.roles if r.kind is RoleKind.SYSTEM]
    assert RoleAction.DESTROY in system.actions
    reader = system.model_copy(update={"id": "reporting", "actions": []})
    both = taxsee.model_copy(update={"roles": [reader, *taxsee.roles]})
    assert retention_actor(both).role == system.id
    assert retention_actor(taxsee).role == system.id
