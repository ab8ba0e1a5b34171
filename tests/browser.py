"""What the browser tests share: Debian's chromium driven by Playwright, the app served by
uvicorn on a loopback port in a thread, the artifacts folder, axe-core from the npm registry.

    with serve(create_app(vault)) as base:           # "http://127.0.0.1:PORT"
        with chromium() as browser: ...

Tests that use them are skipped (with the reason) where Playwright or /usr/bin/chromium is
missing; `.ci/run` installs chromium from Debian's packages and axe-core with npm.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from fastapi import FastAPI

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = [
    "AXE_VERSION",
    "CHROMIUM",
    "REPO",
    "artifacts",
    "axe_source",
    "chromium",
    "listening",
    "needs_chromium",
    "serve",
]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
#: Read at import: the suite's autouse fixture clears MEXFI_ variables for each test.
_ARTIFACTS = Path(os.environ.get("MEXFI_ARTIFACTS") or REPO / "artifacts")
#: Where `npm install` puts axe-core (gitignored); `MEXFI_AXE_DIR` moves it.
_AXE_DIR = Path(os.environ.get("MEXFI_AXE_DIR") or REPO / ".cache" / "axe")
AXE_VERSION = "4"

#: Skips a test (or a module, as `pytestmark`) where the browser cannot run.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser tests drive Debian's chromium at /usr/bin/chromium: "
    "apt-get install -y chromium",
)


def artifacts(name: str) -> Path:
    """The artifacts folder `name` (`$MEXFI_ARTIFACTS/name`, default `artifacts/name`),
    made if missing: screenshots land there, never committed."""
    folder = _ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def listening() -> socket.socket:
    """A loopback socket already listening: connections wait in its backlog until the server
    runs, so no test waits for the server to start."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn in a thread on a loopback port; yields its base URL."""
    sock = listening()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium under Playwright (skips the test if Playwright is missing)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the browser tests need Playwright: pip install playwright"
    )
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


def axe_source() -> str:
    """axe-core's `axe.min.js`, installed from the npm registry into the cache folder on first
    use (`npm install --prefix <dir> axe-core@4`); skips the test if npm is absent."""
    script = _AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("axe-core comes from the npm registry: install npm (apt-get install npm)")
        _AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(_AXE_DIR),
                "--no-audit",
                "--no-fund",
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return script.read_text(encoding="utf-8")
