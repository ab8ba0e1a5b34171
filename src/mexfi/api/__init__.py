"""The HTTP API front: `create_app` assembles the capabilities' routers (each capability owns
its `views`), the problem+json error handler and the `no-store` header. See `mexfi.deps` for
what a router uses; `mexfi serve` runs it under uvicorn."""

from mexfi.api.app import PREFIX, create_app

__all__ = ["PREFIX", "create_app"]
