"""The HTTP API's application: every capability's router under `/api/v1`, one error handler,
`no-store` on every response.

`create_app(vault)` serves that vault (tests, embedding); `create_app()` opens the store the
environment names, as the CLI does (`mexfi.runtime.open_vault`), when the server starts and
closes it when it stops. The OpenAPI document is at `/openapi.json`, the docs at `/docs`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI

from mexfi.api.idempotency import install_idempotency
from mexfi.api.problems import install_problem_handlers, problem_responses
from mexfi.deps import describe_access
from mexfi.vault import Vault

__all__ = ["PREFIX", "create_app", "routers"]

PREFIX = "/api/v1"


def routers() -> list[APIRouter]:
    """Each capability's router, in the order the docs list them."""
    from mexfi.apikeys.views import router as sessions
    from mexfi.audit.views import router as audit
    from mexfi.consent.views import router as consent  # with the banner's and versions' routes
    from mexfi.policy.views import router as policies
    from mexfi.requests.views import router as requests
    from mexfi.retention.views import router as retention
    from mexfi.scan.views import router as scan
    from mexfi.vault.views import router as vault

    return [policies, vault, requests, retention, audit, scan, sessions, consent]


def _health() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", summary="Whether the server answers (touches nothing)")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return router


def create_app(vault: Vault | None = None) -> FastAPI:
    """The API over `vault`, or over the store the environment names, opened at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if vault is None:
                from mexfi.runtime import open_vault

                app.state.vault = stack.enter_context(open_vault())
            yield

    from mexfi import __version__

    app = FastAPI(
        title="mexfi",
        version=__version__,
        summary="The personal-data information system of mobility operators.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    if vault is not None:
        app.state.vault = vault
    install_idempotency(app)  # inside the problem middleware: its answers are no-store too
    install_problem_handlers(app)
    app.include_router(_health(), prefix=PREFIX)
    # Every route may answer these as problem+json (documented, so clients and schemathesis
    # know the shape; FastAPI's own 422 schema is not what is sent).
    for router in routers():
        app.include_router(router, prefix=PREFIX, responses=problem_responses())
    describe_access(app)  # x-mexfi-auth, -roles, -purpose, -action, -idempotent
    from mexfi.web import install_web

    install_web(app)  # /console and /portal pages, /static; not in the OpenAPI document
    return app
