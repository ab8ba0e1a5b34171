"""`mexfi serve`: the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["serve_command"]


def serve_command(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (docs at /docs) over the store the environment names."""
    import uvicorn

    from mexfi.cli.output import err
    from mexfi.db import StoreConfig
    from mexfi.runtime import require_store

    # Refused here, before uvicorn starts workers that would each fail alone.
    require_store(StoreConfig.from_env())
    err.print(f"mexfi API on http://{host}:{port}/api/v1 (docs at /docs)")
    uvicorn.run(
        "mexfi.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Uvicorn's access log prints paths, which never carry personal values here.
        log_level="info",
    )
