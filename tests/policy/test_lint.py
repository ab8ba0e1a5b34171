"""The policy linter: each rule fires on a crafted policy, stays silent on a clean one,
and finds the five known contradictions of the bundled policies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mexfi.cli.app import app
from mexfi.policy.lint import RULES, Finding, Severity, lint_policy
from mexfi.policy.loader import load_policy, parse_policy
from mexfi.policy.schema import Policy

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "fixtures" / "policies" / "minimal.yaml"

Doc = dict[str, Any]


def _text(en: str) -> Doc:
    return {"az": en, "en": en, "ru": en}


def _doc() -> Doc:
    data: Doc = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    return data


def _load(doc: Doc) -> Policy:
    return parse_policy(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


def _add(doc: Doc, key: str, snippet: str) -> None:
    """Append the YAML list items of `snippet` to `doc[key]`."""
    doc.setdefault(key, []).extend(yaml.safe_load(snippet))


def _only(policy: Policy, rule: str) -> list[Finding]:
    return [f for f in lint_policy(policy) if f.rule == rule]


def _category(doc: Doc, category_id: str) -> Doc:
    return next(c for c in doc["categories"] if c["id"] == category_id)


def _purpose(doc: Doc, purpose_id: str) -> Doc:
    return next(p for p in doc["purposes"] if p["id"] == purpose_id)


# --------------------------------------------------------------------------- the clean policy


def test_minimal_policy_has_no_findings() -> None:
    assert lint_policy(load_policy(MINIMAL)) == []
    # The round trip the crafted cases use changes nothing by itself.
    assert lint_policy(_load(_doc())) == []


def test_registry_describes_every_rule() -> None:
    assert list(RULES) == sorted(RULES)
    for rule_id, rule in RULES.items():
        assert re.fullmatch(r"MX\d{3}", rule_id)
        assert rule.id == rule_id
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name)
        assert rule.description.endswith(".")
        assert "\n" not in rule.description
    assert len({rule.name for rule in RULES.values()}) == len(RULES)


# --------------------------------------------------------------------------- one case per rule

CLAIM = """
- kind: {kind}
  statement: {{az: "claim", en: "claim", ru: "claim"}}
  clauses: [SC-9.1]
"""


def _claim(doc: Doc, kind: str, **extra: str) -> None:
    _add(doc, "claims", CLAIM.format(kind=kind))
    doc["claims"][-1].update(extra)


def case_mx101() -> Policy:
    """The clean policy collects a phone number; claiming it collects nothing identifying."""
    doc = _doc()
    _claim(doc, "collects_no_identifying_data")
    return _load(doc)


def case_mx102() -> Policy:
    """The account (a phone) is destroyed in 24 h, but a payout category asks for it again."""
    doc = _doc()
    _add(
        doc,
        "retention",
        """
- id: account_destroyed
  title: {az: "x", en: "Account destroyed", ru: "x"}
  categories: [account]
  trigger: registration
  after: 23h
  deadline: 24h
  action: destroy
  clauses: [SC-3.3]
""",
    )
    _add(
        doc,
        "categories",
        """
- id: payouts
  subject: rider
  title: {az: "x", en: "Payouts", ru: "x"}
  personal: true
  sensitivity: high
  fides_category: user.financial
  fields:
    - name: contact_phone
      title: {az: "x", en: "Contact phone", ru: "x"}
      type: phone
      fides_category: user.contact.phone_number
      identifiability: direct
  clauses: [SC-8.1]
""",
    )
    _purpose(doc, "service")["categories"].append("payouts")
    return _load(doc)


def case_mx103() -> Policy:
    """Claiming nothing is kept, while offering access and destruction (SC-5.1)."""
    doc = _doc()
    _claim(doc, "keeps_no_personal_data", trigger="registration", after="24h")
    return _load(doc)


def case_mx104() -> Policy:
    """A 'non-personal' category: first name, make, model and plate digits."""
    doc = _doc()
    _add(
        doc,
        "categories",
        """
- id: vehicle
  subject: rider
  title: {az: "x", en: "Vehicle", ru: "x"}
  personal: false
  sensitivity: low
  fides_category: system.operations
  fields:
    - {name: first_name, title: {az: x, en: First name, ru: x}, type: string,
       fides_category: user.name.first, identifiability: quasi}
    - {name: make, title: {az: x, en: Make, ru: x}, type: string, identifiability: quasi}
    - {name: plate_digits, title: {az: x, en: Plate digits, ru: x}, type: string,
       identifiability: quasi}
  clauses: [SC-9.2]
