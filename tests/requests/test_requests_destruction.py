"""Safe destruction (issue 11, item 5): a destruction shows what it destroys before it does
(`destruction_preview`, `requests answer --dry-run`), asks to confirm (`--yes` without a
terminal), and a legal hold leaves it `on_hold` with its due date suspended until lifting
the hold carries it out. The service on both stores; the command line through the real
root command, with its exit codes; the terminal's prompt through a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from mexfi.audit import AuditEntry
from mexfi.cli.app import main
from mexfi.clock import FixedClock
from mexfi.requests import (
    DestructionPreview,
    RequestRead,
    RequestState,
    RequestStateConflict,
    destruction_preview,
    list_requests,
    request_history,
    resume_released,
    withdraw_request,
)
from mexfi.requests.calendar import days_left, resumed_due_at
from mexfi.retention import HoldRead, lift_hold, place_hold
from mexfi.vault import Vault

from .conftest import COMPLETE, DPO, add, answered, register_driver

DRIVER_PHONE = "+994 55 765 43 21"
DRIVER_CATEGORIES = {
    "registration": 1,
    "vehicle_facts": 1,
    "location": 0,
    "orders": 0,
    "payout_accounts": 0,
    "bank_cards": 0,
    "mobile_operator": 0,
}


def _destruction(vault: Vault, *, categories: tuple[str, ...] = ()) -> RequestRead:
    request = add(
        vault, policy_id="taxsee_driver", kind="destruction", channel="written", actor=DPO,
        phone=DRIVER_PHONE, written=COMPLETE, categories=categories,
    )  # fmt: skip
    assert request.state is RequestState.IN_PROGRESS, request.reasons
    return request


def _hold(vault: Vault, subject_id: str, category: str | None = None) -> HoldRead:
    with vault.unit_of_work() as uow:
        return place_hold(
            vault, uow, policy_id="taxsee_driver", subject_id=subject_id, category=category,
            reason="court request 17", actor=DPO,
        )  # fmt: skip


def _lift(vault: Vault, hold_id: str) -> list[RequestRead]:
    """Lift a hold and resume what it released in one unit of work, as the CLI does."""
    with vault.unit_of_work() as uow:
        lift_hold(vault, uow, hold_id, actor=DPO)
        return [a.request for a in resume_released(vault, uow, hold_id, actor=DPO)]


def _counts(vault: Vault, subject_id: str) -> dict[str, int]:
    with vault.unit_of_work() as uow:
        return vault.record_counts(uow, subject_id)


def _audit_size(vault: Vault) -> int:
    with vault.store.records() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _history(vault: Vault, request_id: str) -> list[str]:
    with vault.unit_of_work() as uow:
        return [e.reason or "" for e in request_history(vault, uow, request_id)]


# --------------------------------------------------------------------------- preview


def test_the_preview_counts_what_would_go_and_changes_nothing(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    request = _destruction(rq_vault)
    before = _audit_size(rq_vault)
    with rq_vault.unit_of_work() as uow:
        preview = destruction_preview(rq_vault, uow, request.id)
    assert preview.counts == DRIVER_CATEGORIES
    assert preview.records == 2 and preview.holds == {} and preview.records_held == 0
    data = preview.to_dict()
    assert data["records_destroyed"] == 2
    assert {c["category"]: c["records"] for c in data["categories"]} == DRIVER_CATEGORIES
    # Counts only: no value of the subject anywhere in the preview.
    assert DRIVER_PHONE not in json.dumps(data) and "Məmmədov" not in json.dumps(data)
    assert _counts(rq_vault, driver) == {"registration": 1, "vehicle_facts": 1}
    assert _audit_size(rq_vault) == before
    with rq_vault.unit_of_work() as uow:
        assert destruction_preview(rq_vault, uow, request.id) == preview


def test_the_preview_names_the_holds_that_keep_some_categories(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    hold = _hold(rq_vault, driver, "registration")
    request = _destruction(rq_vault, categories=("registration", "vehicle_facts"))
    with rq_vault.unit_of_work() as uow:
        preview = destruction_preview(rq_vault, uow, request.id)
    assert preview.counts == {"registration": 1, "vehicle_facts": 1}
    assert preview.holds == {"registration": hold.id}
    assert preview.hold_reasons == {hold.id: "court request 17"}
    assert preview.to_destroy == ("vehicle_facts",)
    assert (preview.records, preview.records_held) == (1, 1)


def test_only_a_verified_destruction_has_a_preview(rq_vault: Vault) -> None:
    register_driver(rq_vault)
    access = add(
        rq_vault, policy_id="taxsee_driver", kind="access", channel="written", actor=DPO,
        phone=DRIVER_PHONE, written=COMPLETE,
    )  # fmt: skip
    with rq_vault.unit_of_work() as uow, pytest.raises(Exception, match="not a destruction"):
        destruction_preview(rq_vault, uow, access.id)
    request = _destruction(rq_vault)
    answered(rq_vault, request.id, actor=DPO)
    with rq_vault.unit_of_work() as uow, pytest.raises(RequestStateConflict):
        destruction_preview(rq_vault, uow, request.id)


# --------------------------------------------------------------------------- holds


def test_a_destruction_during_a_hold_is_on_hold_and_lifting_carries_it_out(
    rq_vault: Vault, clock: FixedClock
) -> None:
    driver = register_driver(rq_vault)
    hold = _hold(rq_vault, driver)  # every category of the driver
    request = _destruction(rq_vault)
    suspended = clock.advance(days=1)
    answer = answered(rq_vault, request.id, actor=DPO)
    waiting = answer.request
    assert waiting.state is RequestState.ON_HOLD
    assert waiting.answered_at is None
    assert set(waiting.holds) == set(DRIVER_CATEGORIES)
    assert set(waiting.holds.values()) == {hold.id}
    assert waiting.suspended_at == suspended
    deadline = rq_vault.policy("taxsee_driver").requests.deadline
    assert waiting.days_left == days_left(request.due_at, suspended, deadline) > 0
    assert _counts(rq_vault, driver) == {"registration": 1, "vehicle_facts": 1}
    # On hold the clock stops: never overdue, not in the overdue list, still open.
    far = suspended + timedelta(days=90)
    assert not waiting.overdue(far)
    with rq_vault.unit_of_work() as uow:
        assert list_requests(rq_vault, uow, now=far, overdue=True) == []
        assert [r.id for r in list_requests(rq_vault, uow, open_only=True)] == [request.id]
    # Answering again while the hold stands changes nothing.
    again = answered(rq_vault, request.id, actor=DPO).request
    assert again.state is RequestState.ON_HOLD and again.suspended_at == suspended
    assert _counts(rq_vault, driver) == {"registration": 1, "vehicle_facts": 1}

    resumed = clock.advance(days=20)
    (released,) = _lift(rq_vault, hold.id)
    assert released.id == request.id and released.state is RequestState.ANSWERED
    assert released.answered_at == resumed
    assert released.holds == {} and released.suspended_at is None
    assert released.due_at == resumed_due_at(
        request.due_at, suspended, waiting.days_left or 0, resumed, deadline
    )
    assert released.due_at > request.due_at and not released.overdue(resumed)
    assert released.outcome["records_destroyed"] == 2
    assert released.outcome["delayed_by"] == [hold.id]
    assert _counts(rq_vault, driver) == {}
    history = _history(rq_vault, request.id)
    assert any(h.startswith("destruction:on_hold:") and f"hold_{hold.id}" in h for h in history)
    assert f"destruction:answered:released_{hold.id}" in history


def test_a_partial_hold_destroys_the_rest_now_and_the_held_part_when_lifted(
    rq_vault: Vault,
) -> None:
    driver = register_driver(rq_vault)
    hold = _hold(rq_vault, driver, "registration")
    request = _destruction(rq_vault)
    waiting = answered(rq_vault, request.id, actor=DPO).request
    assert waiting.state is RequestState.ON_HOLD
    assert waiting.holds == {"registration": hold.id}
    assert waiting.reasons == ("legal_hold_registration",)
    assert "vehicle_facts" in waiting.outcome["destroyed"]
    assert _counts(rq_vault, driver) == {"registration": 1}
    (released,) = _lift(rq_vault, hold.id)
    assert released.state is RequestState.ANSWERED and released.reasons == ()
    assert set(released.outcome["destroyed"]) == set(DRIVER_CATEGORIES)
    assert released.outcome["records_destroyed"] == 2
    assert len(released.outcome["evidence_ids"]) == 2
    assert _counts(rq_vault, driver) == {}


def test_a_request_two_holds_keep_waits_for_both(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    first = _hold(rq_vault, driver, "registration")
    second = _hold(rq_vault, driver, "vehicle_facts")
    request = _destruction(rq_vault, categories=("registration", "vehicle_facts"))
    waiting = answered(rq_vault, request.id, actor=DPO).request
    assert waiting.holds == {"registration": first.id, "vehicle_facts": second.id}
    (still,) = _lift(rq_vault, first.id)
    assert still.state is RequestState.ON_HOLD and still.holds == {"vehicle_facts": second.id}
    assert still.suspended_at == waiting.suspended_at  # suspended once, resumed once
    assert _counts(rq_vault, driver) == {"vehicle_facts": 1}
    (done,) = _lift(rq_vault, second.id)
    assert done.state is RequestState.ANSWERED and _counts(rq_vault, driver) == {}


def test_a_withdrawn_on_hold_request_is_not_carried_out_by_the_lift(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    hold = _hold(rq_vault, driver)
    request = _destruction(rq_vault)
    answered(rq_vault, request.id, actor=DPO)
    with rq_vault.unit_of_work() as uow:
        withdrawn = withdraw_request(rq_vault, uow, request.id, actor=DPO, reason="wrong_subject")
    assert withdrawn.state is RequestState.WITHDRAWN
    assert _lift(rq_vault, hold.id) == []
    assert _counts(rq_vault, driver) == {"registration": 1, "vehicle_facts": 1}


def test_a_suspended_due_date_resumes_with_the_working_days_left() -> None:
    from mexfi.policy import Deadline, DeadlineUnit

    deadline = Deadline(count=7, unit=DeadlineUnit.WORKING_DAYS, jurisdiction="AZ")
    zone = ZoneInfo("Asia/Baku")
    due = datetime(2026, 12, 9, 23, 59, 59, tzinfo=zone).astimezone(UTC)  # a Wednesday
    suspended = datetime(2026, 12, 7, 10, 0, tzinfo=zone)  # Monday: 8 and 9 December left
    left = days_left(due, suspended, deadline)
    assert left == 2
    resumed = resumed_due_at(
        due, suspended, left, datetime(2026, 12, 11, 9, 0, tzinfo=zone), deadline
    )
    assert resumed == datetime(2026, 12, 15, 23, 59, 59, tzinfo=zone)  # Friday + 2 working days
    # Resumed the day it was suspended: the same due date.
    assert resumed_due_at(due, suspended, left, suspended + timedelta(hours=3), deadline) == due
    # Late when suspended: a hold does not make it timely.
    late = due + timedelta(days=2)
    assert days_left(due, late, deadline) == 0
    assert resumed_due_at(due, late, 0, late + timedelta(days=9), deadline) == due


# --------------------------------------------------------------------------- command line


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


@pytest.fixture
def cli_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str]:
    """A store made by `mexfi init`, a driver and a verified destruction request of it:
    (subject id, request id)."""
    from mexfi.cli.context import open_vault

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "80")
    assert mexfi(monkeypatch, capsys, "init")[0] == 0
    with open_vault() as vault:
        driver = register_driver(vault)
        request = _destruction(vault)
    return driver, request.id


def _stored(driver: str) -> dict[str, int]:
    from mexfi.cli.context import open_vault

    with open_vault() as vault, vault.unit_of_work() as uow:
        return vault.record_counts(uow, driver)


def _state(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], rid: str) -> str:
    code, stdout, _ = mexfi(monkeypatch, capsys, "requests", "show", rid, "--format", "json")
    assert code == 0
    return str(json.loads(stdout)["state"])


def test_cli_dry_run_shows_what_goes_and_changes_nothing(
    cli_driver: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    driver, request_id = cli_driver
    code, stdout, stderr = mexfi(monkeypatch, capsys, "requests", "answer", request_id, "--dry-run")
    assert code == 0
    assert "registration" in stdout and "vehicle_facts" in stdout and "2 record(s)" in stdout
    assert "nothing destroyed" in stderr
    assert request_id in stdout.replace("\n", "")  # the id whole
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "answer", request_id, "--dry-run", "--format", "json"
    )
    assert code == 0
    preview = json.loads(stdout)
    assert preview["records_destroyed"] == 2 and preview["holds"] == {}
    assert _stored(driver) == {"registration": 1, "vehicle_facts": 1}
    assert _state(monkeypatch, capsys, request_id) == "in_progress"
    assert list(Path(".").glob(f"{request_id}*")) == []


def test_cli_without_a_terminal_and_without_yes_refuses(
    cli_driver: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    driver, request_id = cli_driver
    code, _, stderr = mexfi(monkeypatch, capsys, "requests", "answer", request_id)
    assert code == 2
    assert "nothing destroyed" in stderr and "--yes" in stderr and "--dry-run" in stderr
    assert "registration" in stderr  # the preview came first
    assert _stored(driver) == {"registration": 1, "vehicle_facts": 1}
    assert _state(monkeypatch, capsys, request_id) == "in_progress"
    code, stdout, stderr = mexfi(
        monkeypatch, capsys, "requests", "answer", request_id, "--yes", "--no-pdf"
    )
    assert code == 0, stderr
    assert "answered" in stdout
    assert _stored(driver) == {}


def test_cli_on_hold_then_hold_lift_carries_it_out_and_writes_the_letter(
    cli_driver: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    driver, request_id = cli_driver
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "retention", "hold", "place", "--policy", "taxsee_driver",
        "--subject", driver, "--category", "registration", "--reason", "court request 17",
    )  # fmt: skip
    assert code == 0
    hold_id = stdout.split()[1]
    code, stdout, _ = mexfi(monkeypatch, capsys, "requests", "answer", request_id, "--dry-run")
    assert code == 0 and hold_id in stdout.replace("\n", "") and "1 record(s)" in stdout
    answers = tmp_path / "answers"
    code, stdout, stderr = mexfi(
        monkeypatch, capsys, "requests", "answer", request_id, "--yes", "--out", str(answers)
    )
    assert code == 0, stderr
    assert "on_hold" in stdout and f"registration by legal hold {hold_id}" in stdout
    assert "due date suspended" in stdout
    assert not answers.exists() or list(answers.iterdir()) == []  # no letter while on hold
    assert _stored(driver) == {"registration": 1}
    code, stdout, stderr = mexfi(
        monkeypatch, capsys, "retention", "hold", "lift", hold_id, "--out", str(answers),
        "--no-pdf",
    )  # fmt: skip
    assert code == 0, stderr
    assert f"hold {hold_id} lifted" in stdout
    assert f"released request {request_id} (destruction): carried out" in stdout.replace("\n", " ")
    assert _stored(driver) == {}
    assert _state(monkeypatch, capsys, request_id) == "answered"
    export = json.loads((answers / f"{request_id}.json").read_text())
    assert export["destruction"]["records_destroyed"] == 2
    assert list(answers.glob(f"{request_id}*.html"))
    assert (answers / f"{request_id}.json").stat().st_mode & 0o777 == 0o600


def _in_a_terminal(args: list[str], answer: str, cwd: Path) -> tuple[int, str]:
    """Run `mexfi ARGS` with a pseudo-terminal as its stdin and type `answer`."""
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "mexfi", *args],
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, "COLUMNS": "80"},
        )
        os.write(primary, answer.encode() + b"\n")
        stdout, stderr = process.communicate(timeout=120)
    finally:
        os.close(primary)
        os.close(secondary)
    return process.returncode, (stdout + stderr).decode()


def test_cli_in_a_terminal_it_asks_and_a_no_destroys_nothing(
    cli_driver: tuple[str, str], tmp_path: Path
) -> None:
    driver, request_id = cli_driver
    code, output = _in_a_terminal(["requests", "answer", request_id, "--no-pdf"], "n", tmp_path)
    assert code == 1 and "Destroy 2 record(s)?" in output and "nothing destroyed" in output
    assert _stored(driver) == {"registration": 1, "vehicle_facts": 1}
    code, output = _in_a_terminal(["requests", "answer", request_id, "--no-pdf"], "y", tmp_path)
    assert code == 0, output
    assert _stored(driver) == {}


def test_the_preview_is_a_plain_dataclass_the_api_can_reuse() -> None:
    preview = DestructionPreview(
        request_id="r" * 32, policy_id="taxsee_driver", subject_pseudonym="ps_" + "0" * 24,
        counts={"registration": 3, "orders": 0}, holds={"orders": "h" * 32},
        hold_reasons={"h" * 32: "court request 17"},
    )  # fmt: skip
    assert preview.to_destroy == ("registration",)
    assert preview.to_dict()["holds"] == {"h" * 32: "court request 17"}
