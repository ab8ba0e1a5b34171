"""The policy linter: where a policy's promises cannot hold together.

A policy is a promise; some promises contradict others ("we collect nothing that
identifies you" next to "we collect your mobile number"). Each rule reasons over
the schema's semantics (claims, identifiability, fideslang categories, retention
actions, rights, geolocation windows, recipients), never over one policy's ids,
and yields findings that name the clauses and elements that clash, in words a
lawyer can read. Rules are pure functions of a `Policy`; `lint_policy` runs them
all. `RULES` is the registry, keyed by rule id (`MX101`...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mexfi.policy.schema import (
    RIGHTS_OVER_STORED_DATA,
    Category,
    Claim,
    ClaimKind,
    DataField,
    Duration,
    FieldType,
    Identifiability,
    Policy,
    Purpose,
    RecipientBasis,
    RecipientKind,
    RetentionAction,
    RetentionRule,
    RetentionTrigger,
    RoleAction,
    RoleKind,
)

__all__ = ["RULES", "Finding", "Rule", "Severity", "lint_policy"]


class Severity(StrEnum):
    """How bad a finding is; only errors fail `mexfi policy lint`."""

    ERROR = "error"  # the promises cannot all hold
    WARNING = "warning"  # they hold only under a reading the text does not state
    INFO = "info"  # worth a look; no contradiction


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    """One place where a policy contradicts itself."""

    rule: str
    severity: Severity
    #: Clause ids of the elements that clash, in document order.
    clauses: tuple[str, ...]
    message: str
    #: Element paths such as `categories.vehicle_facts` or `claims.keeps_no_personal_data`.
    elements: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """The finding as JSON-ready data."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "clauses": list(self.clauses),
            "message": self.message,
            "elements": list(self.elements),
        }


@dataclass(frozen=True)
class Rule:
    """A lint rule: its id, short name, default severity, one-line description and check."""

    id: str
    name: str
    severity: Severity
    description: str
    check: Callable[[Policy], Iterable[Finding]]


@dataclass(frozen=True)
class _Hit:
    """What a check reports; the registry adds the rule id and severity."""

    clauses: Iterable[str]
    message: str
    elements: Iterable[str]
    severity: Severity | None = None


RULES: dict[str, Rule] = {}
"""Every lint rule, by id, in id order."""


def _rule(
    rule_id: str, name: str, severity: Severity, description: str
) -> Callable[[Callable[[Policy], Iterator[_Hit]]], Callable[[Policy], Iterator[_Hit]]]:
    def register(check: Callable[[Policy], Iterator[_Hit]]) -> Callable[[Policy], Iterator[_Hit]]:
        def run(policy: Policy) -> Iterator[Finding]:
            for hit in check(policy):
                yield Finding(
                    rule=rule_id,
                    severity=hit.severity or severity,
                    clauses=_clauses(hit.clauses),
                    message=hit.message,
                    elements=tuple(dict.fromkeys(hit.elements)),
                )

        if rule_id in RULES:
            raise RuntimeError(f"lint rule {rule_id} is registered twice")
        RULES[rule_id] = Rule(rule_id, name, severity, description, run)
        return check

    return register


def lint_policy(policy: Policy) -> list[Finding]:
    """Every finding of every rule on `policy`: errors first, then by rule id."""
    findings = [finding for rule in RULES.values() for finding in rule.check(policy)]
    # A stable sort keeps each rule's findings in document order.
    return sorted(findings, key=lambda f: (_SEVERITY_RANK[f.severity], f.rule))


# --------------------------------------------------------------------------- wording

_CLAUSE_RE = re.compile(r"^(?P<prefix>[A-Z]+)-(?P<number>\d+(?:\.\d+)*)$")


def _clause_key(clause: str) -> tuple[str, tuple[int, ...]]:
    match = _CLAUSE_RE.match(clause)
    if match is None:  # the schema's pattern makes this unreachable; sort it last
        return ("~", ())
    return match["prefix"], tuple(int(part) for part in match["number"].split("."))


def _clauses(groups: Iterable[str]) -> tuple[str, ...]:
    """Distinct clause ids in document order (TX-3.2 before TX-3.10 before TX-11)."""
    return tuple(sorted(set(groups), key=_clause_key))


def _cite(clauses: Iterable[str]) -> str:
    return ", ".join(_clauses(clauses))


