"""HTTP routes of the policies: the loaded versions, one policy, its notice (each serving
recorded), its registered versions, its data map.

Mounted by `mexfi.api` under `/api/v1/policies`; the package's `__init__` does not import
this module. Any valid API key may read them: a policy is the operator's public statement.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from mexfi.consent import (
    VERSION_PATTERN,
    PolicyVersionRead,
    ServedNoticeKind,
    list_versions,
    register_policy_version,
    serve_notice,
    version_notice,
)
from mexfi.deps import CallerDep, UnitOfWorkDep, VaultDep
from mexfi.policy import check_lang, export_datamap, render_notice

__all__ = ["SERVED_NOTICE_HEADER", "PolicyRead", "router"]

#: The response header naming the served notice's id.
SERVED_NOTICE_HEADER = "X-Mexfi-Served-Notice"

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
    summary="The privacy notice in a language (az, en, ru), as Markdown or HTML; each serving "
    "is recorded, its id in the X-Mexfi-Served-Notice header (an acceptance cites it)",
    response_class=Response,
    responses={
        200: {
            "content": {"text/markdown": {}, "text/html": {}},
            "headers": {
                SERVED_NOTICE_HEADER: {
                    "description": "The id of this serving: the text, policy version and "
                    "language on record, for the acceptance that follows to cite.",
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
def get_notice(
    policy_id: str,
    lang: str,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    format: Literal["md", "html"] = "md",
    version: Annotated[
        str | None,
        Query(
            pattern=VERSION_PATTERN,
            description="A registered version (GET /policies/{policy_id}/versions), served as "
            "it was posted; default: the loaded policy, rendered now.",
        ),
    ] = None,
) -> Response:
    policy = vault.policy(policy_id)
    lang = check_lang(lang)
    at = vault.clock.now()
    # The loaded policy is registered (as opening the store does): the notice served is
    # always of a version on record.
    loaded, _ = register_policy_version(uow, policy, at=at)
    if version is None:
        version = loaded.version
        text = render_notice(policy, lang=lang, format=format)
    else:
        text = version_notice(uow, policy_id=policy.id, version=version, lang=lang, format=format)
    media = f"{'text/markdown' if format == 'md' else 'text/html'}; charset=utf-8"
    served = serve_notice(
        uow,
        policy_id=policy.id,
        version=version,
        kind=ServedNoticeKind.POLICY,
        language=lang,
        text=text,
        at=at,
        media_type=media,
    )
    return Response(text, media_type=media, headers={SERVED_NOTICE_HEADER: served})


@router.get("/{policy_id}/versions", summary="The registered versions of a policy (BK-7.3)")
def get_versions(
    policy_id: str, vault: VaultDep, uow: UnitOfWorkDep, caller: CallerDep
) -> list[PolicyVersionRead]:
    register_policy_version(uow, vault.policy(policy_id), at=vault.clock.now())
    return list_versions(uow, policy_id=policy_id)


@router.get("/{policy_id}/datamap", summary="The data map (categories, purposes, recipients)")
def get_datamap(policy_id: str, vault: VaultDep, caller: CallerDep) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(export_datamap(vault.policy(policy_id), format="json"))
    return data
