"""Errors as `application/problem+json` (RFC 9457), from one handler over the error tree.

A route raises the `mexfi.errors` tree and never builds an error response. The handler walks
`type(exc).__mro__` to the first class `STATUSES` names (a capability's subclass inherits its
parent's status; `Unauthenticated` is the one refinement, 401), and answers

    {"type": "https://mexfi.dev/problems/purpose-denied", "title": "Purpose denied",
     "status": 403, "detail": "<the error's message>", "code": "purpose_denied",
     "hint": "<what to do>"}

`code` is the class name in snake_case: stable, for programs. Messages name ids, never
personal values (the tree's rule), so `detail` is the message as it is. A request that fails
validation names the fields (`errors: [{"field": "body.phone", "message": ...}]`) and never
echoes what was sent. Anything else is a 500 with no detail, logged by class and route only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mexfi.apikeys import Unauthenticated
from mexfi.errors import Conflict, Denied, Invalid, MexfiError, NotFound, Unavailable

__all__ = [
    "MEDIA_TYPE",
    "PROBLEM_SCHEMA",
    "STATUSES",
    "ProblemMiddleware",
    "ProblemResponse",
    "install_problem_handlers",
    "problem_code",
    "problem_responses",
]

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://mexfi.dev/problems/"

#: Status by error class; the handler takes the first class of the error's MRO found here.
STATUSES: dict[type[BaseException], int] = {
    Unauthenticated: 401,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Denied: 403,
    Unavailable: 503,
    MexfiError: 500,
}

_log = logging.getLogger("mexfi.api")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


#: The JSON schema of a problem body, inline (no `$ref`: it goes into each response as is).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem: what went wrong, by ids, never a personal value.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable, for programs: `purpose_denied`."},
        "detail": {"type": "string"},
        "hint": {"type": "string", "description": "What to do about it."},
        "errors": {
            "type": "array",
            "description": "A request that failed validation: where and what kind of fault.",
            "items": {
                "type": "object",
                "required": ["field", "type"],
                "properties": {"field": {"type": "string"}, "type": {"type": "string"}},
            },
        },
    },
}

_DESCRIPTIONS = {
    400: "The body could not be read as the media type it claims",
    401: "No API key, or an unknown or revoked one",
    403: "Denied: out of the key's scope, an undeclared purpose, a role's limit",
    404: "No such thing (by id), or no such route",
    409: "In conflict with the state of the store",
    422: "The request is not valid (the fields are named, their values never echoed)",
    503: "The store or a dependency is unavailable",
}


def problem_responses(
    statuses: tuple[int, ...] = (400, 401, 403, 404, 409, 422, 503),
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the problem+json answers of `statuses`, for
    `include_router(..., responses=...)` (a 422 given here replaces FastAPI's own)."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "A problem"),
            "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


def problem_code(kind: type[BaseException]) -> str:
    """The stable code of an error class: its name in snake_case (`PurposeDenied` →
    `purpose_denied`)."""
    return _CAMEL.sub("_", kind.__name__).lower()


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def problem(
    status: int,
    code: str,
    detail: str | None,
    *,
    hint: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """An RFC 9457 problem response."""
    title = code.replace("_", " ").capitalize()
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "code": code,
    }
    if detail is not None:
        body["detail"] = detail
    if hint is not None:
        body["hint"] = hint
    body.update(extra)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return ProblemResponse(body, status_code=status, headers=headers or None)


def status_of(exc: BaseException) -> int:
    """The status of the first class of `exc`'s MRO that `STATUSES` names (500 if none)."""
    for kind in type(exc).__mro__:
        if kind in STATUSES:
            return STATUSES[kind]
    return 500


async def _mexfi_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, MexfiError)
    status = status_of(exc)
    if status == 500:
        return await _unexpected(request, exc)
    return problem(status, problem_code(type(exc)), exc.message, hint=exc.hint)


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    # Only where and what kind of fault: pydantic's `input` and `ctx` can hold the value sent
    # (a phone, a name), and its `msg` can quote it (a literal or pattern error).
    errors = [
        {"field": _field(error.get("loc", ())), "type": str(error.get("type", "invalid"))}
        for error in exc.errors()
    ]
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem(
        422,
        "request_invalid",
        f"the request is not valid at: {fields}",
        hint="see /docs for the shape of this request",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "route_not_found", 405: "method_not_allowed"}.get(
        exc.status_code, f"http_{exc.status_code}"
    )
    detail = (
        f"no route {request.method} {request.url.path}"
        if exc.status_code in (404, 405)
        else str(exc.detail)
    )
    # A 405's `Allow` (RFC 9110) and the like are kept.
    return problem(exc.status_code, code, detail, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
    # The class and the route template only: the message or the URL could hold a value.
    route = getattr(request.scope.get("route"), "path", "?")
    _log.error("unexpected %s in %s %s", type(exc).__name__, request.method, route)
    return problem(500, "internal_error", None)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error `app` meets as problem+json, every response `no-store`."""
    app.add_exception_handler(MexfiError, _mexfi_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(ProblemMiddleware)


class ProblemMiddleware:
    """`Cache-Control: no-store` on every response (no cache or proxy keeps personal data),
    and any exception no handler took answered as a 500 problem with no detail.

    Starlette would answer that one from its outermost middleware, past this one (without the
    header) and then raise it again into the server; here it ends, logged without its message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_no_store(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_no_store)
        except Exception as exc:
            if started:
                raise
            response = await _unexpected(Request(scope), exc)
            await response(scope, receive, send_no_store)
