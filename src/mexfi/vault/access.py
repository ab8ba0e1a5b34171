"""Purpose-bound access: may this actor, for this purpose, touch these categories?

Pure functions of the policy and the subject's state; the vault calls them
before any key is unwrapped and audits every denial.
"""

from __future__ import annotations

from collections.abc import Collection

from mexfi.policy import NotDeclared, Policy, Purpose, RetentionAction, RightKind, RoleKind
from mexfi.vault.errors import InvalidValue, PurposeDenied, UndeclaredData
from mexfi.vault.schemas import Actor

__all__ = [
    "check_access",
    "check_categories",
    "exempt_from_exclusivity",
    "passive_clauses",
    "right_clauses",
]


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
