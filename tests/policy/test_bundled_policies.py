"""The bundled policies: they load, cite every clause of the spec, and hold what the vault needs.

The spec is `POLICY-CLAUSES.md` in the shared folder (`MEXFI_SHARED_DIR`, else `../shared`
next to the repository). Its tables name each clause id in the first column, sometimes
as a list (`BK-1.2, BK-7.3`) or a range (`TX-1.7 – 1.11`, `TX-20 – 22`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

from mexfi.policy.loader import load_policy, parse_policy
from mexfi.policy.schema import (
    FieldType,
    Identifiability,
    Policy,
    RequestRequirement,
    RetentionAction,
    RightKind,
    Text,
)

REPO = Path(__file__).resolve().parents[2]
POLICY_DIR = REPO / "policies"
BAKIKART = POLICY_DIR / "bakikart.yaml"
TAXSEE = POLICY_DIR / "taxsee-driver.yaml"

# policy file, policy id, the clause-id prefix it must cover
BUNDLED = [(BAKIKART, "bakikart", "BK"), (TAXSEE, "taxsee_driver", "TX")]


# --------------------------------------------------------------------------- the spec's ids

_PART_RE = re.compile(
    r"^(?P<prefix>[A-Z]{2,6})-(?P<start>\d+(?:\.\d+)*)"
    r"(?:\s*[–—-]\s*(?:(?P=prefix)-)?(?P<end>\d+(?:\.\d+)*))?$"
)
_ROW_ID_RE = re.compile(r"^[A-Z]{2,6}-\d")


def expand_clause_cell(cell: str) -> list[str]:
    """The ids a table cell names: `BK-1.2, BK-7.3`, `TX-1.7 – 1.11`, `TX-20 – 22`."""
    ids: list[str] = []
    for part in (p.strip() for p in cell.split(",")):
        match = _PART_RE.match(part)
        if match is None:
            raise ValueError(f"not a clause id or range: {part!r}")
        prefix, start_text, end_text = match["prefix"], match["start"], match["end"]
        if end_text is None:
            ids.append(f"{prefix}-{start_text}")
            continue
        start = [int(n) for n in start_text.split(".")]
        end = [int(n) for n in end_text.split(".")]
        if len(end) < len(start):  # `TX-1.7 – 11` is short for `TX-1.7 – 1.11`
            end = start[: len(start) - len(end)] + end
        if len(end) != len(start) or start[:-1] != end[:-1] or end[-1] < start[-1]:
            raise ValueError(f"not a range of sibling clauses: {part!r}")
        parent = ".".join(str(n) for n in start[:-1])
        for last in range(start[-1], end[-1] + 1):
            ids.append(f"{prefix}-{parent}.{last}" if parent else f"{prefix}-{last}")
    return ids


def spec_clause_ids(markdown: str) -> list[str]:
    """Every clause id in the first column of the spec's tables, ranges expanded, in order."""
    ids: list[str] = []
    for line in markdown.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        first = line.strip().strip("|").split("|")[0].strip()
        if _ROW_ID_RE.match(first):
            ids.extend(expand_clause_cell(first))
    return ids


