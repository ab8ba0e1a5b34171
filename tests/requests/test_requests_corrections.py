"""Requests that can be corrected (issue 11, item 4): `add --check` stores nothing, a request
not yet answered is amended with its history kept, one typed wrong is withdrawn, and a real
written request that fails TX-11 is answered with a reasoned refusal. The service on both
stores; the command line through the real root command, with its exit codes."""

from __future__ import annotations

import json
import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mexfi.audit import AuditEntry
from mexfi.cli.app import main
from mexfi.policy.i18n import enum_label
from mexfi.requests import (
    InvalidRequest,
    RequestRead,
    RequestState,
    RequestStateConflict,
    WrittenDetails,
    amend_request,
    build_letter,
    check_request,
    due_at,
    list_requests,
    request_history,
    withdraw_request,
)
from mexfi.requests.models import SubjectRequest
from mexfi.vault import Vault

from .conftest import COMPLETE, DPO, add, answered, register_driver, register_rider, verify

REPO = Path(__file__).resolve().parents[2]
DRIVER_PHONE = "+994 55 765 43 21"
#: The issue's mistyped phone: a digit short.
MISTYPED = "+994 99 886 09 3"
RIDER_PHONE = "+994 50 111 22 33"
#: TX-11's identity details, less the issue date and authority and the contract.
PARTIAL = WrittenDetails(
    id_document_series="AZE", id_document_number="17171717", fin="5ZX7K2Q", signed=True
)


def _stored(vault: Vault) -> tuple[int, int]:
    """(requests, audit entries) in the store."""
    with vault.store.records() as session:
        requests = session.scalar(select(func.count()).select_from(SubjectRequest))
        entries = session.scalar(select(func.count()).select_from(AuditEntry))
    return int(requests or 0), int(entries or 0)


def _amend(vault: Vault, request_id: str, **changes: Any) -> RequestRead:
    with vault.unit_of_work() as uow:
        return amend_request(vault, uow, request_id, actor=DPO, **changes)


# --------------------------------------------------------------------------- check


def test_check_shows_the_reasons_and_due_date_and_stores_nothing(rq_vault: Vault) -> None:
    register_driver(rq_vault)
    before = _stored(rq_vault)
    received = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with rq_vault.unit_of_work() as uow:
        result = check_request(
            rq_vault, uow, policy_id="taxsee_driver", kind="access", channel="written",
            phone=MISTYPED, written=PARTIAL, received_at=received,
        )  # fmt: skip
    assert not result.passes
    assert set(result.reasons) == {
        "missing_id_issue",
        "missing_relationship_proof",
        "phone_invalid",
    }
    deadline = rq_vault.policy("taxsee_driver").requests.deadline
    assert result.due_at == due_at(received, deadline)
    assert _stored(rq_vault) == before  # no request row, no audit entry
    with rq_vault.unit_of_work() as uow:
        good = check_request(
            rq_vault, uow, policy_id="taxsee_driver", kind="access", channel="written",
            phone=DRIVER_PHONE, written=COMPLETE,
        )  # fmt: skip
    assert good.passes and good.reasons == () and good.subject_pseudonym is not None
    assert _stored(rq_vault) == before


# --------------------------------------------------------------------------- amend