def _and(items: Sequence[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


_UNIT_WORDS = {"min": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}

_TRIGGER_WORDS = {
    RetentionTrigger.REGISTRATION: "registration",
    RetentionTrigger.COLLECTION: "collection",
    RetentionTrigger.ORDER_END: "the end of the order",
    RetentionTrigger.ACCOUNT_CLOSURE: "the closure of the account",
}


def _duration(duration: Duration) -> str:
    word = _UNIT_WORDS[duration.unit]
    return f"{duration.count} {word}{'' if duration.count == 1 else 's'}"


def _ids(ids: Iterable[str]) -> str:
    return _and([f"'{i}'" for i in ids])


def _purposes(purposes: Iterable[Purpose]) -> str:
    return _and([f"purpose '{p.id}' ({_cite(p.clauses)})" for p in purposes])


def _field(field: DataField) -> str:
    return f"'{field.name}' ({field.title.en})"


def _category(category: Category, *, start: bool = False) -> str:
    return f"{'C' if start else 'c'}ategory '{category.id}' ({category.title.en})"


def _field_path(category: Category, field: DataField) -> str:
    return f"categories.{category.id}.fields.{field.name}"


def _claim_path(claim: Claim) -> str:
    return f"claims.{claim.kind.value}"


def _claims(policy: Policy, kind: ClaimKind) -> list[Claim]:
    return [claim for claim in policy.claims if claim.kind is kind]


def _claimed_categories(policy: Policy, claim: Claim) -> list[Category]:
    """The categories a claim speaks of: those of the subjects its clause governs.

    A claim speaks of "you", the person the policy addresses, not of everyone whose
    data passes through the service (a driver's policy also holds customers' phone
    numbers). The schema does not say whose data a claim covers, so it is read from
    the clause: other categories, or categories of retention rules, that cite one of
    the claim's clauses name its subjects. A clause that governs no category leaves
    the claim covering every subject.
    """
    cited = set(claim.clauses)
    subjects = {c.subject for c in policy.categories if cited & set(c.clauses)}
    for rule in policy.retention:
        if cited & set(rule.clauses):
            subjects.update(policy.category(c).subject for c in rule.categories)
    if not subjects:
        return list(policy.categories)
    return [c for c in policy.categories if c.subject in subjects]


# --------------------------------------------------------------------------- semantics


def _direct_fields(category: Category) -> list[DataField]:
    return [f for f in category.fields if f.identifiability is Identifiability.DIRECT]


def _bound(rule: RetentionRule) -> Duration:
    """The latest moment the rule's action is complete: its deadline, else its schedule."""
    return rule.deadline if rule.deadline is not None else rule.after


#: A destroy rule counted from one of these bounds how long the data lives at all: data
#: comes in at registration or later, so it is gone within the rule's time of its arrival.
_LIFETIME_TRIGGERS = frozenset({RetentionTrigger.REGISTRATION, RetentionTrigger.COLLECTION})


def _destroyed_within(
    policy: Policy,
    category: Category,
    *,
    trigger: RetentionTrigger | None,
    within: Duration | None,
) -> bool:
    """Whether a destroy rule removes `category` within `within` of `trigger`.

    A rule counted from the same event does, and so does one that bounds the data's
    whole life (`_LIFETIME_TRIGGERS`) within that time. One counted from another,
    later event (an account closure) does not bound it. `None` means any trigger, or
    any time.
    """
    for rule in policy.retention:
        if rule.action is not RetentionAction.DESTROY or category.id not in rule.categories:
            continue
        if trigger is not None and rule.trigger not in {trigger, *_LIFETIME_TRIGGERS}:
            continue
        if within is None or _bound(rule).approx <= within.approx:
            return True
    return False


def _exempt(purpose: Purpose) -> bool:
    """Rectification and subject or lawful requests reach every category by design."""
    return purpose.allowed_when_blocked or purpose.reaches_passive_tier


def _is_name_part(field: DataField) -> bool:
    key = field.fides_category or ""
    return key == "user.name" or key.startswith("user.name.")


#: Two name parts (first and last name) single out a person; so does a name part with
#: this many other quasi-identifiers...
_QUASI_WITH_NAME = 2
#: ...or this many quasi-identifiers of any kind. A conservative bound: Sweeney found
#: that three (ZIP code, birth date, sex) single out most of a population.
_QUASI_ALONE = 4


def _singling_out(category: Category) -> list[DataField]:
    """The quasi-identifiers of `category` if together they single out a person, else []."""
    quasi = [f for f in category.fields if f.identifiability is Identifiability.QUASI]
    names = [f for f in quasi if _is_name_part(f)]
    if (
        len(names) >= 2
        or (names and len(quasi) - 1 >= _QUASI_WITH_NAME)
        or len(quasi) >= _QUASI_ALONE
    ):
        return names + [f for f in quasi if f not in names]
    return []


def _identifying(category: Category) -> tuple[list[DataField], str]:
    """The fields by which `category` identifies a person, and how, or `([], "")`.

    Direct identifiers suffice to make the point; a combination is named only
    when the category holds none.
    """
    direct = _direct_fields(category)
    if direct:
        verb = "identifies" if len(direct) == 1 else "each identify"
        return direct, f"which {verb} a person directly"
    combination = _singling_out(category)
    if combination:
        return combination, "which together single out a person"
    return [], ""


# --------------------------------------------------------------------------- rules


@_rule(
    "MX101",
    "identifying-data-despite-claim",
    Severity.ERROR,
    "The policy claims it collects no identifying data, yet a category holds a direct "
    "identifier or quasi-identifiers that together single out a person.",
)
def _identifying_data_despite_claim(policy: Policy) -> Iterator[_Hit]:
    for claim in _claims(policy, ClaimKind.COLLECTS_NO_IDENTIFYING_DATA):
        found = [(c, *_identifying(c)) for c in _claimed_categories(policy, claim)]
        offenders = [(c, fields, how) for c, fields, how in found if fields]
        if not offenders:
            continue
        parts = [
            f"{_category(c)} collects {_and([_field(f) for f in fields])}, {how} "
            f"({_cite(c.clauses)})"
            for c, fields, how in offenders
        ]
        yield _Hit(
            clauses=[*claim.clauses, *(k for c, _, _ in offenders for k in c.clauses)],
            message=(
                f"The policy states that no identifying data is collected "
                f"({_cite(claim.clauses)}), yet {'; '.join(parts)}."
            ),
            elements=[
                _claim_path(claim),
                *(_field_path(c, f) for c, fields, _ in offenders for f in fields),
            ],
        )


@_rule(
    "MX102",
    "destroyed-data-collected-again",
    Severity.ERROR,
    "Data a destroy rule removes is collected again, as the same kind of direct identifier, "
    "by another personal category that no destroy rule removes in the same window.",
)
def _destroyed_data_collected_again(policy: Policy) -> Iterator[_Hit]:
    for rule in policy.retention:
        if rule.action is not RetentionAction.DESTROY:
            continue
        # (subject, fideslang category) -> the first field the rule destroys under it
        destroyed: dict[tuple[str, str | None], tuple[Category, DataField]] = {}
        for category_id in rule.categories:
            category = policy.category(category_id)
            for f in category.fields:
                if f.fides_category is not None:
                    destroyed.setdefault((category.subject, f.fides_category), (category, f))
        window = _bound(rule)
        for other in policy.categories:
            if not other.personal or other.id in rule.categories:
                continue
            # Keyed by subject: a customer's phone is not the driver's phone collected again.
            again = [
                (f, *destroyed[(other.subject, f.fides_category)])
                for f in _direct_fields(other)
                if (other.subject, f.fides_category) in destroyed
            ]
            if not again or _destroyed_within(policy, other, trigger=rule.trigger, within=window):
                continue
            pairs = _and([f"{_field(new)}, like {_field(old)}" for new, _, old in again])
            yield _Hit(
                clauses=[*rule.clauses, *other.clauses],
                message=(
                    f"Retention rule '{rule.id}' destroys {_ids(rule.categories)} within "
                    f"{_duration(window)} of {_TRIGGER_WORDS[rule.trigger]} "
                    f"({_cite(rule.clauses)}), yet {_category(other)} holds the same "
                    f"identifying data, {pairs} ({_cite(other.clauses)}), and no rule destroys "
                    f"it within that time: what the policy promises to destroy stays with the "
                    f"operator."
                ),
                elements=[
                    f"retention.{rule.id}",
                    *(_field_path(source, old) for _, source, old in again),
                    *(_field_path(other, new) for new, _, _ in again),
                ],
            )


def _claim_window(claim: Claim) -> str:
    if claim.after is not None and claim.trigger is not None:
        return f" beyond {_duration(claim.after)} after {_TRIGGER_WORDS[claim.trigger]}"
    if claim.after is not None:
        return f" beyond {_duration(claim.after)}"
    return ""


@_rule(
    "MX103",
    "rights-over-data-not-kept",
    Severity.ERROR,
    "The policy claims it keeps no personal data, yet promises rights that exist only over "
    "data the operator holds (access, rectification, destruction, blocking...).",
)
def _rights_over_data_not_kept(policy: Policy) -> Iterator[_Hit]:
    rights = [r for r in policy.requests.rights if r.kind in RIGHTS_OVER_STORED_DATA]
    if not rights:
        return
    for claim in _claims(policy, ClaimKind.KEEPS_NO_PERSONAL_DATA):
        listed = _and([f"{r.kind.value.replace('_', ' ')} ({_cite(r.clauses)})" for r in rights])
        yield _Hit(
            clauses=[*claim.clauses, *(k for r in rights for k in r.clauses)],
            message=(
                f"The policy states that the operator keeps no personal data"
                f"{_claim_window(claim)} ({_cite(claim.clauses)}), yet it promises rights "
                f"that exist only over data the operator holds: {listed}. Either the data is "
                f"kept and the statement is untrue, or these rights cannot be exercised."
            ),
            elements=[_claim_path(claim), *(f"requests.rights.{r.kind.value}" for r in rights)],
        )


@_rule(
    "MX104",
    "quasi-identifiers-declared-non-personal",
    Severity.ERROR,
    "A category declared non-personal holds a direct identifier, or quasi-identifiers that "
    f"together single out a person (two name parts, a name part with {_QUASI_WITH_NAME} "
    f"others, or {_QUASI_ALONE} of any kind).",
)
def _quasi_identifiers_declared_non_personal(policy: Policy) -> Iterator[_Hit]:
    for category in policy.categories:
        if category.personal:
            continue
        direct = _direct_fields(category)
        combination = _singling_out(category)
        reasons: list[str] = []
        if direct:
            reasons.append(
                f"{_and([_field(f) for f in direct])} "
                f"{'identifies' if len(direct) == 1 else 'each identify'} a person directly"
            )
        if combination:
            reasons.append(f"{_and([_field(f) for f in combination])} together single out a person")
        if not reasons:
            continue
        cited = _cite(category.clauses)
        yield _Hit(
            clauses=category.clauses,
            message=(
                f"{_category(category, start=True)} is declared non-personal ({cited}), yet "
                f"{'; and '.join(reasons)}. Data that identifies a person, directly or in "
                f"combination, is personal data."
            ),
            elements=[
                f"categories.{category.id}",
                *(_field_path(category, f) for f in (*direct, *combination)),
            ],
        )


_WINDOW_WORDS = {"app_in_use": "while the app is in use", "order": "during an order"}
#: Recipients whose disclosures the collection window must bound: people outside the
#: operator. Processors act for the operator; authorities act on a lawful request.
_OUTSIDE_RECIPIENTS = frozenset({RecipientKind.COUNTERPART, RecipientKind.THIRD_PARTY})


@_rule(
    "MX105",
    "location-disclosed-beyond-window",
    Severity.WARNING,
    "Location collected only within a window (app in use, order) is disclosed, under the "
    "contract, to a recipient with no condition bounding each disclosure to that window.",
)
def _location_disclosed_beyond_window(policy: Policy) -> Iterator[_Hit]:
    geo = policy.geolocation
    if geo is None or geo.window == "always":
        return
    for recipient in policy.recipients:
        # Only a disclosure justified by the contract is bounded by its performance (an
        # order); a written consent or a law sets its own bounds.
        if (
            recipient.kind not in _OUTSIDE_RECIPIENTS
            or recipient.basis is not RecipientBasis.CONTRACT
            or recipient.condition is not None
        ):
            continue
        located = [c for c in recipient.categories if c in geo.categories]
        if not located:
            continue
        yield _Hit(
            clauses=[*geo.clauses, *recipient.clauses],
            message=(
                f"Location is collected only {_WINDOW_WORDS[geo.window]} "
                f"({_cite(geo.clauses)}), yet recipient '{recipient.id}' "
                f"({recipient.title.en}) receives {_ids(located)} "
                f"({_cite(recipient.clauses)}) with no condition on when: as written, a "
                f"location may be disclosed outside that window. The disclosure is justified "
                f"only during an active order with that recipient."
            ),
            elements=[
                "geolocation",
                f"recipients.{recipient.id}",
                *(f"categories.{c}" for c in located),
            ],
        )


@_rule(
    "MX106",
    "personal-data-kept-despite-claim",
    Severity.WARNING,
    "The policy claims it keeps no personal data after a time, yet personal categories have "
    "no destroy rule within that time.",
)
def _personal_data_kept_despite_claim(policy: Policy) -> Iterator[_Hit]:
    for claim in _claims(policy, ClaimKind.KEEPS_NO_PERSONAL_DATA):
        kept = [
            c
            for c in _claimed_categories(policy, claim)
            if c.personal
            and not _destroyed_within(policy, c, trigger=claim.trigger, within=claim.after)
        ]
        if not kept:
            continue
        listed = "; ".join(f"{_category(c)} ({_cite(c.clauses)})" for c in kept)
        yield _Hit(
            clauses=[*claim.clauses, *(k for c in kept for k in c.clauses)],
            message=(
                f"The policy states that the operator keeps no personal data"
                f"{_claim_window(claim)} ({_cite(claim.clauses)}), yet no rule destroys these "
                f"personal categories within that time: {listed}."
            ),
            elements=[_claim_path(claim), *(f"categories.{c.id}" for c in kept)],
        )


@_rule(
    "MX107",
    "personal-category-without-purpose",
    Severity.WARNING,
    "A personal category is used by no purpose: personal data is collected for nothing the "
    "policy declares.",
)
def _personal_category_without_purpose(policy: Policy) -> Iterator[_Hit]:
    used = {c for purpose in policy.purposes for c in purpose.categories}
    for category in policy.categories:
        if category.personal and category.id not in used:
            yield _Hit(
                clauses=category.clauses,
                message=(
                    f"{_category(category, start=True)} holds personal data "
                    f"({_cite(category.clauses)}), but no purpose of the policy uses it: "
                    f"personal data may be collected only for a declared purpose."
                ),
                elements=[f"categories.{category.id}"],
            )


@_rule(
    "MX108",
    "exclusive-category-shared",
    Severity.ERROR,
    "A category an exclusive purpose reserves is also listed under another ordinary purpose "
    "(rectification and subject or lawful requests are exempt).",
)
def _exclusive_category_shared(policy: Policy) -> Iterator[_Hit]:
    for category in policy.categories:
        using = [p for p in policy.purposes if category.id in p.categories and not _exempt(p)]
        exclusive = [p for p in using if p.exclusive]
        if not exclusive or len(using) < 2:
            continue
        owner = exclusive[0]
        others = [p for p in using if p is not owner]
        yield _Hit(
            clauses=[*owner.clauses, *category.clauses, *(k for p in others for k in p.clauses)],
            message=(
                f"Purpose '{owner.id}' ({owner.title.en}) reserves {_category(category)} "
                f"({_cite(category.clauses)}) for itself alone ({_cite(owner.clauses)}), yet "
                f"{_purposes(others)} {'uses' if len(others) == 1 else 'use'} it too."
            ),
            elements=[
                f"purposes.{owner.id}",
                f"categories.{category.id}",
                *(f"purposes.{p.id}" for p in others),
            ],
        )


_LAWFUL_BASES = {
    RecipientKind.THIRD_PARTY: (RecipientBasis.WRITTEN_CONSENT, RecipientBasis.LAW),
    RecipientKind.AUTHORITY: (RecipientBasis.LAW,),
}
_BASIS_WORDS = {
    RecipientBasis.LAW: "a law",
    RecipientBasis.WRITTEN_CONSENT: "the subject's written consent",
    RecipientBasis.CONTRACT: "the contract with the subject",
}


@_rule(
    "MX109",
    "disclosure-without-lawful-basis",
    Severity.ERROR,
    "A third party receives personal data on a basis other than written consent or law, or "
    "an authority on a basis other than law.",
)
def _disclosure_without_lawful_basis(policy: Policy) -> Iterator[_Hit]:
    for recipient in policy.recipients:
        allowed = _LAWFUL_BASES.get(recipient.kind)
        if allowed is None or recipient.basis in allowed:
            continue
        personal = [c for c in recipient.categories if policy.category(c).personal]
        if not personal:
            continue
        needs = _and([_BASIS_WORDS[b] for b in allowed], "or")
        who = "a third party" if recipient.kind is RecipientKind.THIRD_PARTY else "an authority"
        yield _Hit(
            clauses=recipient.clauses,
            message=(
                f"Recipient '{recipient.id}' ({recipient.title.en}) is {who} that receives "
                f"personal data ({_ids(personal)}) on the basis of "
                f"{_BASIS_WORDS[recipient.basis]} ({_cite(recipient.clauses)}); a disclosure "
                f"to {who} needs {needs}."
            ),
            elements=[f"recipients.{recipient.id}"],
        )


@_rule(
    "MX110",
    "third-party-cookies-without-consent",
    Severity.ERROR,
    "A cookie category set by third parties needs no consent.",
)
def _third_party_cookies_without_consent(policy: Policy) -> Iterator[_Hit]:
    for cookie in policy.cookies:
        if cookie.third_party and not cookie.consent_required:
            yield _Hit(
                clauses=cookie.clauses,
                message=(
                    f"Cookie category '{cookie.id}' ({cookie.title.en}) is set by third parties "
                    f"but needs no consent ({_cite(cookie.clauses)}): only cookies strictly "
                    f"necessary for a service the user asked for may be set without consent, "
                    f"and a third party's cookies are not."
                ),
                elements=[f"cookies.{cookie.id}"],
            )


@_rule(
    "MX111",
    "card-data-readable-despite-claim",
    Severity.WARNING,
    "The policy claims card data is inaccessible, yet a card number is readable for a purpose "
    "that is not exclusive.",
)
def _card_data_readable_despite_claim(policy: Policy) -> Iterator[_Hit]:
    # A warning, not an error: such a claim is usually made about the card entered on an
    # acquirer's page, and a card the operator holds for one fenced purpose (payouts) is
    # another card. Read for ordinary purposes, though, the operator plainly can get it.
    for claim in _claims(policy, ClaimKind.CARD_DATA_INACCESSIBLE):
        for category in _claimed_categories(policy, claim):
            numbers = [f for f in category.fields if f.type is FieldType.PAYMENT_CARD_NUMBER]
            readers = [
                p
                for p in policy.purposes
                if category.id in p.categories and not p.exclusive and not _exempt(p)
            ]
            if not numbers or not readers:
                continue
            yield _Hit(
                clauses=[
                    *claim.clauses,
                    *category.clauses,
                    *(k for p in readers for k in p.clauses),
                ],
                message=(
                    f"The policy states that nobody can obtain card data "
                    f"({_cite(claim.clauses)}), yet {_category(category)} holds "
                    f"{_and([_field(f) for f in numbers])} ({_cite(category.clauses)}) and "
                    f"{_purposes(readers)}, "
                    f"which {'is' if len(readers) == 1 else 'are'} not reserved to that data, "
                    f"can read it."
                ),
                elements=[
                    _claim_path(claim),
                    *(_field_path(category, f) for f in numbers),
                    *(f"purposes.{p.id}" for p in readers),
                ],
            )


@_rule(
    "MX112",
    "destruction-without-executor",
    Severity.ERROR,
    "A retention rule destroys data, yet no system role is granted the destroy action, so "
    "nothing can ever carry the rule out.",
)
def _destruction_without_executor(policy: Policy) -> Iterator[_Hit]:
    systems = [r for r in policy.roles if r.kind is RoleKind.SYSTEM]
    if any(RoleAction.DESTROY in r.actions for r in systems):
        return
    if systems:
        lacking = _and([f"'{r.id}' ({_cite(r.clauses)})" for r in systems])
        why = (
            f"the policy's system role{'s' if len(systems) > 1 else ''}, {lacking}, "
            f"{'are' if len(systems) > 1 else 'is'} not granted the destroy action"
        )
    else:
        why = "the policy declares no system role, and only the system runs retention"
    for rule in policy.retention:
        if rule.action is not RetentionAction.DESTROY:
            continue
        yield _Hit(
            clauses=[*rule.clauses, *(c for r in systems for c in r.clauses)],
            message=(
                f"Retention rule '{rule.id}' destroys {_ids(rule.categories)} "
                f"{_duration(rule.after)} after {_TRIGGER_WORDS[rule.trigger]} "
                f"({_cite(rule.clauses)}), yet {why}: the scheduled destruction is refused "
                f"every time it is due, and the data stays."
            ),
            elements=[f"retention.{rule.id}", *(f"roles.{r.id}" for r in systems)],
        )