@dataclass(frozen=True)
class Coverage:
    """Spec clauses a policy cites nowhere, and ids it cites that the spec lacks."""

    missing: frozenset[str]
    unknown: frozenset[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unknown


def clause_coverage(policy: Policy, spec_ids: list[str], prefix: str) -> Coverage:
    """Check that `policy` cites every spec id with `prefix` and nothing outside them."""
    expected = {i for i in spec_ids if i.startswith(f"{prefix}-")}
    cited = policy.cited_clauses()
    return Coverage(missing=frozenset(expected - cited), unknown=frozenset(cited - expected))


def _spec_path() -> Path:
    shared = os.environ.get("MEXFI_SHARED_DIR")
    base = Path(shared) if shared else Path(__file__).resolve().parents[3] / "shared"
    return base / "POLICY-CLAUSES.md"


@pytest.fixture(scope="module")
def spec_ids() -> list[str]:
    path = _spec_path()
    if not path.is_file():
        pytest.skip(f"the clause spec {path} is not here; set MEXFI_SHARED_DIR to its folder")
    return spec_clause_ids(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bakikart() -> Policy:
    return load_policy(BAKIKART)


@pytest.fixture(scope="module")
def taxsee() -> Policy:
    return load_policy(TAXSEE)


# --------------------------------------------------------------------------- the range parser


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("BK-1.1", ["BK-1.1"]),
        ("BK-1.2, BK-7.3", ["BK-1.2", "BK-7.3"]),
        ("BK-3.1, BK-3.4", ["BK-3.1", "BK-3.4"]),
        ("TX-1.7 – 1.11", ["TX-1.7", "TX-1.8", "TX-1.9", "TX-1.10", "TX-1.11"]),
        ("TX-3.1 – 3.9", [f"TX-3.{n}" for n in range(1, 10)]),
        ("TX-7.1 – 7.6", [f"TX-7.{n}" for n in range(1, 7)]),
        ("TX-7.7, TX-8", ["TX-7.7", "TX-8"]),
        ("TX-14, TX-15", ["TX-14", "TX-15"]),
        ("TX-20 – 22", ["TX-20", "TX-21", "TX-22"]),
        ("TX-20 - 22", ["TX-20", "TX-21", "TX-22"]),  # a hyphen instead of the en dash
        ("TX-20–22", ["TX-20", "TX-21", "TX-22"]),
        ("TX-20 – TX-22", ["TX-20", "TX-21", "TX-22"]),
        ("TX-1.7 – 11", ["TX-1.7", "TX-1.8", "TX-1.9", "TX-1.10", "TX-1.11"]),
    ],
)
def test_expand_clause_cell(cell: str, expected: list[str]) -> None:
    assert expand_clause_cell(cell) == expected


@pytest.mark.parametrize("cell", ["TX-1.9 – 1.7", "TX-1.7 – 2.3", "TX-7.7 – 8.1", "see TX-9", ""])
def test_expand_clause_cell_refuses_what_is_not_an_id_or_range(cell: str) -> None:
    with pytest.raises(ValueError):
        expand_clause_cell(cell)


def test_spec_clause_ids_reads_only_the_first_column() -> None:
    markdown = (
        "| id | the clause says | the system must |\n"
        "|---|---|---|\n"
        "| BK-1.2, BK-7.3 | use = agreement, see BK-9.9 | keep versions |\n"
        "| TX-20 – 22 | mobile operator | derive country |\n"
        "Prose naming TX-99 is not a row.\n"
    )
    assert spec_clause_ids(markdown) == ["BK-1.2", "BK-7.3", "TX-20", "TX-21", "TX-22"]


def test_spec_ids_of_the_real_spec(spec_ids: list[str]) -> None:
    assert len(spec_ids) == len(set(spec_ids)), "an id appears in two rows"
    for clause in ["BK-1.1", "BK-3.3", "BK-7.3", "TX-1.7", "TX-1.11", "TX-3.9", "TX-7.6", "TX-22"]:
        assert clause in spec_ids
    # Prose mentions (§1.12) are not rows; definitions without a row are not clauses.
    assert "TX-1.12" not in spec_ids
    assert "TX-1.6" not in spec_ids


# --------------------------------------------------------------------------- loading and coverage


@pytest.mark.parametrize(("path", "policy_id", "prefix"), BUNDLED)
def test_bundled_policy_loads(path: Path, policy_id: str, prefix: str) -> None:
    policy = load_policy(path)
    assert policy.id == policy_id


@pytest.mark.parametrize(("path", "policy_id", "prefix"), BUNDLED)
def test_bundled_policy_cites_every_clause_of_the_spec(
    spec_ids: list[str], path: Path, policy_id: str, prefix: str
) -> None:
    coverage = clause_coverage(load_policy(path), spec_ids, prefix)
    assert not coverage.missing, f"{policy_id} cites no element for {sorted(coverage.missing)}"
    unknown = sorted(coverage.unknown)
    assert not unknown, f"{policy_id} cites ids not in the spec: {unknown}"


