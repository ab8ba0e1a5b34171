"""The cookie banner (BK-5.1, TX-18, TX-19) and Global Privacy Control: public HTTP routes.

An operator's site embeds the banner with one tag; the script loads its stylesheet, its
texts and the device's state from these routes:

    <script src="https://mexfi.example/api/v1/consent/banner/banner.js"
            data-policy="taxsee_driver" defer></script>

Attributes of the tag: `data-policy` (required), `data-api` (the API base, default: the
script's own URL less `/consent/banner/banner.js`), `data-notice` (a link to the privacy
notice, shown in the banner), `data-settings="off"` (no floating "cookie settings" button;
any element with `data-mexfi-open` also reopens the banner). The page writes the scripts of
every category but the strictly necessary as

    <script type="text/plain" data-category="performance" data-cookies="_ga _gid_*">…</script>

and they run (cloned into real scripts; `data-type` gives a type such as `module`) only once
their category is allowed. `data-cookies` names the cookies the category sets (`prefix*`
matches a prefix); so may `window.mexfiCookies = {"advertising": ["_fbp", "ads_*"]}`. The
cookies of a category that is not allowed are deleted on every load (every path up from the
page, every parent domain). `window.mexfiConsent` has `open()`, `allowed(category)` and
`ready` (a promise); a `mexfi:consent` event on `document` carries the allowed categories.

Texts: the language is the page's `<html lang>`, else the browser's, else the policy's;
categories' titles and descriptions are the policy's own, the banner's words `UI_TEXTS`.

Before a choice no cookie is set. A choice sets `mexfi_device` (a random 128-bit id,
base64url) and `mexfi_consent` (the revision and the choices) as first-party cookies, and is
recorded in the consent ledger under the device's pseudonym
(`vault.value_pseudonym("DEVICE", id)`; the id travels only in bodies, never in a URL) with
method `accept_all`, `reject_all`, `save` or `gpc`, source `banner`, the language shown and
a served notice: the exact texts shown (their digest comes back with the choice and must be
the current one) are kept by `serve_notice` and the entries cite its id.

The cookie section's revision is the hash of the policy's `cookies` (as the registered
policy versions hash it). A choice holds for the revision it was made under: an entry of
another policy version counts only if that version's cookie section is the same, so a new
revision asks again.

Global Privacy Control: a `Sec-GPC: 1` header on any of these requests, or the script's
`navigator.globalPrivacyControl`, opts the device out of the advertising and performance
categories (`GPC_CATEGORIES`, by id, where the policy declares them and asks consent for
them), recorded with method `gpc`. While the signal is on, Accept all leaves those
categories off, and a choice about one of them in the banner is an answer to the signal
(method `gpc`). An explicit opt-in made before the signal is not overridden silently: the
banner asks once (a `conflict`), the category stays off until the answer, and the answer
is recorded with method `gpc` (and so is not asked again).

The routes take no API key (they run in a visitor's browser). Cross-origin requests are
answered only for the origins `MEXFI_BANNER_ORIGINS` lists (a comma list such as
`https://taxsee.az,https://www.bakikart.az`). Bodies are bounded (`MAX_BODY` bytes, else
413) and strictly validated (422 problem+json, never echoing what was sent).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Callable, Coroutine
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.requests import Request
from starlette.types import Message, Receive

from mexfi.consent import (
    Choice,
    ChoiceInput,
    ConsentEntry,
    HolderKind,
    Method,
    NoticeKind,
    Source,
    ledger_entries,
    record_choices,
)
from mexfi.consent.versions import (
    PolicyVersionNotFound,
    ServedNoticeKind,
    canonical_policy,
    get_version,
    serve_notice,
)
from mexfi.db import UnitOfWork
from mexfi.deps import UnitOfWorkDep, VaultDep
from mexfi.errors import Conflict, Denied, Invalid
from mexfi.policy import LANGS, CookieCategory, Lang, Policy
from mexfi.vault import Vault

__all__ = [
    "DEVICE_ID_PATTERN",
    "GPC_CATEGORIES",
    "MAX_BODY",
    "ORIGINS_ENV",
    "UI_TEXTS",
    "BannerAction",
    "BannerCategory",
    "BannerChoice",
    "BannerChoiceInvalid",
    "BannerConfig",
    "BannerOutdated",
    "BannerState",
    "DeviceIn",
    "OriginNotAllowed",
    "allowed_origins",
    "banner_text",
    "banner_texts",
    "cookie_revision",
    "router",
]

#: The cookie categories a Global Privacy Control signal opts out of, by id.
GPC_CATEGORIES = frozenset({"advertising", "performance"})
#: What the script makes: 128 random bits as base64url (22 characters) or hex (32).
DEVICE_ID_PATTERN = r"^(?:[A-Za-z0-9_-]{22}|[0-9a-f]{32})$"
#: Bytes of a request body the banner's routes read; a larger one is refused (413).
MAX_BODY = 4096
ORIGINS_ENV = "MEXFI_BANNER_ORIGINS"

#: The banner's own words; the categories' titles and descriptions are the policy's.
UI_TEXTS: dict[str, dict[Lang, str]] = {
    "title": {
        "az": "Bu saytda kuki faylları",
        "en": "Cookies on this site",
        "ru": "Файлы cookie на этом сайте",
    },
    "intro": {
        "az": "Saytın işləməsi üçün ciddi zəruri kuki fayllarından istifadə edirik. Digər "
        "kateqoriyalardan yalnız sizin razılığınızla istifadə olunur. Seçiminizi istənilən "
        "vaxt dəyişə bilərsiniz.",
        "en": "We use strictly necessary cookies to make this site work. The other categories "
        "are used only with your consent. You can change your choice at any time.",
        "ru": "Мы используем строго необходимые файлы cookie, без которых сайт не работает. "
        "Остальные категории используются только с вашего согласия. Вы можете изменить "
        "выбор в любое время.",
    },
    "accept_all": {"az": "Hamısını qəbul et", "en": "Accept all", "ru": "Принять все"},
    "reject_all": {"az": "Hamısını rədd et", "en": "Reject all", "ru": "Отклонить все"},
    "customize": {"az": "Seçim et", "en": "Choose", "ru": "Настроить"},
    "save": {"az": "Seçimi yadda saxla", "en": "Save choices", "ru": "Сохранить выбор"},
    "always_on": {"az": "Həmişə aktiv", "en": "Always on", "ru": "Всегда включены"},
    "settings": {"az": "Kuki ayarları", "en": "Cookie settings", "ru": "Настройки cookie"},
    "notice": {
        "az": "Məxfilik siyasəti",
        "en": "Privacy notice",
        "ru": "Политика конфиденциальности",
    },
    "gpc_note": {
        "az": "Brauzeriniz Global Privacy Control siqnalı göndərir: {categories} söndürülüb.",
        "en": "Your browser sends a Global Privacy Control signal: {categories} stay off.",
        "ru": "Ваш браузер передаёт сигнал Global Privacy Control: {categories} выключены.",
    },
    "gpc_title": {
        "az": "Global Privacy Control",
        "en": "Global Privacy Control",
        "ru": "Global Privacy Control",
    },
    "gpc_conflict": {
        "az": "Brauzeriniz indi Global Privacy Control siqnalı göndərir (məlumatlarımı satmayın "
        "və paylaşmayın), lakin əvvəllər bunlara icazə vermişdiniz: {categories}. İcazə "
        "qalsın?",
        "en": "Your browser now sends a Global Privacy Control signal (do not sell or share my "
        "data), but earlier you allowed: {categories}. Keep them allowed?",
        "ru": "Ваш браузер теперь передаёт сигнал Global Privacy Control (не продавать и не "
        "передавать мои данные), но ранее вы разрешили: {categories}. Оставить разрешение?",
    },
    "gpc_keep": {"az": "İcazə qalsın", "en": "Keep allowed", "ru": "Оставить"},
    "gpc_turn_off": {"az": "Söndür", "en": "Turn off", "ru": "Выключить"},
}


# ------------------------------------------------------------------ errors


class BannerOutdated(Conflict):
    """The banner shown was not the current one (another cookie revision, other texts)."""


class OriginNotAllowed(Denied):
    """A cross-origin request from an origin `MEXFI_BANNER_ORIGINS` does not list."""


class BannerChoiceInvalid(Invalid):
    """A choice naming no category that needs consent, or a save leaving one out."""


# ------------------------------------------------------------------ the policy's side


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cookie_revision(policy: Policy) -> str:
    """The revision of the policy's cookie section: the SHA-256 (hex) of its canonical JSON,
    as the registered policy versions hash it (`PolicyVersionRead.cookie_revision`)."""
    return _sha256(_canonical(json.loads(canonical_policy(policy)).get("cookies", [])))


def _optional(policy: Policy) -> list[CookieCategory]:
    return [c for c in policy.cookies if c.consent_required]


def _gpc(policy: Policy) -> list[str]:
    return [c.id for c in _optional(policy) if c.id in GPC_CATEGORIES]


def _language(policy: Policy, wanted: str | None) -> Lang:
    """The first of the wanted languages (`ru-RU,en`) the banner speaks, else the policy's."""
    for tag in (wanted or "").split(","):
        code = tag.strip()[:2].lower()
        for lang in LANGS:
            if code == lang:
                return lang
    return policy.policy.language


