"""Rectification by name (TX-3.5): `--set registration.phone=…` names a category and a field,
and the vault finds the subject's active record of it; several records, destroyed data and
mistyped options are refused with messages that say what to do, never naming a value."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mexfi.cli.app import main
from mexfi.requests import InvalidRequest, RequestRead, RequestState
from mexfi.vault import Vault
from tests.vault.conftest import SYSTEM

from .conftest import COMPLETE, DPO, add, answered, lawful_demand, register_driver

NEW_PHONE = "+994 70 222 33 44"


def rectification(vault: Vault, driver: str) -> RequestRead:
    """An in-progress rectification request of the driver."""
    request = add(
        vault, policy_id="taxsee_driver", kind="rectification", channel="written", actor=DPO,
        subject_id=driver, written=COMPLETE,
    )  # fmt: skip
    assert request.state is RequestState.IN_PROGRESS, request.reasons
    return request


def registration(vault: Vault, driver: str) -> dict[str, object]:
    demand = lawful_demand(vault, driver, ["registration"])
    with vault.unit_of_work() as uow:
        data = vault.read(
            uow, driver, ["registration"], purpose="lawful_request", actor=DPO, demand_id=demand
        )
    [record] = data.records
    return record.values


def second_vehicle(vault: Vault, driver: str) -> None:
    with vault.unit_of_work() as uow:
        vault.write(
            uow, driver, "vehicle_facts",
            {"make": "Kia", "model": "Rio", "colour": "qara", "plate_digits": "456"},
            actor=SYSTEM, purpose="service_operation",
        )  # fmt: skip


def test_a_field_named_by_category_is_rectified_in_the_one_active_record(
    rq_vault: Vault,
) -> None:
    driver = register_driver(rq_vault)
    request = rectification(rq_vault, driver)
    answer = answered(
        rq_vault, request.id, actor=DPO, changes={"registration": {"phone": NEW_PHONE}}
    )
    assert answer.request.state is RequestState.ANSWERED
    with rq_vault.unit_of_work() as uow:
        [record] = rq_vault.active_records(uow, driver, "registration")
        assert answer.data["rectified"]["fields"] == {record.id: ["phone"]}
        # The blind index moved with the phone: the driver is found by the new number.
        found = rq_vault.find_by_phone(uow, "taxsee_driver", NEW_PHONE)
    assert found is not None and found.id == driver
    values = registration(rq_vault, driver)
    assert values["phone"] == "+994702223344"
    assert values["full_name"] == "Məmmədov Rəşad Əli oğlu"  # the other fields kept


def test_a_record_id_is_still_accepted_with_a_category_in_one_answer(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    second_vehicle(rq_vault, driver)
    with rq_vault.unit_of_work() as uow:
        first, _ = rq_vault.active_records(uow, driver, "vehicle_facts")
    request = rectification(rq_vault, driver)
    answer = answered(
        rq_vault, request.id, actor=DPO,
        changes={first.id: {"colour": "boz"}, "registration": {"phone": NEW_PHONE}},
    )  # fmt: skip
    assert first.id in answer.data["rectified"]["records"]
    assert len(answer.data["rectified"]["records"]) == 2


def test_a_category_with_several_records_is_refused_listing_their_ids(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    second_vehicle(rq_vault, driver)
    request = rectification(rq_vault, driver)
    with pytest.raises(InvalidRequest) as caught:
        answered(rq_vault, request.id, actor=DPO, changes={"vehicle_facts": {"colour": "boz"}})
    with rq_vault.unit_of_work() as uow:
        ids = [r.id for r in rq_vault.active_records(uow, driver, "vehicle_facts")]
    assert len(ids) == 2 and all(i in caught.value.message for i in ids)
    assert caught.value.hint is not None and "--set RECORD_ID.FIELD=VALUE" in caught.value.hint
    assert f"--set {ids[-1]}.colour=" in caught.value.hint
    assert "boz" not in caught.value.message + caught.value.hint
    with rq_vault.unit_of_work() as uow:  # nothing was carried out: still open
        assert rq_vault.active_records(uow, driver, "vehicle_facts")[0].updated_at is None


def test_a_destroyed_category_says_it_was_destroyed_and_when(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    request = rectification(rq_vault, driver)
    with rq_vault.unit_of_work() as uow:
        report = rq_vault.destroy(
            uow, driver, ["registration"], reason="retention", actor=SYSTEM,
            rule_id="registration_destroyed", clauses=["TX-7.7"],
        )  # fmt: skip
    with pytest.raises(InvalidRequest) as caught:
        answered(rq_vault, request.id, actor=DPO, changes={"registration": {"phone": NEW_PHONE}})
    message = caught.value.message
    # The clock is 2026-03-02 09:00 UTC: 13:00 in Baku.
    assert (
        "'registration' data" in message and "was destroyed on 2026-03-02T13:00:00+04:00" in message
    )
    assert "registration_destroyed" in message and "TX-7.7" in message
    assert report.evidence_id in message and "phone can no longer be rectified" in message
    assert caught.value.hint is not None
    assert f"mexfi requests reject {request.id}" in caught.value.hint
    assert "702223344" not in message + caught.value.hint


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "names no field to change"),
        ({"location": {"lat": "1"}}, "category 'location' cannot be rectified"),
        ({"registration": {"shoe_size": "44"}}, "has no field 'shoe_size'"),
        ({"f" * 32: {"phone": NEW_PHONE}}, "nor an active record of subject"),
    ],
)
def test_mistakes_are_refused_with_the_command_line_syntax(
    rq_vault: Vault, changes: dict[str, dict[str, str]], expected: str
) -> None:
    driver = register_driver(rq_vault)
    request = rectification(rq_vault, driver)
    with pytest.raises(InvalidRequest) as caught:
        answered(rq_vault, request.id, actor=DPO, changes=changes)
    assert expected in caught.value.message
    hint = caught.value.hint or ""
    assert "changes={" not in hint  # no Python syntax
    if not changes:
        assert f"mexfi requests answer {request.id} --set CATEGORY.FIELD=VALUE" in hint


# --------------------------------------------------------------------------- command line


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr (its lines joined: messages wrap) of `mexfi ARGS` as the
    console script runs it."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, " ".join(captured.err.split())


def test_cli_set_category_field(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mexfi.cli.context import open_vault

    assert run(monkeypatch, capsys, "keys", "init")[0] == 0
    with open_vault() as vault:
        driver = register_driver(vault)
        second_vehicle(vault, driver)
        request = rectification(vault, driver)
    out_dir = str(env / "answers")
    code, _, err = run(
        monkeypatch, capsys, "requests", "answer", request.id, "--out", out_dir, "--no-pdf",
        "--set", "vehicle_facts.colour=boz",
    )  # fmt: skip
    assert code == 3 and "2 active 'vehicle_facts' records" in err
    assert "--set RECORD_ID.FIELD=VALUE" in err and "boz" not in err
    code, _, err = run(
        monkeypatch, capsys, "requests", "answer", request.id, "--out", out_dir, "--no-pdf",
        "--set", f"registration:phone={NEW_PHONE}",
    )  # fmt: skip
    assert code == 3 and "--set number 1 is not CATEGORY.FIELD=VALUE" in err
    assert "e.g. --set registration.phone=" in err and "222 33 44" not in err
    code, out, err = run(
        monkeypatch, capsys, "requests", "answer", request.id, "--out", out_dir, "--no-pdf",
        "--set", f"registration.phone={NEW_PHONE}",
    )  # fmt: skip
    assert code == 0, err
    assert "answered" in out
    with open_vault() as vault, vault.unit_of_work() as uow:
        found = vault.find_by_phone(uow, "taxsee_driver", NEW_PHONE)
    assert found is not None and found.id == driver