def test_amend_fixes_a_mistyped_phone_and_the_request_proceeds(rq_vault: Vault) -> None:
    register_driver(rq_vault)
    rejected = add(
        rq_vault, policy_id="taxsee_driver", kind="access", channel="written", actor=DPO,
        phone=MISTYPED, written=COMPLETE,
    )  # fmt: skip
    assert rejected.state is RequestState.REJECTED
    assert rejected.reasons == ("phone_invalid",)
    amended = _amend(rq_vault, rejected.id, phone=DRIVER_PHONE)
    assert amended.state is not RequestState.REJECTED and amended.reasons == ()
    assert amended.subject_pseudonym is not None
    proceeding = amended
    if amended.state is RequestState.VERIFYING:  # proven again: a new subject was matched
        proceeding = verify(rq_vault, rejected.id)
    assert proceeding.state is RequestState.IN_PROGRESS
    answer = answered(rq_vault, rejected.id, actor=DPO)
    assert answer.request.state is RequestState.ANSWERED and answer.data["records"]
    # The history keeps each step; the amendment as field names, never the phone.
    with rq_vault.unit_of_work() as uow:
        reasons = [e.reason for e in request_history(rq_vault, uow, rejected.id)]
    assert "access:rejected:phone_invalid" in reasons
    assert "access:amended:phone" in reasons
    assert reasons.index("access:amended:phone") < reasons.index("access:answered")
    digits = "".join(c for c in DRIVER_PHONE if c.isdigit())
    with rq_vault.store.records() as session:
        row = session.get(SubjectRequest, rejected.id)
        assert row is not None and row.amended_at is not None
        stored = " ".join(str(v) for v in row.__dict__.values())
        entries = session.scalars(
            select(AuditEntry.reason).where(AuditEntry.reference == rejected.id)
        ).all()
    assert digits[-7:] not in stored and "765 43 21" not in stored
    assert not any(digits[-7:] in (e or "") or "765" in (e or "") for e in entries)


def test_amend_adds_the_identity_details_tx_11_missed(rq_vault: Vault) -> None:
    register_driver(rq_vault)
    request = add(
        rq_vault, policy_id="taxsee_driver", kind="blocking", channel="written", actor=DPO,
        phone=DRIVER_PHONE, written=PARTIAL,
    )  # fmt: skip
    assert set(request.reasons) == {"missing_id_issue", "missing_relationship_proof"}
    still = _amend(
        rq_vault, request.id,
        written=WrittenDetails(id_issue_date="2019-05-04", id_issue_authority="ASAN 3"),
    )  # fmt: skip
    # What the first letter showed stays met; only the contract is missing now.
    assert still.state is RequestState.REJECTED
    assert still.reasons == ("missing_relationship_proof",)
    passed = _amend(rq_vault, request.id, written=WrittenDetails(contract_number="TX-1"))
    assert passed.reasons == () and passed.state is not RequestState.REJECTED
    assert all(passed.requirements.values())
    with rq_vault.unit_of_work() as uow:
        reasons = [e.reason for e in request_history(rq_vault, uow, request.id)]
    assert "blocking:amended:id_issue" in reasons
    assert "blocking:amended:relationship_proof" in reasons


def test_amend_changes_categories_and_language_of_an_open_request(rq_vault: Vault) -> None:
    register_rider(rq_vault, RIDER_PHONE)
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=RIDER_PHONE, language="en",
    )  # fmt: skip
    assert request.state is RequestState.IN_PROGRESS
    amended = _amend(rq_vault, request.id, categories=["phone"], language="ru")
    # The same subject, already proven: it stays in progress, now limited to `phone`.
    assert amended.state is RequestState.IN_PROGRESS
    assert amended.categories == ("phone",) and amended.language == "ru"
    answer = answered(rq_vault, request.id, actor=DPO)
    assert {r["category"] for r in answer.data["records"]} == {"phone"}
    with rq_vault.unit_of_work() as uow:
        reasons = [e.reason for e in request_history(rq_vault, uow, request.id)]
    assert "access:amended:categories,language" in reasons


def test_amend_refuses_nothing_to_change_and_an_answered_request(rq_vault: Vault) -> None:
    register_rider(rq_vault, RIDER_PHONE)
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=RIDER_PHONE,
    )  # fmt: skip
    with pytest.raises(InvalidRequest, match="changes nothing"):
        _amend(rq_vault, request.id)
    answered(rq_vault, request.id, actor=DPO)
    with pytest.raises(RequestStateConflict, match="not yet answered") as caught:
        _amend(rq_vault, request.id, language="en")
    assert caught.value.hint and "requests add" in caught.value.hint


# --------------------------------------------------------------------------- withdraw


