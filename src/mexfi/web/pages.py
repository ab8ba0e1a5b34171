"""The helpers every web page uses (the console's and the portal's).

- `render(request, "console/queue.html", **context)`: the template as an HTML response, in
  the page's language. Every template gets `t("key", slot=…)` (`mexfi.web.i18n`), `lang`,
  `csrf_field()` (the hidden CSRF input: put it in every `<form method="post">`),
  `flashes`, `user` (`request.state.web_user`, set by the area's sign-in dependency),
  `when(dt)` / `day(dt)` (Baku time, as the answer letters print it), `lang_url(code)` (this
  page in another language) and whatever `context` adds.
- `FormDep`: the posted form (`application/x-www-form-urlencoded`), its CSRF token already
  checked (`CsrfRejected`, a 403 page, otherwise). Every POST route takes it; the area's
  router also lists `checked_form` in its `dependencies`, so no POST skips the check.
- `redirect(request, "/console/requests/…")`: a 303 after a POST (post/redirect/get).
- `flash(request, "key", level="ok", slot=…)`: a message shown on the next page rendered
  (kept in a signed cookie across the redirect): keys and ids only, never a personal value.
- `page_lang(request)`: the page's language (`i18n` module says how it is chosen); an area
  sets `request.state.web_default_lang` (the policy's language) for the last resort.
- `web_error(request, exc)`: the one handler of errors on web paths: the `mexfi.errors` tree,
  validation errors and unknown routes become a page in the page's language with the status
  the API would give (never a stack trace or a value), or, for a form whose hidden `back`
  field names a page of the same area, a flash on that page. `Unauthenticated` on a page
  sends the browser to its area's sign-in page (`SIGN_IN`).
- `FormInvalid({"field": "i18n.key"})`: a form's own validation failure, shown as flashes
  in the page's language.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import parse_qsl, urlencode

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mexfi.apikeys import Unauthenticated
from mexfi.errors import Conflict, Denied, Invalid, MexfiError, NotFound, Unavailable
from mexfi.policy import Lang
from mexfi.requests import working_calendar
from mexfi.web.i18n import (
    DEFAULT_LANG,
    LANG_NAMES,
    LANGS,
    accepted_lang,
    format_when,
    is_lang,
    translate,
)
from mexfi.web.security import (
    CSRF_FIELD,
    LANG_COOKIE,
    CsrfRejected,
    check_csrf,
    csrf_token,
    is_web_path,
    queue_cookie,
    sign,
    unsign,
)

__all__ = [
    "SIGN_IN",
    "TEMPLATES",
    "Form",
    "FormDep",
    "FormInvalid",
    "checked_form",
    "csrf_field",
    "flash",
    "install_error_pages",
    "page_lang",
    "redirect",
    "render",
    "web_error",
]

TEMPLATES: Final = Path(__file__).parent / "templates"
#: Where `Unauthenticated` on a page of each area sends the browser.
SIGN_IN: Final = {"console": "/console/sign-in", "portal": "/portal/sign-in"}
FLASH_COOKIE: Final = "mexfi_flash"
#: A form's body at most: short forms, and the answer page's JSON answer (an access export).
MAX_FORM_BYTES: Final = 32 * 1024 * 1024
_ONE_YEAR = 365 * 24 * 3600


# --------------------------------------------------------------------------- language


def page_lang(request: Request) -> Lang:
    """The page's language: a `lang` link or form choice (remembered in a cookie), the
    cookie, the browser's `Accept-Language`, the area's default, az."""
    kept: Lang | None = getattr(request.state, "web_lang", None)
    if kept is not None:
        return kept
    chosen: Lang
    asked = request.query_params.get("lang")
    form: Form | None = getattr(request.state, "web_form", None)
    if not is_lang(asked) and form is not None:
        asked = form.get("lang")
    if is_lang(asked):
        queue_cookie(request, LANG_COOKIE, asked, max_age=_ONE_YEAR)
        chosen = asked
    else:
        cookie = request.cookies.get(LANG_COOKIE)
        default = getattr(request.state, "web_default_lang", None)
        if is_lang(cookie):
            chosen = cookie
        else:
            chosen = accepted_lang(request.headers.get("accept-language")) or (
                default if is_lang(default) else DEFAULT_LANG
            )
    request.state.web_lang = chosen
    return chosen


def _lang_url(request: Request, lang: str) -> str:
    query = [(k, v) for k, v in parse_qsl(request.url.query) if k != "lang"]
    query.append(("lang", lang))
    return f"{request.url.path}?{urlencode(query)}"


# --------------------------------------------------------------------------- forms


class Form(Mapping[str, str]):
    """A posted form: `form["name"]` / `form.get("name")` the first value, `getlist` all."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._first: dict[str, str] = {}
        for key, value in pairs:
            self._first.setdefault(key, value)

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getlist(self, key: str) -> list[str]:
        """Every value sent under `key` (checkboxes, multiple selects)."""
        return [v for k, v in self._pairs if k == key]

    def text(self, key: str) -> str:
        """The value of `key` stripped, "" if absent."""
        return self._first.get(key, "").strip()