""",
    )
    return _load(doc)


GEO = {"categories": ["rides"], "window": "app_in_use", "subject_can_switch_off": True}
COUNTERPART = """
- id: drivers
  title: {az: "x", en: "Drivers", ru: "x"}
  kind: counterpart
  purposes: [service]
  categories: [rides]
  basis: contract
  clauses: [SC-4.3]
"""


def case_mx105() -> Policy:
    """Rides are collected only while the app is in use, and handed to drivers at any time."""
    doc = _doc()
    doc["geolocation"] = {**GEO, "clauses": ["SC-4.4"]}
    _add(doc, "recipients", COUNTERPART)
    return _load(doc)


def case_mx106() -> Policy:
    """Claiming nothing personal is kept a year after collection; the account has no rule."""
    doc = _doc()
    _claim(doc, "keeps_no_personal_data", trigger="collection", after="1y")
    return _load(doc)


def case_mx107() -> Policy:
    """Rides are collected, but no purpose uses them."""
    doc = _doc()
    for purpose in doc["purposes"]:
        purpose["categories"].remove("rides")
    return _load(doc)


def case_mx108() -> Policy:
    """A payout purpose reserves the account, yet the ordinary service purpose reads it."""
    doc = _doc()
    _add(
        doc,
        "purposes",
        """
- id: payout
  title: {az: "x", en: "Payouts", ru: "x"}
  legal_basis: contract
  fides_data_use: essential.service.payment_processing
  categories: [account]
  roles: [system]
  exclusive: true
  clauses: [SC-8.2]
""",
    )
    return _load(doc)


def case_mx109() -> Policy:
    """Authorities receiving data on the basis of the contract rather than a law."""
    doc = _doc()
    doc["recipients"][0]["basis"] = "contract"
    return _load(doc)


def case_mx110() -> Policy:
    """Advertising cookies set by third parties without consent."""
    doc = _doc()
    _add(
        doc,
        "cookies",
        """
- id: advertising
  title: {az: "x", en: "Advertising cookies", ru: "x"}
  description: {az: "x", en: "Set by advertisers", ru: "x"}
  consent_required: false
  third_party: true
  clauses: [SC-6.2]
""",
    )
    return _load(doc)


CARD_FIELD = {
    "name": "card_number",
    "title": _text("Card number"),
    "type": "payment_card_number",
    "fides_category": "user.financial.bank_account",
}


def case_mx111() -> Policy:
    """Claiming card data is inaccessible while the service purpose reads a card number."""
    doc = _doc()
    _claim(doc, "card_data_inaccessible")
    _category(doc, "rides")["fields"].append(CARD_FIELD)
    return _load(doc)


def case_mx112() -> Policy:
    """A destroy rule while the system role, which runs retention, may not destroy."""
    doc = _doc()
    next(r for r in doc["roles"] if r["id"] == "system")["actions"] = []
    return _load(doc)


CASES: dict[str, tuple[Callable[[], Policy], Severity, tuple[str, ...]]] = {
    "MX101": (case_mx101, Severity.ERROR, ("SC-2.1", "SC-9.1")),
    "MX102": (case_mx102, Severity.ERROR, ("SC-3.3", "SC-8.1")),
    "MX103": (case_mx103, Severity.ERROR, ("SC-5.1", "SC-9.1")),
    "MX104": (case_mx104, Severity.ERROR, ("SC-9.2",)),
    "MX105": (case_mx105, Severity.WARNING, ("SC-4.3", "SC-4.4")),
    "MX106": (case_mx106, Severity.WARNING, ("SC-2.1", "SC-9.1")),
    "MX107": (case_mx107, Severity.WARNING, ("SC-2.1",)),
    "MX108": (case_mx108, Severity.ERROR, ("SC-2.1", "SC-4.1", "SC-8.2")),
    "MX109": (case_mx109, Severity.ERROR, ("SC-4.2",)),
    "MX110": (case_mx110, Severity.ERROR, ("SC-6.2",)),
    "MX111": (case_mx111, Severity.WARNING, ("SC-2.1", "SC-4.1", "SC-9.1")),
    "MX112": (case_mx112, Severity.ERROR, ("SC-3.2", "SC-4.1")),
}


def test_every_rule_has_a_case() -> None:
    assert sorted(CASES) == sorted(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_on_its_case(rule: str) -> None:
    build, severity, clauses = CASES[rule]
    findings = _only(build(), rule)
    assert len(findings) == 1, findings
    finding = findings[0]
    assert finding.severity is severity is RULES[rule].severity
    assert finding.clauses == clauses
    assert finding.message.endswith(".")
    assert finding.elements
    # Every clause a finding cites appears in its message, so a reader can follow it.
    for clause in finding.clauses:
        assert clause in finding.message


@pytest.mark.parametrize("rule", sorted(CASES))
def test_case_breaks_only_what_it_means_to(rule: str) -> None:
    """Each case trips its own rule; other rules it trips are listed here on purpose."""
    also = {"MX103": {"MX106"}, "MX106": {"MX103"}}
    fired = {f.rule for f in lint_policy(CASES[rule][0]())}
    assert fired == {rule} | also.get(rule, set())


# --------------------------------------------------------------------------- rule details


def test_mx101_names_each_identifier_and_its_category() -> None:
    (finding,) = _only(case_mx101(), "MX101")
    assert "category 'account'" in finding.message
    assert "'phone' (Phone number)" in finding.message
    assert "identifies a person directly" in finding.message
    assert finding.elements == (
        "claims.collects_no_identifying_data",
        "categories.account.fields.phone",
    )


def test_mx101_counts_a_full_name_made_of_quasi_identifiers() -> None:
    doc = _doc()
    _claim(doc, "collects_no_identifying_data")
    account = _category(doc, "account")
    account["fields"] = [
        {"name": "first_name", "title": _text("First name"), "type": "string",
         "fides_category": "user.name.first", "identifiability": "quasi"},
        {"name": "last_name", "title": _text("Last name"), "type": "string",
         "fides_category": "user.name.last", "identifiability": "quasi"},
    ]  # fmt: skip
    (finding,) = _only(_load(doc), "MX101")
    assert "together single out a person" in finding.message


def test_mx102_is_silent_when_the_other_category_is_destroyed_in_the_window() -> None:
    doc = case_mx102().model_dump(mode="json", exclude_none=True)
    doc["retention"][-1]["categories"].append("payouts")
    assert _only(_load(doc), "MX102") == []


def test_mx102_ignores_a_destroy_rule_counted_from_another_event() -> None:
    doc = case_mx102().model_dump(mode="json", exclude_none=True)
    _add(
        doc,
        "retention",
        """