def test_a_request_typed_wrong_is_withdrawn_closed_and_never_overdue(rq_vault: Vault) -> None:
    register_rider(rq_vault, RIDER_PHONE)
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=RIDER_PHONE,
    )  # fmt: skip
    with rq_vault.unit_of_work() as uow, pytest.raises(InvalidRequest, match="short code"):
        withdraw_request(rq_vault, uow, request.id, actor=DPO, reason="Leyla asked twice")
    with rq_vault.unit_of_work() as uow:
        withdrawn = withdraw_request(rq_vault, uow, request.id, actor=DPO, reason="typo")
    assert withdrawn.state is RequestState.WITHDRAWN and withdrawn.reasons == ("typo",)
    later = rq_vault.clock.now() + timedelta(days=365)
    assert not withdrawn.overdue(later)
    with rq_vault.unit_of_work() as uow:
        assert list_requests(rq_vault, uow, now=later, overdue=True) == []
        assert list_requests(rq_vault, uow, open_only=True) == []
        reasons = [e.reason for e in request_history(rq_vault, uow, request.id)]
    assert reasons[-1] == "access:withdrawn:typo"
    # Closed: neither answered nor amended nor withdrawn again.
    with rq_vault.unit_of_work() as uow, pytest.raises(RequestStateConflict):
        withdraw_request(rq_vault, uow, request.id, actor=DPO, reason="typo")
    with pytest.raises(RequestStateConflict):
        answered(rq_vault, request.id, actor=DPO)


# --------------------------------------------------------------------------- refusal


@pytest.mark.parametrize("lang", ["az", "en", "ru"])
def test_tx_11_a_written_request_that_fails_is_answered_with_a_reasoned_refusal(
    rq_vault: Vault, lang: str
) -> None:
    register_driver(rq_vault)
    request = add(
        rq_vault, policy_id="taxsee_driver", kind="access", channel="written", actor=DPO,
        phone=DRIVER_PHONE, written=PARTIAL, language=lang,
    )  # fmt: skip
    assert request.state is RequestState.REJECTED
    answer = answered(rq_vault, request.id, actor=DPO)
    assert answer.request.state is RequestState.REJECTED
    assert answer.request.answered_at is not None
    assert "records" not in answer.data  # a refusal carries no data of the subject
    policy = rq_vault.policy("taxsee_driver")
    text = " ".join(
        [*build_letter(policy, answer).paragraphs]
        + [i for s in build_letter(policy, answer).sections for i in (*s.items, *s.paragraphs)]
    )
    for missing in ("id_issue", "relationship_proof"):
        assert enum_label("RequestRequirement", missing, lang) in text
    assert enum_label("RequestRequirement", "id_document", lang) not in text
    with rq_vault.unit_of_work() as uow:
        reasons = [e.reason for e in request_history(rq_vault, uow, request.id)]
    assert reasons[-1] == "access:refused:missing_id_issue,missing_relationship_proof"
    # Refused and answered: the refusal stands; a corrected request is a new one.
    with pytest.raises(RequestStateConflict, match="refusal was answered"):
        _amend(rq_vault, request.id, written=COMPLETE)
    with pytest.raises(RequestStateConflict):
        answered(rq_vault, request.id, actor=DPO)


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
def cli_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """A store made by `mexfi init` with the driver of the README's example; its id."""
    from mexfi.cli.context import open_vault

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "80")
    assert mexfi(monkeypatch, capsys, "init")[0] == 0
    with open_vault() as vault:
        return register_driver(vault)


def _requests(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, Any]]:
    code, stdout, _ = mexfi(monkeypatch, capsys, "requests", "list", "--format", "json")
    assert code == 0
    return list(json.loads(stdout))


def test_cli_add_check_exits_1_with_the_reasons_and_stores_nothing(
    cli_store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "add", "--policy", "taxsee_driver", "--kind", "access",
        "--phone", MISTYPED, "--id-series", "AZE", "--id-number", "17171717", "--signed",
        "--check",
    )  # fmt: skip
    assert code == 1
    assert "would be rejected" in stdout and "nothing stored" in stdout
    assert "phone_invalid (give --phone)" in stdout and "missing_id_issue" in stdout
    assert "17171717" not in stdout and "886 09" not in stdout
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "add", "--policy", "taxsee_driver", "--kind", "access",
        "--phone", DRIVER_PHONE, "--id-series", "AZE", "--id-number", "17171717",
        "--id-issued-on", "2019-05-04", "--id-authority", "ASAN 3", "--fin", "5ZX7K2Q",
        "--contract-number", "TX-1", "--signed", "--check", "--format", "json",
    )  # fmt: skip
    assert code == 0
    checked = json.loads(stdout)
    assert checked["passes"] is True and checked["reasons"] == [] and checked["due_date"]
    assert _requests(monkeypatch, capsys) == []


