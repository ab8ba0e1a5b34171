"""`mexfi serve`: the HTTP API under uvicorn."""

from __future__ import annotations

import copy
import socket
from enum import StrEnum
from typing import Annotated, Any

import typer

__all__ = ["LogLevel", "log_config", "serve_command", "tcp_socket"]


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


def serve_command(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    log_level: Annotated[
        LogLevel, typer.Option(help="Of uvicorn's logs and mexfi's own (on stderr).")
    ] = LogLevel.info,
    access_log: Annotated[
        bool, typer.Option(help="Uvicorn's access log: a line a request (method, path, status).")
    ] = True,
) -> None:
    """Serve the HTTP API (docs at /docs) over the store the environment names."""
    import uvicorn

    from mexfi.cli.output import err
    from mexfi.db import StoreConfig
    from mexfi.runtime import require_store

    # Refused here, before uvicorn starts workers that would each fail alone.
    require_store(StoreConfig.from_env())
    err.print(f"mexfi API on http://{host}:{port}/api/v1 (docs at /docs)")
    config = uvicorn.Config(
        "mexfi.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Uvicorn's access log prints paths, which never carry personal values here.
        log_level=log_level.value,
        access_log=access_log,
        log_config=log_config(log_level.value),
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[tcp_socket(host, port)]).run()


def tcp_socket(host: str, port: int) -> socket.socket:
    """The workers' shared listening socket, made as a TCP socket (`IPPROTO_TCP`).

    Uvicorn's own (`Config.bind_socket`) has protocol 0, so asyncio does not set
    TCP_NODELAY on the connections it accepts, and each keep-alive response (headers, then
    body) waits ~40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def log_config(level: str) -> dict[str, Any]:
    """Uvicorn's logging configuration, with mexfi's loggers on its stderr handler at
    `level` (else they reach no handler and only warnings show, unformatted)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["mexfi"] = {
        "handlers": ["default"],
        "level": "DEBUG" if level == "trace" else level.upper(),
        "propagate": False,
    }
    return config
