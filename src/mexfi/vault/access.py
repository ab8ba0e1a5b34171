"""Purpose-bound access: may this actor, for this purpose, touch these categories?

Pure functions of the policy and the subject's state; the vault calls them
before any key is unwrapped and audits every denial.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from mexfi.policy import (
    LegalBasis,
    NotDeclared,
    Policy,
    Purpose,
    RecipientBasis,
    RetentionAction,
    RightKind,
    RoleKind,
)
from mexfi.vault.errors import InvalidValue, PurposeDenied, UndeclaredData
from mexfi.vault.schemas import Actor

__all__ = [
    "AccessCell",
    "Fact",
    "access_matrix",
    "check_access",
    "check_categories",
    "exempt_from_exclusivity",
    "passive_clauses",
    "required_facts",
    "right_clauses",
]


class Fact(StrEnum):
    """A recorded fact a purpose is bound to: the role and purpose alone do not open data."""

    #: An open, verified request of the subject (`policy.requests.purposes.subject_request`).
    OPEN_REQUEST = "open_request"
    #: An open, verified rectification request naming the categories being rectified.
    RECTIFICATION_REQUEST = "rectification_request"
    #: A recorded lawful demand of an authority, in force, whose scope covers the categories.
    LAWFUL_DEMAND = "lawful_demand"
    #: The subject's written consent to this purpose (TX-10, BK-4.3).
    WRITTEN_CONSENT = "written_consent"
    #: The subject's opt-in to a consent purpose with no recipient (BK-6.1).
    OPT_IN = "opt_in"
    #: An active order between the reader and the subject (TX-13).
    ACTIVE_ORDER = "active_order"
    #: The reader is the subject (a role of kind `subject`).
    OWN_DATA = "own_data"


def required_facts(policy: Policy, purpose: Purpose, role_kind: RoleKind) -> tuple[Fact, ...]:
    """The facts a processing for `purpose` by a role of `role_kind` must cite, read off the
    policy: its request purposes, the purpose's legal basis and its recipients' bases (a legal
    obligation towards authorities: their demand; consent: in writing where a recipient
    receives on it, else the subject's opt-in)."""
    facts: list[Fact] = []
    if purpose.id == policy.requests.purposes.subject_request:
        facts.append(Fact.OPEN_REQUEST)
    if purpose.id == policy.requests.purposes.rectification:
        facts.append(Fact.RECTIFICATION_REQUEST)
    # The purpose's legal basis says what must be on record; its recipients, in what form.
    bases = {r.basis for r in policy.recipients if purpose.id in r.purposes}
    if purpose.legal_basis is LegalBasis.LEGAL_OBLIGATION and RecipientBasis.LAW in bases:
        facts.append(Fact.LAWFUL_DEMAND)
    if purpose.legal_basis is LegalBasis.CONSENT:
        in_writing = RecipientBasis.WRITTEN_CONSENT in bases
        facts.append(Fact.WRITTEN_CONSENT if in_writing else Fact.OPT_IN)
    if purpose.requires_active_order:
        facts.append(Fact.ACTIVE_ORDER)
    if role_kind is RoleKind.SUBJECT:
        facts.append(Fact.OWN_DATA)
    return tuple(facts)


def right_clauses(policy: Policy, *kinds: RightKind) -> tuple[str, ...]:
    """The clauses by which `policy` offers the rights of `kinds` (for audit and errors)."""
    return tuple(
        sorted(
            {c for right in policy.requests.rights if right.kind in kinds for c in right.clauses}
        )
    )


def passive_clauses(policy: Policy, categories: Collection[str]) -> tuple[str, ...]:
    """The clauses of the rules that move these categories to the passive tier."""
    return tuple(
        sorted(
            {
                c
                for rule in policy.retention
                if rule.action is RetentionAction.PASSIVE and set(rule.categories) & set(categories)
                for c in rule.clauses
            }
        )
    )


def exempt_from_exclusivity(purpose: Purpose) -> bool:
    """Rectification, the subject's own requests and lawful requests may reach any category."""
    return purpose.allowed_when_blocked or purpose.reaches_passive_tier


def check_categories(policy: Policy, subject_kind: str, categories: Collection[str]) -> None:
    """Every category must be declared for this kind of subject."""
    declared = {c.id for c in policy.categories_of(subject_kind)}
    for category in categories:
        if category not in declared:
            raise UndeclaredData(
                f"category {category!r} is not declared for subject kind {subject_kind!r} in "
                f"policy {policy.id!r}",
                hint=f"declared: {', '.join(sorted(declared))}",
            )


def check_access(
    policy: Policy,
    *,
    subject_kind: str,
    subject_status: str,
    subject_id: str,
    categories: Collection[str],
    purpose_id: str,
    actor: Actor,
    tier: str = "active",
) -> Purpose:
    """Return the purpose if the access is allowed; raise `PurposeDenied` saying why not."""
    check_categories(policy, subject_kind, categories)
    try:
        purpose = policy.purpose(purpose_id)
    except NotDeclared:
        raise PurposeDenied(
            f"purpose {purpose_id!r} is not declared in policy {policy.id!r}",
            reason="purpose_not_declared",
            # The clauses that declare the purposes are the ones this read falls outside of.
            clauses=tuple(sorted({c for p in policy.purposes for c in p.clauses})),
        ) from None
    try:
        role = policy.role(actor.role)
    except NotDeclared:
        raise PurposeDenied(
            f"role {actor.role!r} is not declared in policy {policy.id!r}",
            reason="role_not_declared",
        ) from None
    if role.id not in purpose.roles:
        raise PurposeDenied(
            f"role {role.id!r} may not process data for purpose {purpose.id!r}",
            reason="role_not_allowed",
            clauses=tuple(purpose.clauses),
        )
    for other in policy.purposes:
        if other.sole_purpose and other.id != purpose.id:
            reserved = [c for c in categories if c in other.categories]
            if reserved:
                raise PurposeDenied(
                    f"category {reserved[0]!r} may be used only for purpose {other.id!r}, "
                    f"by its roles ({', '.join(other.roles)})",
                    reason="category_reserved",
                    clauses=tuple(other.clauses),
                )
    if not exempt_from_exclusivity(purpose):
        for other in policy.purposes:
            if other.exclusive and other.id != purpose.id:
                reserved = [c for c in categories if c in other.categories]
                if reserved:
                    raise PurposeDenied(
                        f"category {reserved[0]!r} may be used only for purpose {other.id!r}",
                        reason="category_reserved",
                        clauses=tuple(other.clauses),
                    )
    outside = [c for c in categories if c not in purpose.categories]
    if outside:
        raise PurposeDenied(
            f"purpose {purpose.id!r} does not cover category {outside[0]!r}",
            reason="category_not_in_purpose",
            clauses=tuple(purpose.clauses),
        )
    if role.kind is RoleKind.SUBJECT and actor.subject_id != subject_id:
        raise PurposeDenied("a subject may only reach its own data", reason="not_own_data")
    if subject_status == "blocked" and not purpose.allowed_when_blocked:
        raise PurposeDenied(
            f"the subject is blocked: only a rectification purpose may process its data, "
            f"not {purpose.id!r}",
            reason="subject_blocked",
            clauses=right_clauses(policy, RightKind.BLOCKING),
        )
    if subject_status == "prohibited" and not (
        purpose.allowed_when_blocked or purpose.reaches_passive_tier
    ):
        raise PurposeDenied(
            "the subject has prohibited collection and processing",
            reason="subject_prohibited",
            clauses=right_clauses(policy, RightKind.PROHIBITION, RightKind.WITHDRAW_CONSENT),
        )
    if tier not in ("active", "passive"):
        raise InvalidValue(f"unknown tier {tier!r}; tiers are active, passive")
    if tier == "passive" and not purpose.reaches_passive_tier:
        raise PurposeDenied(
            f"purpose {purpose.id!r} does not reach the passive tier",
            reason="passive_tier",
            clauses=passive_clauses(policy, categories),
        )
    return purpose


@dataclass(frozen=True)
class AccessCell:
    """One cell of the access matrix: may `role`, for `purpose`, reach `category` in `tier`,
    and on which recorded facts; or why not."""

    policy_id: str
    role: str
    purpose: str
    category: str
    tier: str
    allowed: bool
    #: The facts a processing must cite (empty when denied).
    needs: tuple[str, ...]
    #: The denial's reason code (None when allowed).
    reason: str | None
    clauses: tuple[str, ...]


def access_matrix(
    policy: Policy, tiers: Collection[str] = ("active", "passive")
) -> list[AccessCell]:
    """Every role × purpose × category × tier of `policy`, decided by `check_access` for an
    active subject of the category's kind, with the facts each allowed cell needs."""
    cells = []
    for role in policy.roles:
        # A subject role reads its own data: the matrix asks about the rule, not the owner.
        actor = Actor(id="matrix", role=role.id, subject_id="subject")
        for purpose in policy.purposes:
            for category in policy.categories:
                for tier in tiers:
                    try:
                        checked = check_access(
                            policy,
                            subject_kind=category.subject,
                            subject_status="active",
                            subject_id="subject",
                            categories=[category.id],
                            purpose_id=purpose.id,
                            actor=actor,
                            tier=tier,
                        )
                    except PurposeDenied as exc:
                        cells.append(
                            AccessCell(
                                policy.id,
                                role.id,
                                purpose.id,
                                category.id,
                                tier,
                                False,
                                (),
                                exc.reason,
                                exc.clauses,
                            )
                        )
                        continue
                    facts = required_facts(policy, checked, role.kind)
                    cells.append(
                        AccessCell(
                            policy.id,
                            role.id,
                            purpose.id,
                            category.id,
                            tier,
                            True,
                            tuple(f.value for f in facts),
                            None,
                            tuple(checked.clauses),
                        )
                    )
    return cells