def _replace_clause(text: str, old: str, new: str) -> str:
    """Replace every citation of clause `old` (not `TX-12.1` nor `TX-120`) by `new`."""
    replaced, count = re.subn(rf"(?<![\w.-]){re.escape(old)}(?![\d.])", new, text)
    assert count > 0, f"{old} is not cited in the text"
    return replaced


@pytest.mark.parametrize(
    ("path", "prefix", "dropped", "stand_in"),
    [(TAXSEE, "TX", "TX-12", "TX-13"), (BAKIKART, "BK", "BK-3.3", "BK-3.2")],
)
def test_coverage_reports_a_dropped_clause(
    spec_ids: list[str], path: Path, prefix: str, dropped: str, stand_in: str
) -> None:
    # Every citation of the clause goes; a stand-in keeps each `clauses` list non-empty.
    text = _replace_clause(path.read_text(encoding="utf-8"), dropped, stand_in)
    policy = parse_policy(text, file=f"{path.name} without {dropped}")
    coverage = clause_coverage(policy, spec_ids, prefix)
    assert coverage.missing == {dropped}
    assert not coverage.ok


def test_coverage_reports_an_id_the_spec_lacks(spec_ids: list[str]) -> None:
    text = TAXSEE.read_text(encoding="utf-8")
    text = text.replace("clauses: [TX-9]", "clauses: [TX-9, TX-99]", 1)
    coverage = clause_coverage(parse_policy(text), spec_ids, "TX")
    assert coverage.unknown == {"TX-99"}
    assert not coverage.missing


def test_coverage_reports_another_policys_clause(spec_ids: list[str]) -> None:
    text = BAKIKART.read_text(encoding="utf-8")
    text = text.replace("clauses: [BK-5.1]", "clauses: [BK-5.1, TX-18]", 1)
    coverage = clause_coverage(parse_policy(text), spec_ids, "BK")
    assert coverage.unknown == {"TX-18"}


# --------------------------------------------------------------------------- vault expectations

BAKIKART_FIELDS = {
    "phone": ["phone"],
    "profile": ["first_name", "last_name", "email"],
    "device": ["model", "brand", "os", "os_version", "network", "ip_address", "location"],
    "transport_cards": ["card_number", "label"],
    "ewallet": ["wallet_id", "balance"],
    "topups": ["place", "amount", "topped_up_at", "means", "target", "card_number", "details"],
    "card_use": ["place", "used_at", "kind", "card_number"],
    "qr_tickets": ["ticket_id", "purchased_at", "price", "route", "used_at"],
}

TAXSEE_FIELDS = {
    "registration": [
        "full_name",
        "date_of_birth",
        "phone",
        "photo",
        "licence_series",
        "licence_number",
        "licence_issued_on",
        "plate",
    ],
    "vehicle_facts": ["make", "model", "colour", "plate_digits", "first_name"],
    "location": ["point", "recorded_at", "accuracy_m"],
    "orders": [
        "started_at",
        "pickup_address",
        "waypoints",
        "destination_address",
        "tariff",
        "payment_method",
        "details",
    ],
    "payout_accounts": ["bank_code", "account_number", "recipient_full_name", "card_number"],
    "bank_cards": ["acquirer_token", "brand", "last4"],
    # TX-21: the raw network codes are not stored with the driver, only what they give.
    "mobile_operator": ["country", "language"],
    "customer_contact": ["phone", "name"],
}


@pytest.mark.parametrize(
    ("path", "expected"), [(BAKIKART, BAKIKART_FIELDS), (TAXSEE, TAXSEE_FIELDS)]
)
def test_category_ids_and_field_names(path: Path, expected: dict[str, list[str]]) -> None:
    policy = load_policy(path)
    assert {c.id for c in policy.categories} == set(expected)
    for category_id, fields in expected.items():
        names = [f.name for f in policy.category(category_id).fields]
        missing = [name for name in fields if name not in names]
        assert not missing, f"{policy.id}: category {category_id} lacks fields {missing}"


