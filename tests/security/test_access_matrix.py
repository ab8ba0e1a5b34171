"""Every cell of the role × purpose × category × tier matrix of each bundled policy, against
rules written here from ../shared/POLICY-CLAUSES.md, independently of the engine.

The rules name, for each purpose, who may process it, which categories it reaches, whether it
reaches the passive tier (BK-3.3), and the recorded facts every processing for it must cite.
Purposes and roles are the policies' own ids; the rules decide what each may do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from mexfi.cli.app import main
from mexfi.policy import Policy
from mexfi.vault import TIERS, access_matrix

REPO = Path(__file__).resolve().parents[2]


class Rule(NamedTuple):
    roles: frozenset[str]
    categories: frozenset[str]
    passive: bool
    facts: frozenset[str]


def rule(roles: str, categories: str, facts: str = "", *, passive: bool = False) -> Rule:
    return Rule(
        frozenset(roles.split()), frozenset(categories.split()), passive, frozenset(facts.split())
    )


TX_DRIVER = "registration vehicle_facts location orders payout_accounts bank_cards mobile_operator"
TX_HELD = "registration vehicle_facts location orders bank_cards mobile_operator"

TAXSEE = {
    # TX-5, TX-6: registration data serves the licence agreement and nothing else.
    "licence_agreement": rule("system support", "registration"),
    # TX-13: the driver's location to a customer (or who serves the order) only during it.
    "ride_provision": rule("customer dispatcher system", "location", "active_order"),
    # TX-23, TX-24: the order history only for autofill.
    "order_autofill": rule("system", "orders"),
    # TX-16, TX-17: payout data only for payouts, by the payout roles; nothing else reaches it.
    "payout": rule("payout_officer system", "payout_accounts"),
    # TX-14, TX-15: the acquirer's token, for the licence fee.
    "licence_fee": rule("system", "bank_cards"),
    # TX-20 – TX-22: mobile operator data only to set country and language.
    "locale_setup": rule("system", "mobile_operator"),
    # TX-9, TX-12: running the service; the rights holder's own staff (TX-10).
    "service_operation": rule(
        "system dispatcher support", "vehicle_facts location customer_contact"
    ),
    # TX-1.10, TX-3.5, TX-11: clarifying data, on a verified rectification request, never
    # payout data (TX-17).
    "rectification": rule(
        "support dpo",
        "registration vehicle_facts orders customer_contact",
        "rectification_request",
    ),
    # TX-3, TX-1.9: the driver's own request, verified and open; payout data excepted (TX-17).
    "subject_request": rule("dpo support", TX_HELD, "open_request", passive=True),
    # TX-10: lawful requests of authorities, on a recorded demand; payout data excepted (TX-17).
    "lawful_request": rule(
        "authority dpo", f"{TX_HELD} customer_contact", "lawful_demand", passive=True
    ),
    # TX-10: a third party only with the driver's prior written consent.
    "consented_disclosure": rule("third_party dpo", "vehicle_facts location", "written_consent"),
}

BK_ALL = "phone profile device transport_cards ewallet topups card_use qr_tickets"

BAKIKART = {
    # BK-4.1: the services and their improvement, online services, communication.
    "service_provision": rule("service support", BK_ALL),
    "service_improvement": rule("service", "device card_use topups qr_tickets"),
    "online_services": rule(
        "service rider", "phone profile transport_cards ewallet topups card_use qr_tickets"
    ),
    "communication": rule("support", "phone profile"),
    # BK-6.1: QR tickets, balance and payments; personalized ones only with the opt-in.
    "service_notifications": rule("service", "device ewallet topups qr_tickets"),
    "personalized_notifications": rule("service", "device card_use qr_tickets", "opt_in"),
    # BK-7.1, BK-2.2: rectification of what the rider gives, on a verified request.
    "rectification": rule("support dpo", "phone profile transport_cards", "rectification_request"),
    # BK-3.2, BK-3.3: the rider's written request, the passive tier included.
    "subject_request": rule("dpo support", BK_ALL, "open_request", passive=True),
    # BK-4.2, BK-3.3: lawful requests, on a recorded demand.
    "lawful_request": rule("authority dpo", BK_ALL, "lawful_demand", passive=True),
    # BK-4.3: partners only for their two purposes, with the rider's written consent.
    "service_level": rule("partner", "device card_use topups qr_tickets", "written_consent"),
    "app_operation": rule("partner", "phone device ewallet topups qr_tickets", "written_consent"),
}

#: Roles of kind `subject`: they reach their own data only (TX-3.3, BK-3.2).
SUBJECT_ROLES = {"driver", "rider"}

RULES = {"taxsee_driver": TAXSEE, "bakikart": BAKIKART}


def expected(policy_id: str, role: str, purpose: str, category: str, tier: str) -> object:
    """(allowed, facts) of one cell by the rules above."""
    found = RULES[policy_id][purpose]
    allowed = (
        role in found.roles and category in found.categories and (tier == "active" or found.passive)
    )
    if not allowed:
        return (False, frozenset())
    return (True, found.facts | ({"own_data"} if role in SUBJECT_ROLES else set()))


@pytest.mark.parametrize("policy_id", sorted(RULES))
def test_every_cell_of_the_matrix_follows_the_clauses(
    policies: dict[str, Policy], policy_id: str
) -> None:
    policy = policies[policy_id]
    # The rules cover every purpose the policy declares, and nothing else.
    assert set(RULES[policy_id]) == {p.id for p in policy.purposes}
    cells = access_matrix(policy, TIERS)
    size = len(policy.roles) * len(policy.purposes) * len(policy.categories) * len(TIERS)
    assert len(cells) == size
    assert len({(c.role, c.purpose, c.category, c.tier) for c in cells}) == size
    wrong = [
        (c.role, c.purpose, c.category, c.tier, (c.allowed, set(c.needs)), want)
        for c in cells
        if (c.allowed, frozenset(c.needs))
        != (want := expected(policy_id, c.role, c.purpose, c.category, c.tier))
    ]
    assert wrong == []
    # A denied cell says why; an allowed one cites the clauses it rests on.
    assert all(c.reason for c in cells if not c.allowed)
    assert all(c.clauses for c in cells if c.allowed)


def test_the_findings_of_issue_10_are_closed(policies: dict[str, Policy]) -> None:
    taxsee = access_matrix(policies["taxsee_driver"], TIERS)
    bakikart = access_matrix(policies["bakikart"], TIERS)
    # TX-17: payout accounts only for the payout purpose and the payout roles.
    assert {
        (c.role, c.purpose) for c in taxsee if c.allowed and c.category == "payout_accounts"
    } == {
        ("payout_officer", "payout"),
        ("system", "payout"),
    }
    # Support reaches nothing through a request purpose without an open, verified request,
    # and the passive tier only through one.
    for cell in taxsee + bakikart:
        if cell.allowed and cell.tier == "passive":
            assert {"open_request", "lawful_demand"} & set(cell.needs), cell
    # TX-10, BK-4.3: third parties and partners never read without a written consent.
    for cell in taxsee + bakikart:
        if cell.allowed and cell.role in {"third_party", "partner"}:
            assert "written_consent" in cell.needs, cell
    # BK-6.1: personalized notifications only with the rider's opt-in.
    for cell in bakikart:
        if cell.allowed and cell.purpose == "personalized_notifications":
            assert cell.needs == ("opt_in",), cell


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().out


def test_policy_matrix_command_prints_the_whole_matrix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(REPO / "policies"))
    monkeypatch.setenv("COLUMNS", "200")
    path = str(REPO / "policies" / "taxsee-driver.yaml")
    code, out = _run(monkeypatch, capsys, "policy", "matrix", path, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["dimensions"] == {"roles": 9, "purposes": 11, "categories": 8, "tiers": 2}
    assert data["cells"] == len(data["matrix"]) == 9 * 11 * 8 * 2
    payout = [c for c in data["matrix"] if c["category"] == "payout_accounts" and c["allowed"]]
    assert {c["role"] for c in payout} == {"payout_officer", "system"}
    code, out = _run(monkeypatch, capsys, "policy", "matrix", path)
    assert code == 0
    assert f"{9 * 11 * 8 * 2} cells (9 roles × 11 purposes × 8 categories × 2 tiers)" in out
    assert "purpose subject_request" in out and "+req" in out
    code, out = _run(monkeypatch, capsys, "policy", "matrix", "--help")
    assert code == 0 and "role × purpose × category × tier" in out
