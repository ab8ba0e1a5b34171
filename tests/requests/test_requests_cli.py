"""`mexfi requests …` from the command line (SQLite store from the env); `mexfi bench dsr` is
tested with the other benchmarks in tests/bench."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mexfi.cli.app import app as mexfi_app
from mexfi.cli.requests import requests_app

from .conftest import register_driver, register_rider

PHONE = "+994 50 111 22 33"

# Mounted here as the lead mounts them in `mexfi.cli.app`.
app = typer.Typer()
app.add_typer(requests_app, name="requests")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    for name in ("MEXFI_DATABASE_URL", "MEXFI_KEYSTORE_URL", "MEXFI_KEY_FILE", "MEXFI_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert CliRunner().invoke(mexfi_app, ["keys", "init"]).exit_code == 0
    from mexfi.cli.context import open_vault

    with open_vault() as vault:
        register_rider(vault, PHONE)
        register_driver(vault)
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_add_list_answer_show(env: Path) -> None:
    added = json.loads(
        _run("requests", "add", "--policy", "bakikart", "--kind", "access", "--phone", PHONE,
             "--lang", "en", "--format", "json")
    )  # fmt: skip
    assert added["state"] == "verifying"
    request_id = added["id"]
    # The console sender prints the code (on stderr); the subject reads it back.
    sent = CliRunner().invoke(app, ["requests", "send-code", request_id])
    assert sent.exit_code == 0, sent.output
    code = re.search(r"code (\d{6}) for request", sent.stderr)
    assert code is not None, sent.stderr
    _run("requests", "verify", request_id, "--code", code.group(1))
    listed = _run("requests", "list", "--open")
    assert request_id in listed
    assert request_id not in _run("requests", "list", "--overdue")
    overdue = json.loads(
        _run("requests", "list", "--overdue", "--now", "2099-01-01T00:00:00+04:00", "-f", "json")
    )
    assert [r["id"] for r in overdue] == [request_id] and overdue[0]["overdue"] is True
    out_dir = env / "answers"
    _run("requests", "answer", request_id, "--out", str(out_dir))
    export = json.loads((out_dir / f"{request_id}.json").read_text())
    assert export["format"] == "mexfi.access-export/1"
    assert {r["category"] for r in export["records"]} == {"phone", "profile"}
    # The letter in the request's language: <id>.<lang>.html and .pdf.
    assert (out_dir / f"{request_id}.en.html").read_text().startswith("<!DOCTYPE html>")
    assert (out_dir / f"{request_id}.en.pdf").read_bytes().startswith(b"%PDF")
    assert (out_dir / f"{request_id}.json").stat().st_mode & 0o777 == 0o600
    shown = _run("requests", "show", request_id)
    assert "access:received:written" in shown and "access:answered" in shown


def test_an_incomplete_written_request_is_rejected_with_reasons(env: Path) -> None:
    result = CliRunner().invoke(app, [
        "requests", "add", "--policy", "taxsee_driver", "--kind", "blocking",
        "--phone", "+994 55 765 43 21", "--id-series", "AZE", "--id-number", "12345678",
        "--signed",
    ])  # fmt: skip
    # Rejected on intake is a failed check (exit 1), with the way to amend it.
    assert result.exit_code == 1, result.output
    shown = str(result.stdout)
    assert "rejected" in shown and "mexfi requests amend" in result.stderr
    assert "missing_id_issue" in shown and "missing_relationship_proof" in shown
    assert "12345678" not in shown


def test_a_right_the_policy_does_not_offer_is_refused(env: Path) -> None:
    result = CliRunner().invoke(
        app, ["requests", "add", "--policy", "bakikart", "--kind", "prohibition"]
    )
    # Through `mexfi.cli.app.main` this maps to exit 4 (Denied); here the error surfaces.
    from mexfi.requests import RightNotOffered

    assert isinstance(result.exception, RightNotOffered)