def test_bakikart_field_types(bakikart: Policy) -> None:
    phone = bakikart.category("phone")
    assert phone.mandatory and phone.field("phone").required  # type: ignore[union-attr]
    assert phone.field("phone").identifiability is Identifiability.DIRECT  # type: ignore[union-attr]
    for category in ("transport_cards", "topups", "card_use"):
        field = bakikart.category(category).field("card_number")
        assert field is not None and field.type is FieldType.TRANSPORT_CARD_NUMBER
    assert bakikart.category("device").source == "device"
    assert bakikart.category("card_use").field("kind").values == ["card", "app"]  # type: ignore[union-attr]
    assert bakikart.category("topups").field("target").values == ["card", "ewallet"]  # type: ignore[union-attr]


def test_bk_3_3_passive_after_one_year(bakikart: Policy) -> None:
    (rule,) = bakikart.retention
    assert rule.id == "passive_after_one_year"
    assert set(rule.categories) == {"device", "topups", "card_use", "qr_tickets"}
    assert rule.trigger.value == "collection"
    assert str(rule.after) == "1y"
    assert rule.action is RetentionAction.PASSIVE
    passive_readers = {p.id for p in bakikart.purposes if p.reaches_passive_tier}
    assert passive_readers == {"subject_request", "lawful_request"}


def test_bakikart_purposes_recipients_and_roles(bakikart: Policy) -> None:
    purposes = {p.id for p in bakikart.purposes}
    assert {
        "service_provision",
        "online_services",
        "communication",
        "rectification",
        "subject_request",
        "lawful_request",
        "service_level",
        "app_operation",
    } <= purposes
    assert bakikart.purpose("rectification").allowed_when_blocked
    assert {r.id: r.kind.value for r in bakikart.roles} == {
        "support": "staff",
        "service": "system",
        "dpo": "staff",
        "rider": "subject",
        "authority": "authority",
        "partner": "third_party",
    }
    assert {r.id: r.basis.value for r in bakikart.recipients} == {
        "authorities": "law",
        "service_level_partners": "written_consent",
        "app_operation_partners": "written_consent",
    }


def test_bakikart_operator_consent_notifications_claim(bakikart: Policy) -> None:
    assert bakikart.operator.name == '"K Group" LLC'
    assert bakikart.operator.tin == "1402954871"
    assert bakikart.operator.phone == "*4343"
    assert bakikart.storage.confidence_level.value == "critical"
    assert bakikart.consent.acceptance.value == "implicit_by_use"
    assert bakikart.consent.changes_take_effect == "when_posted"
    notes = {n.id: n for n in bakikart.notifications}
    assert set(notes) == {"qr_tickets", "balance_and_payments", "personalized"}
    assert notes["qr_tickets"].default_on and notes["balance_and_payments"].default_on
    assert not notes["personalized"].default_on and notes["personalized"].opt_in_required
    (claim,) = bakikart.claims
    assert claim.kind.value == "collects_no_identifying_data" and claim.clauses == ["BK-2.1"]
    assert RightKind.ACCESS in {r.kind for r in bakikart.requests.rights}


def test_tx_7_7_registration_destroyed_before_24h(taxsee: Policy) -> None:
    destroy = [r for r in taxsee.retention if r.action is RetentionAction.DESTROY]
    assert [r.id for r in destroy] == ["registration_destroyed"]
    (rule,) = destroy
    assert rule.categories == ["registration"]
    assert rule.trigger.value == "registration"
    assert (str(rule.after), str(rule.deadline)) == ("23h", "24h")
    # TX-16 keeps the recipient's full name: no rule destroys it (the linter must find it).
    assert "payout_accounts" not in {c for r in taxsee.retention for c in r.categories}


EXCLUSIVE_SURVIVES = {"rectification", "subject_request", "lawful_request"}


