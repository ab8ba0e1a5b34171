"""Idempotent writes: a POST sent with `Idempotency-Key` is done once per caller and key.

`IdempotencyMiddleware` takes the key and a fingerprint of the request (SHA-256 of method,
path, query and body) into `request.state`; the unit-of-work dependency (`mexfi.deps`) finds
an answer kept for the caller (the keyed hash of its credential) and key, and replays it
(`AnswerKept`: the first status and body, `Idempotent-Replayed: true`) or refuses the key
sent with another request (`IdempotencyKeyReused`, 409). Else the route runs, and its unit
of work is left open: the middleware adds the answer to it and commits both, then sends the
answer. A write that fails keeps no answer (its retry runs again); two racing retries make
one commit and one replay (the answer's primary key). Answers live `ANSWER_TTL` (24 h).
Routes whose answer holds personal data keep none (`mexfi.deps.no_kept_answer`) and ignore
the header; so do GET routes.
"""

from __future__ import annotations

import hashlib
import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mexfi.api.problems import problem
from mexfi.apikeys import IdempotencyKeyReused, KeptAnswer, find_answer, keep_answer
from mexfi.deps import IDEMPOTENT_STATE, AnswerKept, IdempotentWrite
from mexfi.vault import Vault

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MAX_BODY",
    "REPLAYED_HEADER",
    "IdempotencyMiddleware",
    "install_idempotency",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: Bytes of an idempotent write's body (read whole to fingerprint it).
MAX_BODY = 8 * 1024 * 1024
_KEY_RE = re.compile(r"[\x21-\x7e]{1,200}")
_log = logging.getLogger("mexfi.api")


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AnswerKept)
    return _response(exc.answer)


def _response(answer: KeptAnswer) -> Response:
    return Response(
        content=answer.body,
        status_code=answer.status,
        media_type=answer.media_type,
        headers={REPLAYED_HEADER: "true"},
    )


def install_idempotency(app: FastAPI) -> None:
    """Make `app`'s writes idempotent under `Idempotency-Key` (before the problem handlers,
    so their middleware stays the outer one)."""
    app.add_exception_handler(AnswerKept, _replay)
    app.add_middleware(IdempotencyMiddleware)


class IdempotencyMiddleware:
    """Fingerprints a POST that carries `Idempotency-Key`, holds its answer back until the
    answer is committed with the write, then sends it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not _KEY_RE.fullmatch(key):
            await problem(
                422,
                "idempotency_key_invalid",
                "an Idempotency-Key is 1 to 200 visible ASCII characters",
                hint="send a random id (a UUID) per write, and the same one on its retries",
            )(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await problem(
                    413, "body_too_large", f"an idempotent write's body is at most {MAX_BODY} "
                    "bytes", hint="send less in one write",
                )(scope, receive, send)  # fmt: skip
                return
            if not message.get("more_body", False):
                break
        digest = hashlib.sha256()
        for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode()):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(bytes(body))
        pending = IdempotentWrite(key, digest.hexdigest())
        scope.setdefault("state", {})[IDEMPOTENT_STATE] = pending

        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, replay_body, hold)
        finally:
            uow = pending.uow
            if uow is not None and not messages:
                pending.uow = None
                await run_in_threadpool(_discard, uow)
        if pending.uow is not None:
            outcome = await run_in_threadpool(_commit, scope, pending, messages)
            if outcome is not None:
                await outcome(scope, receive, send)
                return
        for message in messages:
            await send(message)


def _key(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    wanted = IDEMPOTENCY_HEADER.lower().encode()
    for name, value in scope.get("headers", []):
        if name.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


def _discard(uow: object) -> None:
    uow.rollback()  # type: ignore[attr-defined]
    uow.close()  # type: ignore[attr-defined]


def _commit(scope: Scope, pending: IdempotentWrite, messages: list[Message]) -> Response | None:
    """Commit the write with its answer; None if done (send the answer), else what to send
    instead."""
    uow = pending.uow
    assert uow is not None and pending.caller is not None
    vault: Vault = scope["app"].state.vault
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    status = int(start["status"]) if start else 500
    try:
        if not 200 <= status < 300:
            uow.rollback()
            return None
        media = next(
            (v.decode("latin-1") for k, v in start.get("headers", []) if k == b"content-type"),
            None,
        ) if start else None  # fmt: skip
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        answer = KeptAnswer(status, media, body)
        keep_answer(
            uow,
            caller=pending.caller,
            key=pending.key,
            fingerprint=pending.fingerprint,
            answer=answer,
            now=vault.clock.now(),
        )
        uow.commit()
        return None
    except IntegrityError:
        # A racing request with the same key committed first: its answer, not a second write.
        uow.rollback()
        return _winner(vault, pending)
    except Exception as exc:
        uow.rollback()
        _log.error("idempotent write not committed: %s", type(exc).__name__)
        return problem(
            503,
            "write_not_committed",
            "the write could not be committed; nothing was written",
            hint="send it again with the same Idempotency-Key",
        )
    finally:
        uow.close()


def _winner(vault: Vault, pending: IdempotentWrite) -> Response:
    assert pending.caller is not None
    with vault.unit_of_work() as uow:
        try:
            kept = find_answer(
                uow,
                caller=pending.caller,
                key=pending.key,
                fingerprint=pending.fingerprint,
                now=vault.clock.now(),
            )
        except IdempotencyKeyReused as exc:
            return problem(409, "idempotency_key_reused", exc.message, hint=exc.hint)
    if kept is None:
        return problem(
            503,
            "write_not_committed",
            "the write could not be committed; nothing was written",
            hint="send it again with the same Idempotency-Key",
        )
    return _response(kept)
