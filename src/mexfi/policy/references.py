"""Cross-reference checks: every id a policy element names must be declared."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from mexfi.policy.schema import Policy

__all__ = ["Problem", "reference_problems"]

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]
"""Where in the document (a path of keys and indexes) and what is wrong there."""


def _duplicates(kind: str, key: str, ids: list[str]) -> Iterator[Problem]:
    for item, count in Counter(ids).items():
        if count > 1:
            # Point at the second declaration: the first one is the one that stands.
            second = ids.index(item, ids.index(item) + 1)
            yield (key, second, "id"), f"{kind} id {item!r} is declared {count} times"


def reference_problems(policy: Policy) -> list[Problem]:
    """Every dangling or duplicated id in `policy`, with its location."""
    problems: list[Problem] = []
    roles = [r.id for r in policy.roles]
    subjects = [s.id for s in policy.subjects]
    categories = [c.id for c in policy.categories]
    purposes = [p.id for p in policy.purposes]
    problems += _duplicates("role", "roles", roles)
    problems += _duplicates("subject", "subjects", subjects)
    problems += _duplicates("category", "categories", categories)
    problems += _duplicates("purpose", "purposes", purposes)
    problems += _duplicates("retention rule", "retention", [r.id for r in policy.retention])
    problems += _duplicates("recipient", "recipients", [r.id for r in policy.recipients])
    problems += _duplicates("cookie category", "cookies", [c.id for c in policy.cookies])
    problems += _duplicates("notification", "notifications", [n.id for n in policy.notifications])

    def check(loc: Loc, kind: str, value: str, declared: list[str], where: str) -> None:
        if value not in declared:
            known = ", ".join(declared) or "none"
            problems.append((loc, f"undeclared {kind} {value!r}; declared {where}: {known}"))

    for i, category in enumerate(policy.categories):
        check(("categories", i, "subject"), "subject", category.subject, subjects, "subjects")
    for i, purpose in enumerate(policy.purposes):
        for j, ref in enumerate(purpose.categories):
            check(("purposes", i, "categories", j), "category", ref, categories, "categories")
        for j, ref in enumerate(purpose.roles):
            check(("purposes", i, "roles", j), "role", ref, roles, "roles")
    for i, rule in enumerate(policy.retention):
        for j, ref in enumerate(rule.categories):
            check(("retention", i, "categories", j), "category", ref, categories, "categories")
    for i, recipient in enumerate(policy.recipients):
        for j, ref in enumerate(recipient.purposes):
            check(("recipients", i, "purposes", j), "purpose", ref, purposes, "purposes")
        for j, ref in enumerate(recipient.categories):
            check(("recipients", i, "categories", j), "category", ref, categories, "categories")
        for j, ref in enumerate(recipient.purposes):
            if ref in purposes:
                missing = set(recipient.categories) - set(policy.purpose(ref).categories)
                if missing:
                    problems.append(
                        (
                            ("recipients", i, "purposes", j),
                            f"purpose {ref!r} does not cover categories "
                            f"{', '.join(sorted(missing))} that recipient "
                            f"{recipient.id!r} receives",
                        )
                    )
    for name in ("subject_request", "rectification"):
        check(
            ("requests", "purposes", name),
            "purpose",
            getattr(policy.requests.purposes, name),
            purposes,
            "purposes",
        )
    if policy.geolocation is not None:
        for j, ref in enumerate(policy.geolocation.categories):
            check(("geolocation", "categories", j), "category", ref, categories, "categories")
    if policy.mobile_operator is not None:
        check(
            ("mobile_operator", "category"),
            "category",
            policy.mobile_operator.category,
            categories,
            "categories",
        )
    return problems
