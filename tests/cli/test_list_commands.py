"""Every listing, through the real root command at 80 columns: ids whole (32 characters, on
one line, never cut to `…`), and `--format json` that parses."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from mexfi.cli.app import main
from mexfi.cli.output import out

REPO = Path(__file__).resolve().parents[2]
REGISTERED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: A 32-character id on a line of its own or between spaces: never folded or cut.
ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `mexfi ARGS` as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, captured.err


class Store(NamedTuple):
    rider: str
    driver: str
    request: str
    hold: str


@pytest.fixture
def store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Store:
    """Two subjects registered in March, a request, a hold on the rider, and a retention run
    that destroyed the driver's registration (TX-7.7): something in every listing."""
    from mexfi.cli.context import open_vault
    from mexfi.clock import FixedClock
    from tests.requests.conftest import COMPLETE, DPO, add, register_driver, register_rider

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(out, "_width", 80)  # as COLUMNS=80 sets it when mexfi starts
    assert mexfi(monkeypatch, capsys, "keys", "init")[0] == 0
    with open_vault(clock=FixedClock(REGISTERED_AT)) as vault:
        rider = register_rider(vault, "+994 50 111 22 33")
        driver = register_driver(vault)
    with open_vault() as vault:
        request = add(
            vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
            subject_id=rider, written=COMPLETE,
        ).id  # fmt: skip
    code, text, err = mexfi(
        monkeypatch, capsys, "retention", "hold", "place", "--policy", "bakikart",
        "--subject", rider, "--reason", "case-2026-17",
    )  # fmt: skip
    assert code == 0, err
    [hold] = ID.findall(text)
    code, _, err = mexfi(monkeypatch, capsys, "retention", "run")
    assert code == 0, err
    return Store(rider, driver, request, hold)


def check_text(text: str, ids: list[str], *, table: bool = True) -> None:
    """Each id whole in `text`, nothing cut to `…`; a table's lines fit 80 columns."""
    for value in ids:
        assert value in ID.findall(text), f"{value} is not whole in:\n{text}"
    assert "…" not in text
    if table:
        assert max(len(line) for line in text.splitlines()) <= 80, text


def listed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[str, Any]:
    """The text and the parsed `--format json` of a listing; both exit 0."""
    code, text, err = mexfi(monkeypatch, capsys, *args)
    assert code == 0, err
    code, raw, err = mexfi(monkeypatch, capsys, *args, "--format", "json")
    assert code == 0, err
    return text, json.loads(raw)


def test_hold_list(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, data = listed(monkeypatch, capsys, "retention", "hold", "list")
    check_text(text, [store.hold, store.rider])
    assert [(h["id"], h["subject_id"], h["reason"]) for h in data] == [
        (store.hold, store.rider, "case-2026-17")
    ]
    # The id the listing shows is the one `hold lift` takes.
    code, _, err = mexfi(monkeypatch, capsys, "retention", "hold", "lift", store.hold)
    assert code == 0, err
    assert listed(monkeypatch, capsys, "retention", "hold", "list")[1] == []


def test_requests_list(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, data = listed(monkeypatch, capsys, "requests", "list")
    check_text(text, [store.request])
    [request] = data
    due = request["due_date"]
    assert request["id"] == store.request and due in text  # the due date whole
    overdue, _ = listed(monkeypatch, capsys, "requests", "list", "--now", "2099-01-01T00:00:00Z")
    check_text(overdue, [store.request])
    assert "overdue" in overdue


def test_audit_show(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, data = listed(monkeypatch, capsys, "audit", "show", "--limit", "1000")
    references = [e["reference"] for e in data if e["reference"] and ID.fullmatch(e["reference"])]
    assert store.request in references and store.hold in references
    # One entry a line, never wrapped by mexfi: every reference whole.
    check_text(text, references, table=False)


def test_retention_status_and_certificates(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, data = listed(monkeypatch, capsys, "retention", "status")
    run_id = data["runs"][0]["id"]
    check_text(text, [run_id])
    text, data = listed(monkeypatch, capsys, "retention", "certificates", store.driver)
    [certificate] = [c for c in data if c["rule"] == "registration_destroyed"]
    check_text(text, [certificate["id"], *certificate["key_ids"]])
    assert "TX-7.7" in text and "registration" in text


def test_keys_retire(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, data = listed(monkeypatch, capsys, "keys", "retire", "--dry-run")
    [key] = data["keys"]
    assert key["current"] is True
    assert re.search(rf"(?m)^{re.escape(key['id'])}\s+current\b", text), text
    check_text(text, [])


def test_scan_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(out, "_width", 80)
    source = tmp_path / "notes.txt"
    source.write_text("Zəng edin +994 50 123 45 67\nFİN 5ZK7R2M\n", encoding="utf-8")
    text, data = listed(monkeypatch, capsys, "scan", str(source))
    assert "PHONE" in text and "FIN" in text
    check_text(text, [])
    assert data == [
        {"file": str(source), "found": {**dict.fromkeys(data[0]["found"], 0), "PHONE": 1, "FIN": 1}}
    ]


def test_policy_listings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(out, "_width", 80)
    policy = str(REPO / "policies" / "taxsee-driver.yaml")
    text, data = listed(monkeypatch, capsys, "policy", "matrix", policy)
    assert data["policy"] == "taxsee_driver"
    # Category ids do not fit as headers at 80 columns: numbered, each named whole once.
    categories = sorted({cell["category"] for cell in data["matrix"]})
    for category in categories:
        assert re.search(rf"\d={category}\b", text), category
    check_text(text, [])
    code, text, _ = mexfi(monkeypatch, capsys, "policy", "lint", "--exit-zero", policy)
    assert code == 0
    check_text(text, [])
    code, raw, _ = mexfi(monkeypatch, capsys, "policy", "lint", "--exit-zero", policy, "-f", "json")
    assert code == 0 and isinstance(json.loads(raw), list | dict)