class FormInvalid(Invalid):
    """A form failed its own checks: {field: i18n key of the message}."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(f"the form is not valid at: {', '.join(sorted(fields))}")
        self.fields = dict(fields)


async def checked_form(request: Request) -> Form:
    """The posted form with its CSRF token checked (an empty form for a GET)."""
    kept: Form | None = getattr(request.state, "web_form", None)
    if kept is not None:
        return kept
    if request.method != "POST":
        form = Form([])
    else:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise Invalid(f"the form is larger than {MAX_FORM_BYTES // 2**20} MiB")
        if kind != "application/x-www-form-urlencoded":
            pairs: list[tuple[str, str]] = []
        else:
            try:
                pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                pairs = []
        form = Form(pairs)
        request.state.web_form = form  # before the check: its page is in the chosen language
        check_csrf(request, form.get(CSRF_FIELD))
    request.state.web_form = form
    return form


FormDep = Annotated[Form, Depends(checked_form)]


def csrf_field(request: Request) -> Markup:
    """The hidden input carrying this browser's CSRF token."""
    token = csrf_token(request)
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


# --------------------------------------------------------------------------- flashes


def _vault_of(request: Request) -> Any:
    return request.app.state.vault


def flash(request: Request, key: str, /, *, level: str = "ok", **slots: str) -> None:
    """Show `key`'s text on the next page rendered (this one, or after a redirect)."""
    pending: list[list[Any]] = getattr(request.state, "web_flash", None) or []
    pending.append([level, key, {k: str(v)[:300] for k, v in slots.items()}])
    request.state.web_flash = pending
    queue_cookie(request, FLASH_COOKIE, sign(_vault_of(request), json.dumps(pending)))


def _take_flashes(request: Request) -> list[dict[str, str]]:
    """The messages to show now (the cookie's and this request's), then forgotten."""
    pending: list[list[Any]] = getattr(request.state, "web_flash", None) or []
    kept: list[Any] = []
    raw = unsign(_vault_of(request), request.cookies.get(FLASH_COOKIE))
    if raw is not None:
        try:
            loaded = json.loads(raw)
            kept = loaded if isinstance(loaded, list) else []
        except ValueError:
            kept = []
    if request.cookies.get(FLASH_COOKIE) or pending:
        queue_cookie(request, FLASH_COOKIE, "", max_age=0)
    request.state.web_flash = []
    lang = page_lang(request)
    shown: list[dict[str, str]] = []
    for item in kept + pending:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], dict)):
            continue
        level, key, slots = item
        shown.append(
            {"level": str(level), "text": translate(str(key), lang, **slots), "key": str(key)}
        )
    return shown


def redirect(request: Request, url: str) -> RedirectResponse:
    """A 303 to `url` (a path of this site) after a POST."""
    return RedirectResponse(url, status_code=303)


# --------------------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _zone(request: Request) -> tzinfo:
    zone: tzinfo | None = getattr(request.state, "web_zone", None)
    return zone if zone is not None else working_calendar("AZ").zone


def render(
    request: Request, template: str, /, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """`template` as a page in the page's language (see the module's docstring)."""
    lang = page_lang(request)
    zone = _zone(request)

    def t(key: str, /, **slots: object) -> str:
        return translate(key, lang, **slots)

    def when(value: datetime | None) -> str:
        return format_when(value, zone)

    def day(value: datetime | None) -> str:
        return format_when(value, zone, date_only=True)

    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "langs": LANGS,
        "lang_names": LANG_NAMES,
        "t": t,
        "when": when,
        "day": day,
        "csrf_field": lambda: csrf_field(request),
        "lang_url": lambda code: _lang_url(request, code),
        "path": request.url.path,
        "user": getattr(request.state, "web_user", None),
        "area": getattr(request.state, "web_area", "console"),
    }
    values.update(context)
    values["flashes"] = _take_flashes(request)
    html = _environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)


