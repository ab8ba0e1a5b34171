"""`MexfiClient` (sync) and `AsyncMexfiClient`: the operations of `calls`, sent over httpx.

Both are made from a base URL and an API key, or from an httpx client you pass in (a
FastAPI `TestClient`, an `httpx.AsyncClient` over `httpx.ASGITransport(app)`); one they
make, they close. Each method is the `calls` function of the same name, sent: the same
signature, the answer parsed into the server's own model, a problem raised as the
`mexfi.errors` class it names.

Writes are safe to retry: `send(call, idempotency_key=...)` sends `Idempotency-Key`, and the
server does a POST once per key (a retry gets the first answer). With `retries=N` the client
gives every POST a fresh key of its own and resends it, with the same key, up to N times
after a transport error (a dropped connection, a timeout): the write happens once.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx

from mexfi.client import calls
from mexfi.client.calls import Call
from mexfi.client.errors import error_from_response, transport_error

__all__ = [
    "IDEMPOTENCY_HEADER",
    "PREFIX",
    "PURPOSE_HEADER",
    "AsyncMexfiClient",
    "MexfiClient",
]

PREFIX = "/api/v1"
#: The header a read or write names its purpose in (`mexfi.deps.PURPOSE_HEADER`).
PURPOSE_HEADER = "X-Mexfi-Purpose"
#: The header that makes a POST safe to retry (`mexfi.api.idempotency.IDEMPOTENCY_HEADER`).
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TIMEOUT = 30.0

P = ParamSpec("P")
T = TypeVar("T")


def _headers(api_key: str | None, call: Call[Any], idempotency_key: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    if call.purpose is not None:
        headers[PURPOSE_HEADER] = call.purpose
    if idempotency_key is not None and call.method == "POST":
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


def _answer(call: Call[T], response: httpx.Response) -> T:
    if not response.is_success:
        raise error_from_response(response)
    if call.raw:
        return call.parse(response.content)
    return call.parse(response.json() if response.content else None)


class _Base:
    def __init__(self, api_key: str | None, base_url: str, retries: int) -> None:
        if retries < 0:
            raise ValueError("retries is 0 or more")
        self._api_key = api_key
        self.base_url = base_url
        self.retries = retries

    def _attempts(self, call: Call[Any], idempotency_key: str | None) -> tuple[str | None, int]:
        """The key to send and how many times to try: a POST is resent only under a key."""
        if call.method == "POST" and idempotency_key is None and self.retries:
            idempotency_key = uuid.uuid4().hex
        safe = call.method == "GET" or idempotency_key is not None
        return idempotency_key, 1 + (self.retries if safe else 0)

    def _request(self, call: Call[Any], idempotency_key: str | None) -> dict[str, Any]:
        return {
            "method": call.method,
            "url": PREFIX + call.path,
            "json": call.body,
            "params": call.params or None,
            "headers": _headers(self._api_key, call, idempotency_key),
        }


def _sync(op: Callable[P, Call[T]]) -> Callable[Concatenate[MexfiClient, P], T]:
    @functools.wraps(op)
    def method(self: MexfiClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(op(*args, **kwargs))

    return method


def _async(
    op: Callable[P, Call[T]],
) -> Callable[Concatenate[AsyncMexfiClient, P], Coroutine[Any, Any, T]]:
    @functools.wraps(op)
    async def method(self: AsyncMexfiClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(op(*args, **kwargs))

    return method


class MexfiClient(_Base):
    """The mexfi API, synchronously.

    `MexfiClient("https://mexfi.example", api_key)`, or `MexfiClient(http=client,
    api_key=...)` over an httpx client of yours. Use it as a context manager, or `close()`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 0,
    ) -> None:
        if http is None and base_url is None:
            raise TypeError("give a base_url or an httpx client (http=)")
        self._owned = http is None
        self._http = http or httpx.Client(base_url=base_url or "", timeout=timeout)
        super().__init__(api_key, str(self._http.base_url), retries)

    def send(self, call: Call[T], *, idempotency_key: str | None = None) -> T:
        """Send one `Call` and read its answer (what every method does); a POST under
        `idempotency_key` is done once however often it is sent."""
        key, attempts = self._attempts(call, idempotency_key)
        for attempt in range(attempts):
            try:
                response = self._http.request(**self._request(call, key))
            except httpx.TransportError as exc:
                if attempt + 1 < attempts:
                    continue
                raise transport_error(exc, self.base_url) from exc
            return _answer(call, response)
        raise AssertionError("unreachable: at least one attempt")

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    health = _sync(calls.health)
    policies = _sync(calls.policies)
    register = _sync(calls.register)
    find_by_phone = _sync(calls.find_by_phone)
    subject = _sync(calls.subject)
    set_status = _sync(calls.set_status)
    write = _sync(calls.write)
    write_many = _sync(calls.write_many)
    read = _sync(calls.read)
    rectify = _sync(calls.rectify)
    open_order = _sync(calls.open_order)
    close_order = _sync(calls.close_order)
    driver_position = _sync(calls.driver_position)
    my_driver_position = _sync(calls.my_driver_position)
    open_app_session = _sync(calls.open_app_session)
    close_app_session = _sync(calls.close_app_session)
    switch_location = _sync(calls.switch_location)
    switch_my_location = _sync(calls.switch_my_location)
    my_location_status = _sync(calls.my_location_status)
    network_locale = _sync(calls.network_locale)
    create_request = _sync(calls.create_request)
    list_requests = _sync(calls.list_requests)
    request_status = _sync(calls.request_status)
    send_code = _sync(calls.send_code)
    verify = _sync(calls.verify)
    withdraw_request = _sync(calls.withdraw_request)
    destruction_preview = _sync(calls.destruction_preview)
    answer = _sync(calls.answer)
    letter = _sync(calls.letter)
    holds = _sync(calls.holds)
    place_hold = _sync(calls.place_hold)
    lift_hold = _sync(calls.lift_hold)
    certificates = _sync(calls.certificates)
    retention_status = _sync(calls.retention_status)
    audit_verify = _sync(calls.audit_verify)
    audit_entries = _sync(calls.audit_entries)
    latest_checkpoint = _sync(calls.latest_checkpoint)
    scan = _sync(calls.scan)
    redact = _sync(calls.redact)
    start_session = _sync(calls.start_session)
    verify_session = _sync(calls.verify_session)
    end_session = _sync(calls.end_session)
    me = _sync(calls.me)
    read_mine = _sync(calls.read_mine)
    my_requests = _sync(calls.my_requests)