def test_cli_a_mistyped_phone_exits_1_and_amend_then_withdraw(
    cli_store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, stderr = mexfi(
        monkeypatch, capsys, "requests", "add", "--policy", "bakikart", "--kind", "access",
        "--phone", MISTYPED, "--format", "json",
    )  # fmt: skip
    assert code == 1
    request = json.loads(stdout)
    assert request["state"] == "rejected" and request["reasons"] == ["phone_invalid"]
    # The way out is named, with the request's id whole.
    assert f"mexfi requests amend {request['id']}" in stderr and "give --phone" in stderr
    assert f"mexfi requests withdraw {request['id']} --reason typo" in stderr
    assert "886 09" not in stderr
    # Amended to a phone that matches nobody: still rejected, still exit 1.
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "amend", request["id"], "--phone", "+994 50 999 88 77"
    )
    assert code == 1 and "subject_not_matched" in stdout
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "withdraw", request["id"], "--reason", "typo"
    )
    assert code == 0 and "withdrawn" in stdout
    code, _, stderr = mexfi(
        monkeypatch, capsys, "requests", "amend", request["id"], "--phone", DRIVER_PHONE
    )
    assert code == 3 and "not yet answered" in stderr
    code, stdout, _ = mexfi(monkeypatch, capsys, "requests", "show", request["id"])
    assert code == 0
    assert "access:amended:phone" in stdout and "access:withdrawn:typo" in stdout


def test_cli_amend_corrects_a_rejected_written_request(
    cli_store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "add", "--policy", "taxsee_driver", "--kind", "access",
        "--phone", DRIVER_PHONE, "--id-series", "AZE", "--id-number", "17171717", "--signed",
        "--fin", "5ZX7K2Q", "--format", "json",
    )  # fmt: skip
    assert code == 1
    request_id = json.loads(stdout)["id"]
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "amend", request_id, "--id-issued-on", "2019-05-04",
        "--id-authority", "ASAN 3", "--contract-number", "TX-1", "--format", "json",
    )  # fmt: skip
    assert code == 0, stdout
    amended = json.loads(stdout)
    assert amended["reasons"] == [] and amended["state"] != "rejected"
    assert amended["amended_at"] is not None


def test_cli_a_rejected_request_is_answered_with_its_refusal_letter(
    cli_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "add", "--policy", "taxsee_driver", "--kind", "access",
        "--phone", DRIVER_PHONE, "--signed", "--lang", "ru", "--format", "json",
    )  # fmt: skip
    assert code == 1
    request_id = json.loads(stdout)["id"]
    out_dir = tmp_path / "answers"
    code, stdout, _ = mexfi(
        monkeypatch, capsys, "requests", "answer", request_id, "--out", str(out_dir), "--no-pdf"
    )
    assert code == 0 and "rejected" in stdout
    (html,) = out_dir.glob(f"{request_id}*.html")
    letter = html.read_text()
    for missing in ("id_document", "id_issue", "address_or_fin", "relationship_proof"):
        assert enum_label("RequestRequirement", missing, "ru") in letter
    assert "Что можно сделать" in letter
    export = json.loads((out_dir / f"{request_id}.json").read_text())
    assert "records" not in export


def test_the_readme_requests_add_example_works(
    cli_store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    lines = [
        line.split("  #")[0].strip()
        for line in readme.splitlines()
        if line.startswith("mexfi requests add ")
    ]
    assert lines, "README shows `mexfi requests add`"
    for line in lines:
        args = shlex.split(line)[1:]
        assert "..." not in args and "…" not in " ".join(args), line
        code, stdout, stderr = mexfi(monkeypatch, capsys, *args)
        assert code == 0, f"{line}\n{stdout}{stderr}"
        assert "rejected" not in stdout
