"""Problem responses back into the `mexfi.errors` tree.

The server names each error by a stable `code` (its class in snake_case, `purpose_denied`)
and a status. The client raises the class the code names where it knows it (a subclass of
the tree, imported with the server's schemas), else the tree's node for the status
(404 `NotFound`, 409 `Conflict`, 422 `Invalid`, 401/403 `Denied`, 502-504 `Unavailable`),
with the server's `detail` as its message and its `hint`. Each error carries `status`,
`code` and the whole `problem` for programs.
"""

from __future__ import annotations

from typing import Any

import httpx

from mexfi.api.problems import problem_code
from mexfi.errors import Conflict, Denied, Invalid, MexfiError, NotFound, Unavailable

__all__ = ["error_from_response", "transport_error"]

_BY_STATUS: dict[int, type[MexfiError]] = {
    401: Denied,
    403: Denied,
    404: NotFound,
    405: NotFound,
    409: Conflict,
    422: Invalid,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def _subclasses(kind: type[MexfiError]) -> list[type[MexfiError]]:
    found = []
    for sub in kind.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def _named(code: str, base: type[MexfiError]) -> type[MexfiError]:
    """The class of the tree whose code is `code`, if it is under `base`; else `base`."""
    for kind in [base, *_subclasses(base)]:
        if problem_code(kind) == code:
            return kind
    return base


def _error(kind: type[MexfiError], message: str, hint: str | None) -> MexfiError:
    # A capability's subclass may take more arguments (a reason, clauses): build it as the
    # tree's base does, with the message and the hint only.
    error = kind.__new__(kind)
    MexfiError.__init__(error, message, hint=hint)
    return error


def error_from_response(response: httpx.Response) -> MexfiError:
    """The `mexfi.errors` class a non-2xx response names, with its detail and hint."""
    status = response.status_code
    problem: dict[str, Any] = {}
    if response.headers.get("content-type", "").split(";")[0].strip().endswith("json"):
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            problem = parsed
    code = str(problem.get("code") or f"http_{status}")
    base = _BY_STATUS.get(status, Unavailable if status >= 500 and status != 500 else MexfiError)
    kind = _named(code, base)
    message = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    hint = problem.get("hint")
    error = _error(kind, message, hint if isinstance(hint, str) else None)
    error.status = status  # type: ignore[attr-defined]
    error.code = code  # type: ignore[attr-defined]
    error.problem = problem  # type: ignore[attr-defined]
    return error


def transport_error(exc: httpx.TransportError, base_url: str) -> Unavailable:
    """A connection that failed or timed out, as `Unavailable`."""
    return Unavailable(
        f"the mexfi API at {base_url} did not answer ({type(exc).__name__})",
        hint="check the base URL and that `mexfi serve` runs there",
    )
