"""`mexfi consent show|history|verify|rebuild|refusals` through the real root command, on a
fresh store of each backend: a tampered ledger exits 1 naming the entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from mexfi.consent import (
    Choice,
    ChoiceInput,
    HolderKind,
    Method,
    NoticeKind,
    Source,
    record_choices,
    send_notification,
)
from mexfi.db import Store
from tests.cli.runner import Cli, point_cli_at_store
from tests.requests.conftest import register_rider

RIDER_PHONE = "+994 50 111 22 44"
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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


@dataclass
class Rider:
    id: str
    pseudonym: str


@pytest.fixture
def rider(cli: Cli) -> Rider:
    """A rider registered (the acceptance is entry 1), who opted in to personalized pushes
    (entry 2) and got one refused before."""
    from mexfi.cli.context import open_vault

    with open_vault() as vault:
        subject_id = register_rider(vault, RIDER_PHONE)
        pseudonym = vault.pseudonym(subject_id)
        bakikart = vault.policy("bakikart")
        with vault.unit_of_work() as uow:
            send_notification(
                uow, policy=bakikart, holder=pseudonym, notification="personalized", at=AT
            )
            record_choices(
                uow,
                policy=bakikart,
                holder=pseudonym,
                holder_kind=HolderKind.SUBJECT,
                choices=[ChoiceInput(NoticeKind.NOTIFICATION, "personalized", Choice.OPT_IN)],
                method=Method.SWITCH,
                source=Source.APP,
                language="az",
                actor_id="app",
                at=AT,
            )
    return Rider(subject_id, pseudonym)


def tamper(store: Store, sql: str) -> None:
    with store.records_engine.begin() as connection:
        connection.execute(text(sql))


def test_show_and_history_name_the_choices(cli: Cli, rider: Rider) -> None:
    shown = json.loads(cli.ok("consent", "show", rider.id, "--format", "json"))
    assert shown["pseudonym"] == rider.pseudonym
    assert shown["accepted_current_version"] is True
    assert shown["notifications"] == {
        "qr_tickets": True,
        "balance_and_payments": True,
        "personalized": True,
    }
    # The phone names the same subject, and never shows in the output.
    text_out = cli.ok("consent", "show", RIDER_PHONE)
    assert rider.pseudonym in text_out and "personalized on" in text_out
    assert "111" not in text_out
    history = json.loads(cli.ok("consent", "history", rider.pseudonym, "--format", "json"))
    assert [(e["kind"], e["choice"], e["method"]) for e in history] == [
        ("policy", "acknowledge", "first_use"),
        ("notification", "opt_in", "switch"),
    ]
    assert json.loads(cli.ok("consent", "history", "--format", "json")) == history


def test_verify_passes_then_exits_1_naming_an_edited_entry(
    cli: Cli, rider: Rider, fresh_store: Store
) -> None:
    report = json.loads(cli.ok("consent", "verify", "--format", "json"))
    assert report["ok"] is True and report["checked"] == 2 and report["anchors"] == 2
    tamper(fresh_store, "UPDATE consent_entries SET choice = 'opt_out' WHERE seq = 2")
    code, out, err = cli("consent", "verify")
    assert code == 1
    assert "edited" in out and "first at entry 2" in " ".join(err.split())


def test_verify_exits_1_for_a_deleted_entry(cli: Cli, rider: Rider, fresh_store: Store) -> None:
    tamper(fresh_store, "DELETE FROM consent_entries WHERE seq = 1")
    code, out, _ = cli("consent", "verify", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["first_broken_seq"] == 1
    assert "deleted" in {p["kind"] for p in report["problems"]}


def test_rebuild_restores_the_state(cli: Cli, rider: Rider, fresh_store: Store) -> None:
    tamper(fresh_store, "DELETE FROM consent_state")
    emptied = json.loads(cli.ok("consent", "show", rider.id, "--format", "json"))
    assert emptied["choices"] == [] and emptied["notifications"]["personalized"] is False
    assert json.loads(cli.ok("consent", "rebuild", "--format", "json")) == {"state_rows": 2}
    shown = json.loads(cli.ok("consent", "show", rider.id, "--format", "json"))
    assert shown["notifications"]["personalized"] is True


def test_refusals_are_counted_without_anyone(cli: Cli, rider: Rider) -> None:
    out = cli.ok("consent", "refusals", "--policy", "bakikart", "--format", "json")
    assert json.loads(out) == [
        {
            "policy_id": "bakikart",
            "kind": "notification",
            "notice": "personalized",
            "reason": "notification_not_allowed",
            "day": "2026-03-02",
            "count": 1,
        }
    ]
    assert rider.pseudonym not in out and rider.id not in out
    code, _, err = cli("consent", "refusals", "--policy", "nowhere")
    assert code == 3 and "nowhere" in err
