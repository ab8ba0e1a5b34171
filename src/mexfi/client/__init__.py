"""The typed Python client of the mexfi HTTP API: `MexfiClient` and `AsyncMexfiClient`.

A front, like the CLI and the API: it speaks HTTP (httpx) and shares the server's pydantic
models (the capabilities' `views`), so requests and answers are the server's own types.

    from mexfi.client import MexfiClient

    with MexfiClient("https://mexfi.example", api_key) as mexfi:
        rider = mexfi.register(policy_id="bakikart", kind="rider",
                               purpose="service_provision", lookup_phone=phone,
                               records={"phone": {"phone": phone}})
        mexfi.write(rider.id, "card_use", {...}, purpose="service_provision")

Personal values travel in bodies only: paths carry ids (checked to be ids), query strings
codes and pseudonyms. Errors come back as the `mexfi.errors` tree (`NotFound`, `Conflict`,
`Invalid`, `Denied`, `Unavailable`, or the capability's subclass the problem's `code`
names), with the server's `hint`; each carries `status`, `code` and `problem`.
"""

from mexfi.client.calls import Call
from mexfi.client.clients import PREFIX, PURPOSE_HEADER, AsyncMexfiClient, MexfiClient
from mexfi.client.errors import error_from_response
from mexfi.vault.views import RecordWriteItem

__all__ = [
    "PREFIX",
    "PURPOSE_HEADER",
    "AsyncMexfiClient",
    "Call",
    "MexfiClient",
    "RecordWriteItem",
    "error_from_response",
]