def banner_texts(policy: Policy, lang: Lang) -> dict[str, Any]:
    """Everything the banner shows in `lang` under the current cookie revision."""
    gpc = set(_gpc(policy))
    return {
        "policy_id": policy.id,
        "revision": cookie_revision(policy),
        "language": lang,
        "categories": [
            {
                "id": c.id,
                "title": c.title(lang),
                "description": c.description(lang),
                "required": not c.consent_required,
                "gpc": c.id in gpc,
            }
            for c in policy.cookies
        ],
        "texts": {key: words[lang] for key, words in UI_TEXTS.items()},
    }


def banner_text(policy: Policy, lang: Lang) -> str:
    """The exact text the banner serves in `lang` (canonical JSON of `banner_texts`): what
    its digest covers and the served notice keeps."""
    return _canonical(banner_texts(policy, lang))


# ------------------------------------------------------------------ schemas

DeviceId = Annotated[
    str,
    Field(
        pattern=DEVICE_ID_PATTERN,
        description="The device's random id (its `mexfi_device` cookie): 22 base64url "
        "characters or 32 hex digits. Sent only in bodies.",
    ),
]
CategoryId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
LangWanted = Annotated[
    str | None,
    Field(
        max_length=64,
        description="The languages the page and the browser prefer, first first (`ru,en-US`).",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BannerCategory(BaseModel):
    """One cookie category as the banner shows it."""

    id: str
    title: str
    description: str
    required: bool = Field(description="Strictly necessary: always on, no choice.")
    gpc: bool = Field(description="A Global Privacy Control signal opts out of it.")


class BannerConfig(BaseModel):
    """What the banner shows, in one language, under the cookie section's current revision."""

    policy_id: str
    policy_version: str
    revision: str = Field(description="The hash of the policy's cookie section.")
    language: Lang
    languages: list[Lang]
    digest: str = Field(description="SHA-256 of exactly these texts: send it with a choice.")
    gpc: bool = Field(description="Whether this request carried `Sec-GPC: 1`.")
    categories: list[BannerCategory]
    texts: dict[str, str]


class DeviceIn(_Body):
    device_id: DeviceId
    gpc: bool = Field(False, description="The page's `navigator.globalPrivacyControl`.")
    lang: LangWanted = None


class BannerAction(StrEnum):
    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    SAVE = "save"
    #: The answer to the GPC question (an earlier opt-in against the signal).
    GPC = "gpc"


class BannerChoice(_Body):
    device_id: DeviceId
    action: BannerAction
    choices: dict[CategoryId, bool] = Field(
        default_factory=dict,
        max_length=32,
        description="save: every category that needs consent → allowed; gpc: the categories "
        "asked about → allowed; else empty.",
    )
    revision: Sha256 = Field(description="The config's revision.")
    digest: Sha256 = Field(description="The config's digest (the texts shown).")
    language: Lang = Field(description="The config's language (the one shown).")
    gpc: bool = Field(False, description="The page's `navigator.globalPrivacyControl`.")


class BannerState(BaseModel):
    """A device's choices as the banner applies them."""

    revision: str
    decided: bool = Field(
        description="Every category that needs consent has a choice under this revision "
        "(else the banner asks)."
    )
    allowed: dict[str, bool] = Field(
        description="Category → whether its scripts run and its cookies stay."
    )
    gpc: bool = Field(description="Whether a Global Privacy Control signal was seen.")
    gpc_off: list[str] = Field(description="Categories the signal keeps off.")
    conflicts: list[str] = Field(
        description="Categories opted in before the signal, not asked about yet (off until "
        "answered)."
    )
    recorded: bool = Field(description="Whether this request wrote to the ledger.")


# ------------------------------------------------------------------ the device's state


def _current(uow: UnitOfWork, policy: Policy, holder: str) -> dict[str, ConsentEntry]:
    """The latest cookie entry of each category, of those made under this cookie revision."""
    latest: dict[str, ConsentEntry] = {}
    for entry in ledger_entries(uow, policy_id=policy.id, holder=holder):
        if entry.kind is NoticeKind.COOKIE:
            latest[entry.notice] = entry
    revision = cookie_revision(policy)
    revisions = {policy.policy.version: revision}

    def revision_of(version: str) -> str | None:
        if version not in revisions:
            try:
                found = get_version(uow, policy_id=policy.id, version=version)
                revisions[version] = found.cookie_revision
            except PolicyVersionNotFound:
                return None  # unknown cookie section: ask again
        return revisions[version]

    return {n: e for n, e in latest.items() if revision_of(e.policy_version) == revision}


def _state(
    policy: Policy, current: dict[str, ConsentEntry], *, gpc: bool, recorded: bool
) -> BannerState:
    conflicts = [
        c
        for c in _gpc(policy)
        if gpc
        and c in current
        and current[c].choice is Choice.OPT_IN
        and current[c].method is not Method.GPC
    ]
    allowed = {
        c.id: not c.consent_required
        or (c.id in current and current[c.id].choice is Choice.OPT_IN and c.id not in conflicts)
        for c in policy.cookies
    }
    return BannerState(
        revision=cookie_revision(policy),
        decided=all(c.id in current for c in _optional(policy)),
        allowed=allowed,
        gpc=gpc,
        gpc_off=[c for c in _gpc(policy) if gpc and not allowed[c] and c not in conflicts],
        conflicts=conflicts,
        recorded=recorded,
    )


def _record(
    uow: UnitOfWork,
    vault: Vault,
    policy: Policy,
    holder: str,
    choices: dict[str, bool],
    *,
    method: Method,
    language: Lang,
    served_notice_id: str | None,
) -> None:
    if not choices:
        return
    record_choices(
        uow,
        policy=policy,
        holder=holder,
        holder_kind=HolderKind.DEVICE,
        choices=[
            ChoiceInput(NoticeKind.COOKIE, c, Choice.OPT_IN if on else Choice.OPT_OUT)
            for c, on in choices.items()
        ],
        method=method,
        source=Source.BANNER,
        language=language,
        # The person at the device acted: the ledger and the audit log name its pseudonym.
        actor_id=holder,
        at=vault.clock.now(),
        served_notice_id=served_notice_id,
    )


def _honour_gpc(uow: UnitOfWork, vault: Vault, policy: Policy, holder: str, language: Lang) -> bool:
    """Opt the device out of the GPC categories it has no choice about; whether it did."""
    current = _current(uow, policy, holder)
    unset = {c: False for c in _gpc(policy) if c not in current}
    # Nothing was shown: the signal is the choice, so no served notice is cited.
    _record(
        uow, vault, policy, holder, unset,
        method=Method.GPC, language=language, served_notice_id=None,
    )  # fmt: skip
    return bool(unset)


# ------------------------------------------------------------------ CORS


def allowed_origins() -> frozenset[str]:
    """The origins `MEXFI_BANNER_ORIGINS` lists (none by default)."""
    raw = os.environ.get(ORIGINS_ENV, "")
    return frozenset(o.strip().rstrip("/").lower() for o in raw.split(",") if o.strip())


def _allowed(origin: str | None) -> bool:
    return origin is not None and origin.rstrip("/").lower() in allowed_origins()


class _TooLarge(HTTPException):
    """A body past `MAX_BODY` (raised while it is read: the problem handler answers 413)."""

    def __init__(self) -> None:
        super().__init__(413, f"the body is larger than {MAX_BODY} bytes")


def _bounded(receive: Receive, declared: str | None) -> Receive:
    """`receive` refusing a body past `MAX_BODY`, declared or sent."""
    read = 0

    async def bounded() -> Message:
        nonlocal read
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            raise _TooLarge
        message = await receive()
        read += len(message.get("body", b""))
        if read > MAX_BODY:
            raise _TooLarge
        return message

    return bounded


async def _answer(request: Request, exc: Exception) -> Response:
    """The answer the app's own handler of `exc` gives (the problem handler)."""
    handlers = request.app.exception_handlers
    for kind in type(exc).__mro__:
        if kind in handlers:
            answer = handlers[kind](request, exc)
            if inspect.isawaitable(answer):
                answer = await answer
            assert isinstance(answer, Response)
            return answer
    raise exc


class _BannerRoute(APIRoute):
    """A route of the banner: a bounded body, and CORS for the allowed origins (problems
    included, answered by the app's handler here so that they carry the header)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            inner = Request(
                request.scope, _bounded(request.receive, request.headers.get("content-length"))
            )
            origin = request.headers.get("origin")
            if origin is None or not _allowed(origin):
                return await handler(inner)
            try:
                response = await handler(inner)
            except Exception as exc:
                response = await _answer(inner, exc)
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers.add_vary_header("Origin")
            return response

        return route


#: Included by `mexfi.consent.views` (under `/consent`): `/api/v1/consent/banner/…`.
router = APIRouter(prefix="/banner", tags=["consent banner"], route_class=_BannerRoute)

_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {
        "description": f"A body larger than {MAX_BODY} bytes",
        "content": {"application/problem+json": {"schema": {"type": "object"}}},
    }
}
SecGpc = Annotated[
    str | None,
    Header(
        alias="Sec-GPC",
        max_length=8,
        description="Global Privacy Control: `1` opts out of advertising and performance.",
    ),
]
Origin = Annotated[str | None, Header(alias="Origin", max_length=200)]


def _holder(vault: Vault, device_id: str) -> str:
    # 96 bits: 8 hex digits (the default) would collide among a few ten thousand devices.
    return vault.value_pseudonym("DEVICE", device_id, digest_chars=24)


def _sec_gpc(value: str | None) -> bool:
    return value is not None and value.strip() == "1"


# ------------------------------------------------------------------ routes


@cache
def _asset(name: str) -> bytes:
    return (resources.files("mexfi.consent") / "static" / name).read_bytes()


@router.get(
    "/banner.js",
    summary="The banner script (one tag: data-policy names the policy)",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {"schema": {"type": "string"}}}}},
)
def banner_js() -> Response:
    return Response(_asset("banner.js"), media_type="text/javascript; charset=utf-8")


@router.get(
    "/banner.css",
    summary="The banner's stylesheet (the script loads it)",
    response_class=Response,
    responses={200: {"content": {"text/css": {"schema": {"type": "string"}}}}},
)
def banner_css() -> Response:
    return Response(_asset("banner.css"), media_type="text/css; charset=utf-8")


@router.get("/{policy_id}/config", summary="The banner's categories, texts and cookie revision")
def banner_config(
    policy_id: str,
    vault: VaultDep,
    sec_gpc: SecGpc = None,
    lang: Annotated[LangWanted, Query()] = None,
) -> BannerConfig:
    policy = vault.policy(policy_id)
    lang_shown = _language(policy, lang)
    texts = banner_texts(policy, lang_shown)
    return BannerConfig(
        policy_id=policy.id,
        policy_version=policy.policy.version,
        revision=texts["revision"],
        language=lang_shown,
        languages=list(LANGS),
        digest=_sha256(banner_text(policy, lang_shown)),
        gpc=_sec_gpc(sec_gpc),
        categories=[BannerCategory(**c) for c in texts["categories"]],
        texts=texts["texts"],
    )


@router.post(
    "/{policy_id}/state",
    summary="A device's cookie choices (the device id in the body); honours GPC",
    responses=_TOO_LARGE,
)
def banner_state(
    policy_id: str,
    body: DeviceIn,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    sec_gpc: SecGpc = None,
) -> BannerState:
    policy = vault.policy(policy_id)
    holder = _holder(vault, body.device_id)
    gpc = body.gpc or _sec_gpc(sec_gpc)
    recorded = gpc and _honour_gpc(uow, vault, policy, holder, _language(policy, body.lang))
    return _state(policy, _current(uow, policy, holder), gpc=gpc, recorded=recorded)


def _check_choices(policy: Policy, body: BannerChoice) -> None:
    optional = {c.id for c in _optional(policy)}
    named = set(body.choices)
    if named - optional:
        # What was sent is not echoed: how many, and what may be named.
        raise BannerChoiceInvalid(
            f"{len(named - optional)} of the choices name no cookie category of policy "
            f"{policy.id!r} that needs consent",
            hint=f"name only: {', '.join(sorted(optional)) or 'nothing (none needs consent)'}",
        )
    if body.action is BannerAction.SAVE and named != optional:
        raise BannerChoiceInvalid(
            "a save names every category that needs consent; missing: "
            + ", ".join(sorted(optional - named))
        )
    if body.action is BannerAction.GPC and (not named or named - set(_gpc(policy))):
        raise BannerChoiceInvalid(
            "a gpc answer names only categories a GPC signal opts out of",
            hint=f"those of policy {policy.id!r}: {', '.join(_gpc(policy)) or 'none'}",
        )
    if body.action in (BannerAction.ACCEPT_ALL, BannerAction.REJECT_ALL) and named:
        raise BannerChoiceInvalid(f"{body.action.value} takes no per-category choices")


@router.post(
    "/{policy_id}/choices",
    summary="Record a device's choice (accept all, reject all, save, the GPC answer)",
    responses=_TOO_LARGE,
)
def banner_choice(
    policy_id: str,
    body: BannerChoice,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    sec_gpc: SecGpc = None,
) -> BannerState:
    policy = vault.policy(policy_id)
    text = banner_text(policy, body.language)
    if body.revision != cookie_revision(policy) or body.digest != _sha256(text):
        raise BannerOutdated(
            f"the banner shown is not the current one of policy {policy.id!r}",
            hint="load the banner's config again and ask again",
        )
    _check_choices(policy, body)
    holder = _holder(vault, body.device_id)
    gpc = body.gpc or _sec_gpc(sec_gpc)
    if gpc:
        _honour_gpc(uow, vault, policy, holder, body.language)
    signalled = set(_gpc(policy)) if gpc else set()
    optional = [c.id for c in _optional(policy)]
    answers: dict[str, bool] = {}
    if body.action is BannerAction.ACCEPT_ALL:
        plain = {c: True for c in optional if c not in signalled}
        method = Method.ACCEPT_ALL
    elif body.action is BannerAction.REJECT_ALL:
        plain, method = dict.fromkeys(optional, False), Method.REJECT_ALL
    elif body.action is BannerAction.SAVE:
        # Under the signal, a choice about a GPC category answers the signal.
        plain = {c: on for c, on in body.choices.items() if c not in signalled}
        answers = {c: on for c, on in body.choices.items() if c in signalled}
        method = Method.SAVE
    else:
        plain, answers, method = {}, dict(body.choices), Method.GPC
    served = serve_notice(
        uow,
        policy_id=policy.id,
        version=policy.policy.version,
        kind=ServedNoticeKind.COOKIE_BANNER,
        language=body.language,
        text=text,
        at=vault.clock.now(),
        media_type="application/json",
    )
    _record(
        uow, vault, policy, holder, answers,
        method=Method.GPC, language=body.language, served_notice_id=served,
    )  # fmt: skip
    _record(
        uow, vault, policy, holder, plain,
        method=method, language=body.language, served_notice_id=served,
    )  # fmt: skip
    return _state(policy, _current(uow, policy, holder), gpc=gpc, recorded=True)


def _preflight(origin: str | None) -> Response:
    if not _allowed(origin):
        raise OriginNotAllowed(
            "this origin may not call the banner's routes",
            hint=f"list the site's origin in {ORIGINS_ENV}",
        )
    # The allowed origin itself is added by the route class, as to every answer.
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


@router.options("/{policy_id}/state", include_in_schema=False)
def banner_state_preflight(policy_id: str, origin: Origin = None) -> Response:
    return _preflight(origin)


@router.options("/{policy_id}/choices", include_in_schema=False)
def banner_choice_preflight(policy_id: str, origin: Origin = None) -> Response:
    return _preflight(origin)
