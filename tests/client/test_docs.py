"""The code of every page in docs/ runs, block after block, against a live server (uvicorn
in this process, over the test vault), as its reader would run it: so the docs cannot rot."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from mexfi.client import MexfiClient
from mexfi.vault import Vault
from tests.api.conftest import make_key
from tests.requests.conftest import CapturingSender

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_ROLE = re.compile(r"<!-- doc-test: (\S+) (\S+) -->")
RIDER_PHONE = "+994 50 222 33 44"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port; its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server never started"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_every_role_has_a_page() -> None:
    assert {"README.md", "bakikart-backend.md", "taxsee-backend.md", "dpo.md", "auditor.md"} <= set(
        PAGES
    )


@pytest.mark.parametrize("page", PAGES)
def test_the_code_of_a_page_runs(
    page: str,
    live: str,
    vault: Vault,
    sender: CapturingSender,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = _BLOCK.findall(text)
    assert blocks, f"{page} has no code"
    role = _ROLE.search(text)
    policy_id, role_id = role.groups() if role else ("bakikart", "service")
    monkeypatch.setenv("MEXFI_URL", live)
    monkeypatch.setenv("MEXFI_API_KEY", make_key(vault, policy_id, role_id, f"docs-{role_id}"))

    # What a page assumes exists: a rider (the DPO's requester), their pseudonym, a read of
    # their data (the auditor's subject).
    service = MexfiClient(live, make_key(vault, "bakikart", "service", "docs-setup"))
    with service:
        rider = service.register(
            policy_id="bakikart",
            kind="rider",
            purpose="service_provision",
            records={"phone": {"phone": RIDER_PHONE}},
            lookup_phone=RIDER_PHONE,
        )
        service.read(rider.id, ["phone"], purpose="service_provision")
    namespace: dict[str, Any] = {
        "__name__": f"docs.{page}",
        "ask_requester_for_code": sender.code_for,
        "pseudonym": rider.pseudonym,
    }
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{DOCS / page}:block {number}", "exec")
        exec(code, namespace)
    printed = capsys.readouterr().out
    # What the examples print is ids, codes and counts; never the phones they sent.
    for phone in ("222 33 44", "2223344", "321 54 76", "604 11 28", "418 20 93"):
        assert phone not in printed, (page, phone)
