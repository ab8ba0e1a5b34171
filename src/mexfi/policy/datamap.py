"""The data map of a policy: what is held, why, for whom and for how long.

Two formats:

- `json`: mexfi's own data map (categories, purposes, recipients, retention), every
  element with the clause ids it implements;
- `fides`: a Fides manifest (fideslang 2.x resources): one `system` with a privacy
  declaration per purpose, and one `dataset` with a collection per category, so an
  operator can load the map into Fides (`fides push`) and evaluate it there.

Fides only knows the keys of its taxonomy: a policy using a data category, data use
or data subject outside the fideslang default taxonomy (`fideslang.py`) cannot be
exported to it, and `unknown_fides_keys` says which keys are at fault.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml

from mexfi.errors import Invalid
from mexfi.policy.fideslang import (
    DATA_CATEGORIES,
    DATA_SUBJECTS,
    DATA_USES,
    FIDESLANG_VERSION,
    is_fides_key,
)
from mexfi.policy.render import retention_phrase
from mexfi.policy.schema import Category, LegalBasis, Policy, Purpose, Text

__all__ = ["DATAMAP_FORMATS", "export_datamap", "fides_categories", "unknown_fides_keys"]

DATAMAP_FORMATS: tuple[str, ...] = ("json", "fides")

#: fideslang `LegalBasisForProcessingEnum` values (GDPR art. 6 names).
_FIDES_LEGAL_BASIS = {
    LegalBasis.CONSENT: "Consent",
    LegalBasis.CONTRACT: "Contract",
    LegalBasis.LEGAL_OBLIGATION: "Legal obligations",
    LegalBasis.LEGITIMATE_INTERESTS: "Legitimate interests",
}


def export_datamap(policy: Policy, *, format: str) -> str:
    """The data map of `policy` as `json` or a `fides` manifest (YAML)."""
    if format == "json":
        return json.dumps(_json_map(policy), ensure_ascii=False, indent=2) + "\n"
    if format == "fides":
        return _fides_manifest(policy)
    raise Invalid(f"unknown data map format {format!r}; allowed: {', '.join(DATAMAP_FORMATS)}")


# --------------------------------------------------------------------------- taxonomy


def fides_categories(category: Category) -> list[str]:
    """The fideslang data categories of a category: its own and its fields', sorted."""
    keys = {category.fides_category}
    keys.update(f.fides_category for f in category.fields if f.fides_category)
    return sorted(keys)


def _fides_key_uses(policy: Policy) -> list[tuple[str, str, str]]:
    """Every fideslang key the policy uses: (kind, key, where)."""
    uses: list[tuple[str, str, str]] = []
    for subject in policy.subjects:
        uses.append(("data subject", subject.fides_subject, f"subjects[{subject.id}]"))
    for category in policy.categories:
        uses.append(("data category", category.fides_category, f"categories[{category.id}]"))
        for item in category.fields:
            if item.fides_category:
                where = f"categories[{category.id}].fields[{item.name}]"
                uses.append(("data category", item.fides_category, where))
    for purpose in policy.purposes:
        uses.append(("data use", purpose.fides_data_use, f"purposes[{purpose.id}]"))
    return uses


_TAXONOMY = {"data category": DATA_CATEGORIES, "data use": DATA_USES, "data subject": DATA_SUBJECTS}


def unknown_fides_keys(policy: Policy) -> list[str]:
    """The data category, data use and data subject keys of `policy` not in fideslang."""
    return sorted({key for kind, key, _ in _fides_key_uses(policy) if key not in _TAXONOMY[kind]})


def _check_taxonomy(policy: Policy) -> None:
    unknown = [
        f"{kind} {key!r} at {where}"
        for kind, key, where in _fides_key_uses(policy)
        if key not in _TAXONOMY[kind]
    ]
    if unknown:
        raise Invalid(
            f"policy {policy.id} uses {len(unknown)} key(s) outside the fideslang "
            f"{FIDESLANG_VERSION} default taxonomy: " + "; ".join(unknown),
            hint="use a key of the default taxonomy (see mexfi/policy/fideslang.py)",
        )


# --------------------------------------------------------------------------- json


def _text(text: Text) -> dict[str, str]:
    return {"az": text.az, "en": text.en, "ru": text.ru}


def _json_map(policy: Policy) -> dict[str, Any]:
    info = policy.policy
    operator = policy.operator
    return {
        "policy": {
            "id": info.id,
            "service": _text(info.service),
            "version": info.version,
            "effective": info.effective.isoformat(),
            "language": info.language,
            "clauses": list(info.clauses),
        },
        "operator": {
            "name": operator.name,
            "tin": operator.tin,
            "address": operator.address,
            "email": operator.email,
            "phone": operator.phone,
            "website": operator.website,
            "jurisdiction": operator.jurisdiction,
            "clauses": list(operator.clauses),
        },
        "subjects": [
            {
                "id": s.id,
                "title": _text(s.title),
                "fides_subject": s.fides_subject,
                "clauses": list(s.clauses),
            }
            for s in policy.subjects
        ],
        "categories": [_json_category(c) for c in policy.categories],
        "purposes": [_json_purpose(p) for p in policy.purposes],
        "recipients": [
            {
                "id": r.id,
                "title": _text(r.title),
                "kind": r.kind.value,
                "purposes": list(r.purposes),
                "categories": list(r.categories),
                "basis": r.basis.value,
                "condition": r.condition,
                "clauses": list(r.clauses),
            }
            for r in policy.recipients
        ],
        "retention": [
            {
                "id": r.id,
                "title": _text(r.title),
                "categories": list(r.categories),
                "trigger": r.trigger.value,
                "after": str(r.after),
                "deadline": str(r.deadline) if r.deadline else None,
                "action": r.action.value,
                "clauses": list(r.clauses),
            }
            for r in policy.retention
        ],
    }


