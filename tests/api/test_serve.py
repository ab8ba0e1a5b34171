"""`mexfi serve` runs the API for real: a server on a free port answers its health check."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
MEXFI = [sys.executable, "-m", "mexfi"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_mexfi_serve_answers_on_its_port() -> None:
    env = {**os.environ, "MEXFI_POLICY_DIR": str(REPO / "policies")}
    subprocess.run([*MEXFI, "init"], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        [*MEXFI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None, "the server never answered"
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert response.headers["cache-control"] == "no-store"
        unauthenticated = httpx.get(f"http://127.0.0.1:{port}/api/v1/policies", timeout=5)
        assert unauthenticated.status_code == 401
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    # Uvicorn shuts down cleanly on SIGTERM, then re-raises it (exit by the signal).
    text = output.decode(errors="replace")
    assert server.returncode in (0, -15), text
    assert "Application shutdown complete" in text, text