- id: payouts_destroyed
  title: {az: "x", en: "x", ru: "x"}
  categories: [payouts]
  trigger: account_closure
  after: 1h
  action: destroy
  clauses: [SC-3.4]
""",
    )
    (finding,) = [
        f for f in _only(_load(doc), "MX102") if f.elements[0] == "retention.account_destroyed"
    ]
    assert "'contact_phone' (Contact phone), like 'phone' (Phone number)" in finding.message
    assert finding.elements == (
        "retention.account_destroyed",
        "categories.account.fields.phone",
        "categories.payouts.fields.contact_phone",
    )


def test_mx102_ignores_the_same_kind_of_data_of_another_subject() -> None:
    doc = case_mx102().model_dump(mode="json", exclude_none=True)
    _add_customer(doc)
    _category(doc, "payouts")["subject"] = "customer"
    assert _only(_load(doc), "MX102") == []


def test_mx102_a_rule_counted_from_collection_bounds_the_data() -> None:
    doc = case_mx102().model_dump(mode="json", exclude_none=True)
    _add(
        doc,
        "retention",
        """
- id: payouts_destroyed
  title: {az: "x", en: "x", ru: "x"}
  categories: [payouts]
  trigger: collection
  after: 24h
  action: destroy
  clauses: [SC-3.4]
