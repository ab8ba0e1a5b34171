"""`--actor` where a person acts: one shared option (MEXFI_ACTOR, no default) on every such
command, refused when missing, and a name given as the actor refused by the services."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from mexfi.cli.app import app, main

#: Commands where a person acts and is recorded (or checked) as the one who did.
PERSON_ACTS = {
    "requests add",
    "requests answer",
    "requests reject",
    "retention hold place",
    "retention hold lift",
    "retention certificates",
}


def _commands(command: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    for name, sub in getattr(command, "commands", {}).items():
        full = f"{path} {name}".strip()
        yield full, sub
        yield from _commands(sub, full)


def test_every_actor_option_is_the_shared_one_without_a_default() -> None:
    root = typer.main.get_command(app)
    with_actor = {}
    for name, command in _commands(root):
        for param in command.params:
            if param.name == "actor":
                with_actor[name] = param
    assert set(with_actor) >= PERSON_ACTS, PERSON_ACTS - set(with_actor)
    for name, param in with_actor.items():
        assert param.opts == ["--actor"], name
        assert param.envvar == "MEXFI_ACTOR", name
        assert param.required and param.default is None, f"{name} defaults --actor"


def mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), " ".join(capsys.readouterr().err.split())


def test_without_an_actor_the_command_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEXFI_ACTOR")
    code, err = mexfi(monkeypatch, capsys, "retention", "hold", "lift", "f" * 32)
    assert code == 2 and "--actor" in err


def test_a_name_as_the_actor_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mexfi.cli.context import open_vault
    from tests.requests.conftest import register_driver

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    assert mexfi(monkeypatch, capsys, "keys", "init")[0] == 0
    with open_vault() as vault:
        driver = register_driver(vault)
    name = "Rəşad Məmmədov"
    code, err = mexfi(
        monkeypatch, capsys, "retention", "certificates", driver, "--actor", name
    )  # fmt: skip
    assert code == 3 and "the actor id carries personal data" in err and name not in err
    code, err = mexfi(
        monkeypatch, capsys, "retention", "hold", "place", "--policy", "taxsee_driver",
        "--subject", driver, "--reason", "case-17",
    )  # fmt: skip
    assert code == 0, err  # MEXFI_ACTOR (dpo-test) acts
    monkeypatch.setenv("MEXFI_ACTOR", name)
    code, err = mexfi(
        monkeypatch, capsys, "retention", "hold", "place", "--policy", "taxsee_driver",
        "--subject", driver, "--reason", "case-18",
    )  # fmt: skip
    assert code == 3 and "personal data" in err and name not in err