# --------------------------------------------------------------------------- errors

#: The status and the page's title key by error class (the first of the MRO found).
_KINDS: Final[tuple[tuple[type[BaseException], int, str], ...]] = (
    (CsrfRejected, 403, "error.csrf"),
    (Unauthenticated, 401, "error.unauthenticated"),
    (NotFound, 404, "error.not_found"),
    (Conflict, 409, "error.conflict"),
    (Invalid, 422, "error.invalid"),
    (Denied, 403, "error.denied"),
    (Unavailable, 503, "error.unavailable"),
)


def _kind(exc: BaseException) -> tuple[int, str]:
    for kind in type(exc).__mro__:
        for cls, status, key in _KINDS:
            if kind is cls:
                return status, key
    return 500, "error.internal"


def _area(path: str) -> str:
    return "portal" if path.startswith("/portal") else "console"


def _back(request: Request) -> str | None:
    """The page a failed form returns to: its hidden `back` field, a path of its area."""
    form: Form | None = getattr(request.state, "web_form", None)
    back = form.get("back") if form is not None else None
    area = _area(request.url.path)
    if back and back.startswith(f"/{area}") and not back.startswith("//") and "\\" not in back:
        return back
    return None


def web_error(request: Request, exc: Exception) -> Response:
    """The page (or flash and redirect) an error on a web path ends in."""
    area = _area(request.url.path)
    request.state.web_area = getattr(request.state, "web_area", area)
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        key = "error.not_found" if status in (404, 405) else "error.internal"
        detail = f"no page {request.method} {request.url.path}" if status in (404, 405) else ""
    elif isinstance(exc, RequestValidationError):
        status, key = 422, "error.invalid"
        fields = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})
        detail = f"not valid at: {', '.join(fields)}"
    elif isinstance(exc, MexfiError):
        status, key = _kind(exc)
        detail = exc.message if status != 500 else ""
    else:
        status, key, detail = 500, "error.internal", ""
    if isinstance(exc, Unauthenticated) and not isinstance(exc, CsrfRejected):
        request.state.web_user = None
        flash(request, "signin.expired", level="error")
        return redirect(request, SIGN_IN[area])
    back = _back(request) if status != 500 and not isinstance(exc, CsrfRejected) else None
    if back is not None:
        if isinstance(exc, FormInvalid):
            for name, message in exc.fields.items():
                flash(request, message, level="error", field=name)
        else:
            flash(request, f"{key}.text", level="error")
            if detail:
                flash(request, "error.detail.line", level="detail", detail=detail)
        return redirect(request, back)
    return render(
        request,
        "error.html",
        status_code=status,
        title_key=key,
        detail=detail,
        home=SIGN_IN[area].rsplit("/", 1)[0],
    )


Handler = Callable[[Request, Exception], Awaitable[Response] | Response]


def install_error_pages(app: FastAPI) -> None:
    """Route errors on web paths to `web_error`, others to the handlers `app` had (the
    API's problem+json); call after the API's handlers are installed."""
    for kind in (MexfiError, RequestValidationError, StarletteHTTPException):
        original: Handler | None = app.exception_handlers.get(kind)

        def dispatch(
            request: Request, exc: Exception, original: Handler | None = original
        ) -> Awaitable[Response] | Response:
            if is_web_path(request.url.path) or original is None:
                return web_error(request, exc)
            return original(request, exc)

        async def handler(request: Request, exc: Exception, dispatch: Any = dispatch) -> Response:
            answer = dispatch(request, exc)
            return await answer if not isinstance(answer, Response) else answer

        app.exception_handlers[kind] = handler
    app.add_middleware(CrashPageMiddleware)


class CrashPageMiddleware:
    """An unexpected failure on a web path (answered by the API's middleware as a bare 500
    problem) shown as the error page instead: no JSON, no stack trace, no value."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_page(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 500:
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if kind.startswith(b"application/problem+json"):
                    replaced = True
                    request = Request(scope)
                    page = web_error(request, RuntimeError("unexpected"))
                    await page(scope, receive, send)
                    return
            if replaced:
                return
            await send(message)

        await self.app(scope, receive, send_page)
