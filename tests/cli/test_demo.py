"""`mexfi demo --check`: the whole system started in a store of its own, the reference flows
run through the API, the API probed, stopped; exit 0, or 1 naming the probe that failed.

The demo makes its own SQLite store (that is what it is for), so these tests run on SQLite
only; the API it probes is tested on both backends in tests/api.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from mexfi.cli.app import main
from mexfi.errors import MexfiError
from mexfi.runtime import open_vault
from mexfi.vault import Actor
from mexfi.vault.models import Subject

REPO = Path(__file__).resolve().parents[2]
KEY = re.compile(r"mexfi_[A-Za-z0-9_-]{43}")
#: What the reference flows' subjects can be read for, to collect their personal values.
READS = {
    ("bakikart", "rider"): (Actor("test", "service"), "service_provision", ["phone", "profile"]),
    ("taxsee_driver", "driver"): (Actor("test", "system"), "licence_agreement", ["registration"]),
}


def mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """`mexfi ARGS` as the console script runs it: (exit code, stdout and stderr)."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out + captured.err


def _personal_values(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[set[str], int]:
    """The phones (national digits) and names the demo's subjects hold, and how many subjects."""
    monkeypatch.setenv("MEXFI_DATA_DIR", str(data_dir))
    phones: set[str] = set()
    names: set[str] = set()
    with open_vault() as vault, vault.unit_of_work() as uow:
        subjects = list(uow.records.scalars(select(Subject)))
        for subject in subjects:
            how = READS.get((subject.policy_id, subject.kind))
            if how is None:
                continue
            actor, purpose, categories = how
            try:
                data = vault.read(uow, subject.id, categories, purpose=purpose, actor=actor)
            except MexfiError:  # destroyed or blocked since: nothing to read
                continue
            for record in data.records:
                for field, value in record.values.items():
                    if not isinstance(value, str):
                        continue
                    if "phone" in field:
                        phones.add(re.sub(r"\D", "", value)[-9:])
                    elif field.endswith("name") and len(value) >= 3:
                        names.add(value)
    return phones | names, len(subjects)


def test_demo_check_starts_probes_and_stops_clean(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "demo"
    own = Path(os.environ["MEXFI_DATA_DIR"])
    code, output = mexfi(
        monkeypatch,
        capsys,
        "demo",
        "--check",
        "--seed",
        "11",
        "--riders",
        "12",
        "--drivers",
        "4",
        "--data-dir",
        str(data_dir),
    )
    assert code == 0, output
    assert "seed 11" in output
    assert "demo check passed in" in output
    probes = ("health", "console", "portal", "purpose-bound read", "refused read", "request")
    for probe in (*probes, "audit verify"):
        assert f"ok {probe}:" in output, probe
    # A key per role of each policy, each printed once.
    keys = KEY.findall(output)
    assert len(keys) == 10 and len(set(keys)) == 10, output
    # The environment is back as it was; the store of the environment was never touched.
    assert os.environ["MEXFI_DATA_DIR"] == str(own) and not any(own.iterdir())
    assert (data_dir / "mexfi.sqlite").exists()

    values, subjects = _personal_values(data_dir, monkeypatch)
    assert subjects > 12 and len(values) > 12
    shown = KEY.sub("", output)
    for value in values:
        pattern = re.escape(value) if value.isdigit() else rf"\b{re.escape(value)}\b"
        assert not re.search(pattern, shown), "a personal value in the demo's output"


def test_a_failed_probe_exits_1_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "bakikart.yaml").write_text(
        (REPO / "policies" / "bakikart.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (policies / "taxsee-driver.yaml").write_text("id: taxsee_driver\nroles: [\n", encoding="utf-8")
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(policies))
    code, output = mexfi(monkeypatch, capsys, "demo", "--check", "--seed", "3")
    assert code == 1, output
    flat = output.replace("\n", "")
    assert "demo check failed: policies:" in flat and "taxsee-driver.yaml:3: not valid YAML" in flat
    assert "seed 3" in output
    # Nothing started: no keys made, none shown.
    assert not KEY.search(output)

    # The same as JSON on stdout, for tools: the failed probe last.
    monkeypatch.setattr(sys, "argv", ["mexfi", "demo", "--check", "--format", "json"])
    with pytest.raises(SystemExit) as exited:
        main()
    report = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1 and report["ok"] is False and report["keys"] == []
    assert [(p["name"], p["ok"]) for p in report["probes"]] == [("policies", False)]


def test_a_data_dir_holding_a_store_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "keys.json").write_text("{}", encoding="utf-8")
    code, output = mexfi(monkeypatch, capsys, "demo", "--check", "--data-dir", str(tmp_path))
    assert code == 3, output
    assert "already holds a store" in output and (tmp_path / "keys.json").read_text() == "{}"