def _json_category(category: Category) -> dict[str, Any]:
    return {
        "id": category.id,
        "subject": category.subject,
        "title": _text(category.title),
        "personal": category.personal,
        "sensitivity": category.sensitivity.value,
        "mandatory": category.mandatory,
        "multiple": category.multiple,
        "source": category.source,
        "fides_category": category.fides_category,
        "fides_categories": fides_categories(category),
        "fields": [
            {
                "name": f.name,
                "title": _text(f.title),
                "type": f.type.value,
                "required": f.required,
                "identifiability": f.identifiability.value,
                "fides_category": f.fides_category or category.fides_category,
            }
            for f in category.fields
        ],
        "clauses": list(category.clauses),
    }


def _json_purpose(purpose: Purpose) -> dict[str, Any]:
    return {
        "id": purpose.id,
        "title": _text(purpose.title),
        "legal_basis": purpose.legal_basis.value,
        "fides_data_use": purpose.fides_data_use,
        "categories": list(purpose.categories),
        "roles": list(purpose.roles),
        "exclusive": purpose.exclusive,
        "requires_active_order": purpose.requires_active_order,
        "allowed_when_blocked": purpose.allowed_when_blocked,
        "reaches_passive_tier": purpose.reaches_passive_tier,
        "clauses": list(purpose.clauses),
    }


# --------------------------------------------------------------------------- fides


def _fides_key(*parts: str) -> str:
    # Dots separate dataset and collection in Fides references ("dataset.collection"),
    # so they may not appear inside one key.
    key = "_".join(parts).replace(".", "_")
    if not is_fides_key(key):  # unreachable for a valid policy id; a guard, not a rule
        raise Invalid(f"{key!r} is not a valid Fides key")
    return key


def _cited(clauses: Iterable[str]) -> str:
    return f"[{', '.join(clauses)}]"


def _fides_manifest(policy: Policy) -> str:
    _check_taxonomy(policy)
    info = policy.policy
    operator = policy.operator
    service = info.service.en
    system_key = _fides_key(info.id, "system")
    dataset_key = _fides_key(info.id, "dataset")
    subjects = {s.id: s.fides_subject for s in policy.subjects}
    retention: dict[str, list[str]] = {}
    for rule in policy.retention:
        phrase = retention_phrase(policy, rule, lang="en")
        for category_id in rule.categories:
            retention.setdefault(category_id, []).append(f"{phrase} {_cited(rule.clauses)}")

    declarations = []
    for purpose in policy.purposes:
        categories = [policy.category(c) for c in purpose.categories]
        declaration: dict[str, Any] = {
            "name": f"{purpose.title.en} ({purpose.id})",
            "data_use": purpose.fides_data_use,
            "data_categories": sorted({k for c in categories for k in fides_categories(c)}),
            "data_subjects": sorted({subjects[c.subject] for c in categories}),
            "dataset_references": [dataset_key],
            "legal_basis_for_processing": _FIDES_LEGAL_BASIS[purpose.legal_basis],
        }
        shared = [r for r in policy.recipients if purpose.id in r.purposes]
        if any(r.kind.value in ("third_party", "counterpart") for r in shared):
            declaration["data_shared_with_third_parties"] = True
            declaration["third_parties"] = "; ".join(r.title.en for r in shared)
        declarations.append(declaration)

    system: dict[str, Any] = {
        "fides_key": system_key,
        "name": service,
        "description": (
            f"{service}: personal data held as the privacy policy {info.id} "
            f"version {info.version} (effective {info.effective.isoformat()}) promises."
        ),
        "system_type": "Service",
        "legal_name": operator.name,
    }
    if operator.address:
        system["legal_address"] = operator.address
    if operator.email:
        system["dpo"] = operator.email
    if info.url:
        system["privacy_policy"] = info.url
    system["dataset_references"] = [dataset_key]
    system["privacy_declarations"] = declarations

    collections = []
    for category in policy.categories:
        collection: dict[str, Any] = {
            "name": category.id,
            "description": f"{category.title.en} {_cited(category.clauses)}",
        }
        if category.id in retention:
            collection["retention"] = "; ".join(retention[category.id])
        collection["fields"] = [
            {
                "name": item.name,
                "description": item.title.en,
                "data_categories": [item.fides_category or category.fides_category],
            }
            for item in category.fields
        ]
        collections.append(collection)
    dataset = {
        "fides_key": dataset_key,
        "name": f"{service} data",
        "description": (
            f"The data categories of {service} as declared by policy {info.id} "
            f"version {info.version}; one collection per category."
        ),
        "collections": collections,
    }
    header = (
        f"# Fides manifest (fideslang {FIDESLANG_VERSION} resources) of policy {info.id} "
        f"version {info.version}, exported by mexfi.\n"
    )
    body = yaml.safe_dump(
        {"system": [system], "dataset": [dataset]},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return header + body