class AsyncMexfiClient(_Base):
    """The mexfi API, with asyncio: the methods of `MexfiClient`, awaited.

    `AsyncMexfiClient("https://mexfi.example", api_key)`, or over an `httpx.AsyncClient`
    of yours (`http=`). Use it as an async context manager, or `await aclose()`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 0,
    ) -> None:
        if http is None and base_url is None:
            raise TypeError("give a base_url or an httpx client (http=)")
        self._owned = http is None
        self._http = http or httpx.AsyncClient(base_url=base_url or "", timeout=timeout)
        super().__init__(api_key, str(self._http.base_url), retries)

    async def send(self, call: Call[T], *, idempotency_key: str | None = None) -> T:
        """Send one `Call` and read its answer (what every method does); a POST under
        `idempotency_key` is done once however often it is sent."""
        key, attempts = self._attempts(call, idempotency_key)
        for attempt in range(attempts):
            try:
                response = await self._http.request(**self._request(call, key))
            except httpx.TransportError as exc:
                if attempt + 1 < attempts:
                    continue
                raise transport_error(exc, self.base_url) from exc
            return _answer(call, response)
        raise AssertionError("unreachable: at least one attempt")

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    health = _async(calls.health)
    policies = _async(calls.policies)
    register = _async(calls.register)
    find_by_phone = _async(calls.find_by_phone)
    subject = _async(calls.subject)
    set_status = _async(calls.set_status)
    write = _async(calls.write)
    write_many = _async(calls.write_many)
    read = _async(calls.read)
    rectify = _async(calls.rectify)
    open_order = _async(calls.open_order)
    close_order = _async(calls.close_order)
    driver_position = _async(calls.driver_position)
    my_driver_position = _async(calls.my_driver_position)
    open_app_session = _async(calls.open_app_session)
    close_app_session = _async(calls.close_app_session)
    switch_location = _async(calls.switch_location)
    switch_my_location = _async(calls.switch_my_location)
    my_location_status = _async(calls.my_location_status)
    network_locale = _async(calls.network_locale)
    create_request = _async(calls.create_request)
    list_requests = _async(calls.list_requests)
    request_status = _async(calls.request_status)
    send_code = _async(calls.send_code)
    verify = _async(calls.verify)
    withdraw_request = _async(calls.withdraw_request)
    destruction_preview = _async(calls.destruction_preview)
    answer = _async(calls.answer)
    letter = _async(calls.letter)
    holds = _async(calls.holds)
    place_hold = _async(calls.place_hold)
    lift_hold = _async(calls.lift_hold)
    certificates = _async(calls.certificates)
    retention_status = _async(calls.retention_status)
    audit_verify = _async(calls.audit_verify)
    audit_entries = _async(calls.audit_entries)
    latest_checkpoint = _async(calls.latest_checkpoint)
    scan = _async(calls.scan)
    redact = _async(calls.redact)
    start_session = _async(calls.start_session)
    verify_session = _async(calls.verify_session)
    end_session = _async(calls.end_session)
    me = _async(calls.me)
    read_mine = _async(calls.read_mine)
    my_requests = _async(calls.my_requests)
