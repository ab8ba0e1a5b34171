"""What keeps every web page safe: signed cookies, CSRF tokens, security headers.

- Cookies are HttpOnly, SameSite=Lax, and Secure when the request came over https. A route
  never sets one on its response: it queues it with `queue_cookie(request, …)` and
  `SecurityHeadersMiddleware` adds it to whatever response the request ends in (a page, a
  redirect, an error page), so a cookie is never lost to an exception.
- Signed values (`sign`, `unsign`): HMAC-SHA256 under a key derived from the vault's API-key
  hash key (`Vault.api_key_digest` of a fixed label), so only this store's server can make
  one and a copy of the database cannot. The console's session cookie holds a key id and
  an expiry, never the key.
- CSRF (double submit): a random token per browser in the `mexfi_csrf` cookie, the same
  token in a hidden field of every form (`csrf_token(request)`); `check_csrf` compares them
  in constant time on every POST and raises `CsrfRejected` (403) otherwise.
- Every web response carries `CONTENT_SECURITY_POLICY` (no inline script, nothing remote),
  `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options:
  DENY`; the API's middleware already makes every response `Cache-Control: no-store`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mexfi.errors import Denied
from mexfi.vault import Vault

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "LANG_COOKIE",
    "SECURITY_HEADERS",
    "WEB_PREFIXES",
    "CsrfRejected",
    "SecurityHeadersMiddleware",
    "check_csrf",
    "csrf_token",
    "is_web_path",
    "queue_cookie",
    "sign",
    "unsign",
]

#: The paths the web front serves (pages and their static files).
WEB_PREFIXES: Final = ("/console", "/portal", "/static/")

CSRF_COOKIE: Final = "mexfi_csrf"
CSRF_FIELD: Final = "csrf_token"
LANG_COOKIE: Final = "mexfi_lang"

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)

#: `request.state` attribute holding the `Set-Cookie` values queued for the response.
_COOKIES = "web_cookies"
_SIGNING_LABEL = "mexfi.web.signing.v1"


class CsrfRejected(Denied):
    """A form was posted without the browser's CSRF token (or with another one)."""


def is_web_path(path: str) -> bool:
    """Whether `path` is one the web front serves (so its pages and headers apply)."""
    return path in ("/console", "/portal") or path.startswith(WEB_PREFIXES)


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def queue_cookie(
    request: Request,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    http_only: bool = True,
    path: str = "/",
) -> None:
    """Set cookie `name` on the response this request ends in (HttpOnly, SameSite=Lax,
    Secure over https); `max_age=0` deletes it."""
    shaped = Response()
    shaped.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        secure=_is_https(request),
        httponly=http_only,
        samesite="lax",
    )
    queued: list[bytes] = getattr(request.state, _COOKIES, None) or []
    queued = [c for c in queued if not c.startswith(name.encode() + b"=")]
    queued.extend(v for k, v in shaped.raw_headers if k == b"set-cookie")
    setattr(request.state, _COOKIES, queued)


def _signing_key(vault: Vault) -> bytes:
    return vault.api_key_digest(_SIGNING_LABEL).encode()


def sign(vault: Vault, payload: str) -> str:
    """`payload` (ASCII) with its HMAC, for a cookie."""
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    mac = hmac.new(_signing_key(vault), encoded.encode(), hashlib.sha256).hexdigest()
    return f"{encoded}.{mac}"


def unsign(vault: Vault, token: str | None) -> str | None:
    """The payload `sign` signed into `token`; None if absent, malformed or forged."""
    if not token or token.count(".") != 1:
        return None
    encoded, mac = token.split(".")
    expected = hmac.new(_signing_key(vault), encoded.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _valid_token(value: str | None) -> bool:
    return value is not None and 32 <= len(value) <= 100 and value.isascii()


def csrf_token(request: Request, *, renew: bool = False) -> str:
    """This browser's CSRF token (made and queued as a cookie the first time, or `renew`ed
    at sign-in), for the hidden field of a form."""
    current: str | None = getattr(request.state, "web_csrf", None)
    if current is not None and not renew:
        return current
    token = None if renew else request.cookies.get(CSRF_COOKIE)
    if not _valid_token(token):
        token = secrets.token_urlsafe(32)
        queue_cookie(request, CSRF_COOKIE, token)
    assert token is not None
    request.state.web_csrf = token
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    """`CsrfRejected` unless `sent` (the form's hidden field) is this browser's token."""
    cookie = request.cookies.get(CSRF_COOKIE)
    # As bytes: compare_digest refuses str with non-ASCII letters (a forged field may hold any).
    matches = hmac.compare_digest((cookie or "").encode(), (sent or "").encode())
    if not _valid_token(cookie) or not sent or not matches:
        raise CsrfRejected(
            "the form's CSRF token is missing or is not this browser's",
            hint="reload the page and send the form again",
        )


class SecurityHeadersMiddleware:
    """The security headers on every web response, and the cookies queued for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        # The routes' `request.state` is this dict (made here, so no copy of the scope
        # further in can lose it).
        state = scope.setdefault("state", {})

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                drop = {name for name, _ in SECURITY_HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in drop]
                headers.extend(SECURITY_HEADERS)
                cookies: Iterable[bytes] = state.get(_COOKIES) or ()
                headers.extend((b"set-cookie", c) for c in cookies)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_secured)