""",
    )
    assert _only(_load(doc), "MX102") == []


def test_mx103_lists_the_rights_over_stored_data() -> None:
    (finding,) = _only(case_mx103(), "MX103")
    assert "access (SC-5.1) and destruction (SC-5.1)" in finding.message
    assert "beyond 24 hours after registration" in finding.message


def test_mx104_fires_on_a_direct_identifier_in_a_non_personal_category() -> None:
    doc = _doc()
    _category(doc, "account")["personal"] = False
    (finding,) = _only(_load(doc), "MX104")
    assert finding.clauses == ("SC-2.1",)
    assert "identifies a person directly" in finding.message


def test_mx104_is_silent_below_the_thresholds() -> None:
    policy = case_mx104()
    doc = policy.model_dump(mode="json", exclude_none=True)
    vehicle = _category(doc, "vehicle")
    vehicle["fields"] = vehicle["fields"][1:]  # make and plate digits, no name
    assert _only(_load(doc), "MX104") == []


def test_mx104_four_quasi_identifiers_single_out_without_a_name() -> None:
    doc = case_mx104().model_dump(mode="json", exclude_none=True)
    vehicle = _category(doc, "vehicle")
    vehicle["fields"] = vehicle["fields"][1:] + [
        {"name": n, "title": _text(n), "type": "string", "identifiability": "quasi"}
        for n in ("model", "colour")
    ]
    (finding,) = _only(_load(doc), "MX104")
    assert "'make' (Make), 'plate_digits' (Plate digits), 'model'" in finding.message


def test_mx105_is_silent_when_disclosure_is_bound_to_an_active_order() -> None:
    doc = case_mx105().model_dump(mode="json", exclude_none=True)
    doc["recipients"][-1]["condition"] = "active_order"
    assert _only(_load(doc), "MX105") == []


def test_mx105_is_silent_when_the_subject_consented_in_writing() -> None:
    doc = case_mx105().model_dump(mode="json", exclude_none=True)
    doc["recipients"][-1]["kind"] = "third_party"
    doc["recipients"][-1]["basis"] = "written_consent"
    assert _only(_load(doc), "MX105") == []


def test_mx105_is_silent_when_location_is_always_collected() -> None:
    doc = case_mx105().model_dump(mode="json", exclude_none=True)
    doc["geolocation"]["window"] = "always"
    assert _only(_load(doc), "MX105") == []


def test_mx106_names_only_the_categories_kept_too_long() -> None:
    (finding,) = _only(case_mx106(), "MX106")
    assert "categories.account" in finding.elements
    assert "categories.rides" not in finding.elements


def _add_customer(doc: Doc) -> None:
    """A second data subject, a customer, whose phone the service also holds."""
    _add(
        doc, "subjects", "[{id: customer, title: {az: x, en: Customer, ru: x}, clauses: [SC-2.5]}]"
    )
    _add(
        doc,
        "categories",
        """
- id: customer_contact
  subject: customer
  title: {az: "x", en: "Customer contact", ru: "x"}
  personal: true
  sensitivity: medium
  fides_category: user.contact
  fields:
    - {name: phone, title: {az: x, en: Customer phone, ru: x}, type: phone,
       fides_category: user.contact.phone_number, identifiability: direct}
  clauses: [SC-2.5]
""",
    )
    _purpose(doc, "service")["categories"].append("customer_contact")


@pytest.mark.parametrize(
    ("claim_clause", "expected"),
    [
        # SC-3.2 also governs the rider's rides (a retention rule): the claim is the rider's.
        ("SC-3.2", ["categories.account"]),
        # A clause that governs nothing else: the claim covers every subject.
        ("SC-9.1", ["categories.account", "categories.customer_contact"]),
    ],
)
def test_claims_speak_of_the_subjects_their_clause_governs(
    claim_clause: str, expected: list[str]
) -> None:
    doc = _doc()
    _add_customer(doc)
    _claim(doc, "keeps_no_personal_data", trigger="collection", after="1y")
    doc["claims"][-1]["clauses"] = [claim_clause]
    (finding,) = _only(_load(doc), "MX106")
    assert list(finding.elements[1:]) == expected


def test_mx108_exempts_rectification_and_requests() -> None:
    # The clean policy's rectification purpose (allowed when blocked) also reads the
    # account; only the ordinary service purpose is reported.
    (finding,) = _only(case_mx108(), "MX108")
    assert finding.elements == ("purposes.payout", "categories.account", "purposes.service")


def test_mx109_third_party_needs_written_consent_or_law() -> None:
    doc = _doc()
    doc["recipients"][0]["kind"] = "third_party"
    doc["recipients"][0]["basis"] = "contract"
    (finding,) = _only(_load(doc), "MX109")
    assert "needs the subject's written consent or a law" in finding.message
    doc["recipients"][0]["basis"] = "written_consent"
    assert _only(_load(doc), "MX109") == []


def test_mx111_is_silent_when_only_an_exclusive_purpose_reads_the_card() -> None:
    doc = _doc()
    _claim(doc, "card_data_inaccessible")
    _add(
        doc,
        "categories",
        """
- id: payout_account
  subject: rider
  title: {az: "x", en: "Payout account", ru: "x"}
  personal: true
  sensitivity: critical
  fides_category: user.financial
  fields: []
  clauses: [SC-8.1]
""",
    )
    doc["categories"][-1]["fields"] = [CARD_FIELD]
    _add(
        doc,
        "purposes",
        """
- id: payout
  title: {az: "x", en: "Payouts", ru: "x"}
  legal_basis: contract
  fides_data_use: essential.service.payment_processing
  categories: [payout_account]
  roles: [system]
  exclusive: true
  clauses: [SC-8.2]
