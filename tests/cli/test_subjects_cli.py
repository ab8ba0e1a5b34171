"""`mexfi subjects find|show`, and a subject named by id, pseudonym or phone in every command
that takes one, through the real root command on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mexfi.audit import AuditEntry
from mexfi.db import Store
from mexfi.vault.models import DestructionEvidence, Subject
from tests.cli.runner import Cli, point_cli_at_store
from tests.requests.conftest import register_driver, register_rider

RIDER_PHONE = "+994 50 111 22 33"
DRIVER_PHONE = "+994 55 765 43 21"
#: A valid number nobody is registered with.
NOBODY = "+994 70 222 33 44"


@dataclass
class People:
    rider: str
    rider_pseudonym: str
    driver: str
    driver_pseudonym: str


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def cli(
    fresh_store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Cli]:
    """The CLI pointed at a fresh store of each backend, created by `mexfi init`."""
    point_cli_at_store(monkeypatch, fresh_store.config, tmp_path)
    run = Cli(monkeypatch, capsys)
    run.ok("init")
    yield run


@pytest.fixture
def people(cli: Cli, fresh_store: Store) -> People:
    from mexfi.cli.context import open_vault

    with open_vault() as vault:
        rider = register_rider(vault, RIDER_PHONE)
        driver = register_driver(vault, DRIVER_PHONE)
    with fresh_store.records() as session:
        names = {
            row.id: row.pseudonym for row in session.execute(select(Subject.id, Subject.pseudonym))
        }
    return People(rider, names[rider], driver, names[driver])


def _resolved(err: str, subject_id: str, pseudonym: str) -> bool:
    text = flat(err)
    return f"resolved to subject {subject_id} ({pseudonym}," in text


# ----------------------------------------------------------------- find


def test_find_by_each_form(cli: Cli, people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    for option, value in (
        ("--phone", RIDER_PHONE),
        ("--id", people.rider),
        ("--pseudonym", people.rider_pseudonym),
    ):
        out, err = cli.ok_out_err("subjects", "find", option, value)
        assert people.rider in out and people.rider_pseudonym in out, option
        assert "bakikart (rider)" in out and "active" in out
        assert "111" not in out + err  # the phone is never printed back
    as_json = json.loads(cli.ok("subjects", "find", "--phone", DRIVER_PHONE, "-f", "json"))
    assert as_json == {
        "id": people.driver,
        "pseudonym": people.driver_pseudonym,
        "policy_id": "taxsee_driver",
        "kind": "driver",
        "status": "active",
        "registered_at": as_json["registered_at"],
    }
    # The phone from the environment: out of the shell history.
    monkeypatch.setenv("MEXFI_SUBJECT_PHONE", RIDER_PHONE)
    out = cli.ok("subjects", "find")
    assert people.rider in out


def test_unknown_and_malformed_references_exit_3_with_a_hint(cli: Cli, people: People) -> None:
    code, _, err = cli("subjects", "find", "--id", "f" * 32)
    assert code == 3 and "no subject" in err
    code, _, err = cli("subjects", "show", "not-a-subject")
    assert code == 3
    assert "not a subject id, a pseudonym or a phone" in flat(err)
    assert "ps_ and 24 hex digits" in flat(err)
    code, _, err = cli("subjects", "find", "--pseudonym", "ps_" + "0" * 24)
    assert code == 3 and "no subject with pseudonym" in err
    code, _, err = cli("subjects", "find", "--phone", NOBODY)
    assert code == 3
    text = flat(err)
    assert "no subject of any loaded policy holds this phone" in text
    assert "mexfi subjects find --id" in text and "TX-7.7" in text
    assert "222" not in err
    code, _, err = cli("subjects", "find", "--phone", "+994 99 886 09 3")  # one digit short
    assert code == 3 and "not a valid number" in err
    code, _, err = cli("subjects", "find")
    assert code == 3 and "--id, --pseudonym or --phone" in err


def test_a_phone_in_two_policies_is_ambiguous_until_the_policy_is_named(
    cli: Cli, people: People
) -> None:
    from mexfi.cli.context import open_vault

    with open_vault() as vault:
        twin = register_rider(vault, DRIVER_PHONE)  # the driver rides the metro too
    code, _, err = cli("subjects", "find", "--phone", DRIVER_PHONE)
    assert code == 3
    text = flat(err)
    assert "registered in 2 policies" in text
    assert people.driver in text and twin in text and "--policy" in text
    out = cli.ok("subjects", "find", "--phone", DRIVER_PHONE, "--policy", "bakikart")
    assert twin in out
    code, _, err = cli("subjects", "find", "--id", twin, "--policy", "taxsee_driver")
    assert code == 3 and "policy 'bakikart', not 'taxsee_driver'" in flat(err)


# ----------------------------------------------------------------- show


def test_show_counts_holds_requests_and_certificates_without_values(
    cli: Cli, people: People
) -> None:
    cli.ok(
        "retention", "hold", "place", "--policy", "taxsee_driver", "--subject", DRIVER_PHONE,
        "--reason", "court case 17",
    )  # fmt: skip
    out, err = cli.ok_out_err("subjects", "show", people.driver_pseudonym)
    assert _resolved(err, people.driver, people.driver_pseudonym)
    assert f"subject   {people.driver}" in out
    assert "registration" in out and "vehicle_facts" in out
    assert "2 record(s); values only with --purpose" in out
    assert "legal holds: 1" in out and "court case 17" in out
    assert "no records of: location" in flat(out)
    assert "Toyota" not in out  # no value without --purpose

    data = json.loads(cli.ok("subjects", "show", people.driver, "--format", "json"))
    assert data["id"] == people.driver and data["pseudonym"] == people.driver_pseudonym
    assert {(c["category"], c["tier"], c["records"]) for c in data["categories"]} == {
        ("registration", "active", 1),
        ("vehicle_facts", "active", 1),
    }
    assert [h["reason"] for h in data["holds"]] == ["court case 17"]
    assert data["certificates"] == [] and data["written_consents"] == []
    assert "records" not in data


def test_show_reads_values_only_for_a_purpose_and_audits_the_read(
    cli: Cli, people: People, fresh_store: Store
) -> None:
    out = cli.ok(
        "subjects", "show", people.rider_pseudonym, "--purpose", "service_provision",
        "--role", "support",
    )  # fmt: skip
    assert "values read for purpose service_provision (audited)" in out
    assert "first_name: Leyla" in out
    data = json.loads(
        cli.ok(
            "subjects", "show", people.rider, "--purpose", "service_provision", "--role",
            "support", "--category", "profile", "-f", "json",
        )
    )  # fmt: skip
    assert [r["values"]["first_name"] for r in data["records"]] == ["Leyla"]
    # A purpose the role may not use is refused (exit 4), and the refusal is audited too.
    code, _, err = cli(
        "subjects", "show", people.rider, "--purpose", "service_improvement",
        "--category", "profile",
    )  # fmt: skip
    assert code == 4, err
    with fresh_store.records() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.subject == people.rider_pseudonym)
        ).all()
    reads = [e for e in entries if e.action == "read" and e.purpose == "service_provision"]
    assert len(reads) == 2 and {e.actor_id for e in reads} == {"dpo-test"}
    assert any(e.outcome == "denied" and e.purpose == "service_improvement" for e in entries)
    code, _, err = cli("subjects", "show", people.rider, "--request-id", "f" * 32)
    assert code == 3 and "go with --purpose" in flat(err)


# ----------------------------------------------------------------- destroyed phones


def test_a_destroyed_drivers_phone_names_the_candidates_and_how_to_confirm(
    cli: Cli, people: People, fresh_store: Store
) -> None:
    later = (datetime.now(UTC) + timedelta(hours=26)).isoformat()
    cli.ok("retention", "run", "--now", later, "--allow-future")  # TX-7.7: 24 hours
    with fresh_store.records() as session:
        row = session.execute(
            select(Subject.phone_bucket, DestructionEvidence.phone_bucket)
            .join(DestructionEvidence, DestructionEvidence.subject_id == Subject.id)
            .where(Subject.id == people.driver)
        ).one()
    assert row[0] is None and row[1] is not None  # the value moved to the evidence

    code, _, err = cli("subjects", "find", "--phone", DRIVER_PHONE)
    assert code == 3
    text = flat(err)
    assert "no live subject of any loaded policy holds this phone" in text
    assert "destroyed" in text and "candidate list, not a match" in text
    assert f"subject {people.driver} ({people.driver_pseudonym}, taxsee_driver driver)" in text
    assert "by registration_destroyed" in text
    assert "mexfi retention certificates SUBJECT_ID" in text
    assert "765" not in err

    # The certificate, by pseudonym; the subject, by id: both still found.
    out, err = cli.ok_out_err(
        "retention", "certificates", people.driver_pseudonym, "--actor", "dpo-1"
    )
    assert _resolved(err, people.driver, people.driver_pseudonym)
    assert "registration_destroyed" in out
    data = json.loads(cli.ok("subjects", "show", people.driver, "-f", "json"))
    assert [(c["status"], c["rule"]) for c in data["certificates"]] == [
        ("complete", "registration_destroyed")
    ]
    assert {c["category"] for c in data["categories"]} == {"vehicle_facts"}

    # The rider's phone (never destroyed) still finds the rider, not a candidate.
    out = cli.ok("subjects", "find", "--phone", RIDER_PHONE)
    assert people.rider in out


# ----------------------------------------------------------------- other commands


def test_commands_that_take_a_subject_accept_each_form(cli: Cli, people: People) -> None:
    out, err = cli.ok_out_err(
        "retention", "hold", "place", "--policy", "bakikart", "--subject",
        people.rider_pseudonym, "--reason", "dispute 4",
    )  # fmt: skip
    assert "placed" in out and _resolved(err, people.rider, people.rider_pseudonym)
    _, err = cli.ok_out_err("retention", "certificates", RIDER_PHONE, "--actor", "dpo-1")
    assert _resolved(err, people.rider, people.rider_pseudonym)
    code, out, err = cli(
        "requests", "add", "--policy", "bakikart", "--kind", "access", "--channel",
        "electronic", "--subject", people.rider_pseudonym, "--lang", "en", "-f", "json",
    )  # fmt: skip
    assert _resolved(err, people.rider, people.rider_pseudonym), err
    request = json.loads(out)
    assert request["subject_pseudonym"] == people.rider_pseudonym
    data = json.loads(cli.ok("subjects", "show", people.rider, "-f", "json"))
    assert [r["id"] for r in data["requests"]] == [request["id"]]
    # An unknown subject stores nothing: exit 3 before intake.
    code, _, err = cli(
        "requests", "add", "--policy", "bakikart", "--kind", "access", "--channel",
        "electronic", "--subject", "ps_" + "1" * 24,
    )  # fmt: skip
    assert code == 3 and "no subject with pseudonym" in err
    code, _, err = cli(
        "retention", "hold", "place", "--policy", "taxsee_driver", "--subject",
        people.rider, "--reason", "dispute 5",
    )  # fmt: skip
    assert code == 3 and "policy 'bakikart', not 'taxsee_driver'" in flat(err)
