"""HTTP routes of the policies: the loaded versions, one policy, its notice, its data map.

Mounted by `mexfi.api` under `/api/v1/policies`; the package's `__init__` does not import
this module. Any valid API key may read them: a policy is the operator's public statement.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from mexfi.deps import CallerDep, VaultDep
from mexfi.policy import check_lang, export_datamap, render_notice

__all__ = ["PolicyRead", "router"]

router = APIRouter(prefix="/policies", tags=["policies"])


class PolicyRead(BaseModel):
    """A loaded policy: which, which version, since when, and what it declares (by id)."""

    id: str
    version: str
    effective: date
    language: str
    service: dict[str, str]
    roles: list[str]
    subjects: list[str]
    categories: list[str]
    purposes: list[str]


def _read(policy: Any) -> PolicyRead:
    info = policy.policy
    return PolicyRead(
        id=info.id,
        version=info.version,
        effective=info.effective,
        language=str(info.language),
        service=info.service.model_dump(exclude_none=True),
        roles=[r.id for r in policy.roles],
        subjects=[s.id for s in policy.subjects],
        categories=[c.id for c in policy.categories],
        purposes=[p.id for p in policy.purposes],
    )


@router.get("", summary="The loaded policies")
def list_policies(vault: VaultDep, caller: CallerDep) -> list[PolicyRead]:
    return [_read(vault.policies[k]) for k in sorted(vault.policies)]


@router.get("/{policy_id}", summary="One policy")
def get_policy(policy_id: str, vault: VaultDep, caller: CallerDep) -> PolicyRead:
    return _read(vault.policy(policy_id))


@router.get(
    "/{policy_id}/notice/{lang}",
    summary="The privacy notice in a language (az, en, ru), as Markdown or HTML",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def get_notice(
    policy_id: str,
    lang: str,
    vault: VaultDep,
    caller: CallerDep,
    format: Literal["md", "html"] = "md",
) -> Response:
    text = render_notice(vault.policy(policy_id), lang=check_lang(lang), format=format)
    media = "text/markdown" if format == "md" else "text/html"
    return Response(text, media_type=f"{media}; charset=utf-8")


@router.get("/{policy_id}/datamap", summary="The data map (categories, purposes, recipients)")
def get_datamap(policy_id: str, vault: VaultDep, caller: CallerDep) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(export_datamap(vault.policy(policy_id), format="json"))
    return data