""",
    )
    _purpose(doc, "rectification")["categories"].append("payout_account")
    assert lint_policy(_load(doc)) == []


def test_findings_are_sorted_errors_first_then_by_rule() -> None:
    doc = case_mx105().model_dump(mode="json", exclude_none=True)
    _claim(doc, "collects_no_identifying_data")
    doc["recipients"][0]["basis"] = "contract"
    findings = lint_policy(_load(doc))
    assert [(f.severity, f.rule) for f in findings] == [
        (Severity.ERROR, "MX101"),
        (Severity.ERROR, "MX109"),
        (Severity.WARNING, "MX105"),
    ]


def test_finding_to_dict_is_json_ready() -> None:
    (finding,) = _only(case_mx101(), "MX101")
    data = finding.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["rule"] == "MX101"
    assert data["severity"] == "error"
    assert data["clauses"] == ["SC-2.1", "SC-9.1"]


# --------------------------------------------------------------------------- bundled policies

KNOWN_FINDINGS = {
    "bakikart.yaml": [("MX101", {"BK-2.1", "BK-2.2"})],
    "taxsee-driver.yaml": [
        ("MX102", {"TX-7.7", "TX-16"}),
        ("MX103", {"TX-7.7", "TX-11"}),
        ("MX104", {"TX-9"}),
        ("MX105", {"TX-12", "TX-13"}),
    ],
}


@pytest.mark.parametrize("name", sorted(KNOWN_FINDINGS))
def test_bundled_policy_yields_its_known_findings(name: str) -> None:
    path = REPO / "policies" / name
    if not path.exists():
        pytest.skip(f"{path} is not written yet")
    findings = lint_policy(load_policy(path))
    for rule, clauses in KNOWN_FINDINGS[name]:
        matching = [f for f in findings if f.rule == rule and clauses <= set(f.clauses)]
        assert matching, f"{name}: no {rule} finding citing {sorted(clauses)}; got {findings}"
    if name == "taxsee-driver.yaml":
        # TX-3: every right over stored data cites a clause of TX-3 (or TX-11).
        (rights,) = [f for f in findings if f.rule == "MX103"]
        assert any(c.startswith("TX-3.") for c in rights.clauses)


# --------------------------------------------------------------------------- the CLI

runner = CliRunner()


def _write(tmp_path: Path, policy: Policy, name: str) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(policy.model_dump(mode="json", exclude_none=True)), "utf-8")
    return path


def test_cli_lint_exits_1_on_an_error_finding(tmp_path: Path) -> None:
    path = _write(tmp_path, case_mx101(), "bad.yaml")
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 1, result.output
    assert "MX101" in result.stdout
    result = runner.invoke(app, ["policy", "lint", "--exit-zero", str(path)])
    assert result.exit_code == 0, result.output


def test_cli_lint_exits_0_on_the_clean_policy() -> None:
    result = runner.invoke(app, ["policy", "lint", str(MINIMAL)])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.stdout


def test_cli_lint_json(tmp_path: Path) -> None:
    path = _write(tmp_path, case_mx101(), "bad.yaml")
    result = runner.invoke(app, ["policy", "lint", "--format", "json", str(path)])
    assert result.exit_code == 1, result.output
    (report,) = json.loads(result.stdout)
    assert report["file"] == str(path)
    (finding,) = report["findings"]
    assert finding["rule"] == "MX101"
    assert finding["severity"] == "error"
    assert finding["clauses"] == ["SC-2.1", "SC-9.1"]
    assert "no identifying data is collected" in finding["message"]


def test_mx112_names_the_rule_and_the_role_that_cannot_carry_it_out() -> None:
    (finding,) = _only(case_mx112(), "MX112")
    assert "Retention rule 'rides_destroyed' destroys 'rides'" in finding.message
    assert "'system' (SC-4.1), is not granted the destroy action" in finding.message
    assert finding.elements == ("retention.rides_destroyed", "roles.system")


def test_mx112_without_any_system_role_and_silent_once_one_may_destroy() -> None:
    doc = case_mx112().model_dump(mode="json", exclude_none=True)
    doc["roles"] = [r for r in doc["roles"] if r["id"] != "system"]
    for purpose in doc["purposes"]:
        purpose["roles"] = [r for r in purpose["roles"] if r != "system"]
    (finding,) = _only(_load(doc), "MX112")
    assert "declares no system role" in finding.message and finding.clauses == ("SC-3.2",)
    # A second system role granted destruction carries the rule out (the executor acts as it).
    doc["roles"].append(
        {"id": "eraser", "kind": "system", "title": _text("Eraser"), "actions": ["destroy"],
         "clauses": ["SC-4.1"]}
    )  # fmt: skip
    assert _only(_load(doc), "MX112") == []