def test_tx_17_tx_24_exclusive_purposes(taxsee: Policy) -> None:
    exclusive = {p.id: p.categories for p in taxsee.purposes if p.exclusive}
    assert exclusive["payout"] == ["payout_accounts"]
    assert exclusive["order_autofill"] == ["orders"]
    assert exclusive["licence_agreement"] == ["registration"]
    for owner, categories in exclusive.items():
        for purpose in taxsee.purposes:
            if purpose.id == owner or purpose.id in EXCLUSIVE_SURVIVES:
                continue
            shared = set(categories) & set(purpose.categories)
            assert not shared, f"{purpose.id} reads {shared}, exclusive to {owner}"
    assert set(taxsee.purpose("payout").roles) == {"payout_officer", "system"}


def test_tx_13_location_to_customers_only_for_an_order(taxsee: Policy) -> None:
    ride = taxsee.purpose("ride_provision")
    assert ride.requires_active_order and ride.categories == ["location"]
    assert "customer" in ride.roles
    customers = taxsee.recipient("customers")
    assert customers.kind.value == "counterpart" and customers.purposes == ["ride_provision"]
    assert customers.condition is None  # as published; the linter reports it
    assert taxsee.geolocation is not None
    assert taxsee.geolocation.window == "app_in_use" and taxsee.geolocation.subject_can_switch_off


def test_tx_9_declared_non_personal_but_quasi(taxsee: Policy) -> None:
    facts = taxsee.category("vehicle_facts")
    assert not facts.personal
    assert all(f.identifiability is Identifiability.QUASI for f in facts.fields)


def test_tx_14_no_card_number_but_for_payouts(taxsee: Policy) -> None:
    card_numbers = [
        (c.id, f.name)
        for c in taxsee.categories
        for f in c.fields
        if f.type is FieldType.PAYMENT_CARD_NUMBER
    ]
    assert card_numbers == [("payout_accounts", "card_number")]
    types = {f.type for f in taxsee.category("bank_cards").fields}
    assert types == {FieldType.CARD_TOKEN, FieldType.STRING, FieldType.CARD_LAST4}
    claims = {c.kind.value for c in taxsee.claims}
    assert claims == {"keeps_no_personal_data", "card_data_inaccessible"}


def test_tx_11_requests(taxsee: Policy) -> None:
    requests = taxsee.requests
    assert (requests.deadline.count, requests.deadline.unit.value) == (7, "working_days")
    assert requests.deadline.jurisdiction == "AZ"
    assert set(requests.written_requirements) == set(RequestRequirement)
    assert {c.value for c in requests.channels} == {"written", "registered_mail", "in_person"}
    assert {r.kind for r in requests.rights} == set(RightKind)


def test_tx_18_only_strictly_necessary_cookies_without_consent(taxsee: Policy) -> None:
    cookies = {c.id: c for c in taxsee.cookies}
    assert set(cookies) == {"strictly_necessary", "performance", "functional", "advertising"}
    assert [c for c, v in cookies.items() if not v.consent_required] == ["strictly_necessary"]
    assert cookies["advertising"].third_party


def test_tx_20_mobile_operator(taxsee: Policy) -> None:
    assert taxsee.mobile_operator is not None
    assert taxsee.mobile_operator.category == "mobile_operator"
    assert set(taxsee.mobile_operator.derives) == {"country", "language"}
    assert not taxsee.category("mobile_operator").personal
    # TX-21: the raw codes and the operator are not stored with the driver; what the policy
    # derives from them is all its category holds.
    fields = {f.name for f in taxsee.category("mobile_operator").fields}
    assert fields == set(taxsee.mobile_operator.derives)


# --------------------------------------------------------------------------- texts


def _texts(node: object) -> Iterator[Text]:
    if isinstance(node, Text):
        yield node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name))
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


@pytest.mark.parametrize("path", [BAKIKART, TAXSEE])
def test_every_text_is_translated(path: Path) -> None:
    for text in _texts(load_policy(path)):
        assert _CYRILLIC.search(text.ru), f"ru is not Russian: {text.ru!r}"
        assert not _CYRILLIC.search(text.az), f"az holds Cyrillic: {text.az!r}"
        assert text.az != text.en, f"az is a copy of en: {text.az!r}"
