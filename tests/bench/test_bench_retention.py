"""`bench retention`: both sweeps and both baselines run; every due row ends where it should."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mexfi.bench.retention import run_retention
from mexfi.cli.bench import bench_app
from mexfi.errors import Invalid


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEXFI_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'records.sqlite'}")
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", f"sqlite:///{tmp_path / 'data' / 'keys.sqlite'}")
    monkeypatch.setenv("MEXFI_KEY_FILE", str(tmp_path / "data" / "keys.json"))
    return tmp_path


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(bench_app, name="bench")
    return app


def test_run_retention_on_sqlite_moves_and_destroys_every_due_row(tmp_path: Path) -> None:
    seen: set[tuple[str, str]] = set()
    report = run_retention(
        records=60,
        destruction_share=0.25,
        batch_size=7,
        write_batch=11,
        taps_per_rider=9,
        backends=["sqlite"],
        seed=3,
        profile_dir=tmp_path / "profiles",
        progress=lambda backend, phase, done, total: seen.add((backend, phase)),
    )
    assert (report.tiering_records, report.destruction_records) == (45, 15)
    assert (report.riders, report.drivers) == (5, 15)
    (result,) = report.results
    assert result.backend == "sqlite" and result.skipped is None
    tiering, destruction = result.tiering, result.destruction
    assert tiering is not None and destruction is not None
    # Every due tap ended in the passive tier, none is left active; the baseline matches.
    assert tiering.vault.rows == tiering.plain.rows == tiering.due == 45
    assert tiering.vault_passive == tiering.plain_passive == 45
    assert tiering.vault_left == tiering.plain_left == 0
    # Every due registration was destroyed (one per driver); the baseline matches.
    assert destruction.vault.rows == destruction.plain.rows == destruction.due == 15
    assert destruction.vault_left == destruction.plain_left == 0
    assert result.misses() == []
    assert tiering.ratio is not None and destruction.ratio is not None
    assert {phase for _, phase in seen} == {
        "generate",
        "tiering vault",
        "tiering plain",
        "destruction vault",
        "destruction plain",
    }
    assert [Path(p).name for p in result.profiles] == [
        "retention-sqlite-tiering.prof",
        "retention-sqlite-destruction.prof",
    ]
    assert all(Path(p).stat().st_size > 0 for p in result.profiles)
    data = report.to_dict()
    row = data["results"][0]
    assert row["tiering"]["vault"]["rows"] == 45 and row["destruction"]["plain"]["rows"] == 15
    assert row["missed"] == []


def test_tiering_only_mix() -> None:
    report = run_retention(records=12, destruction_share=0.0, batch_size=5, backends=["sqlite"])
    (result,) = report.results
    assert result.tiering is not None and result.tiering.vault_passive == 12
    assert result.destruction is not None and result.destruction.due == 0
    assert result.destruction.ratio is None and result.misses() == []


def test_arguments_are_checked() -> None:
    with pytest.raises(Invalid, match="destruction_share"):
        run_retention(records=10, destruction_share=1.5)
    with pytest.raises(Invalid, match="PostgreSQL"):
        run_retention(records=10, backends=["postgres"], postgres_url=None)
    both = run_retention(records=10, batch_size=5, backends=["sqlite", "postgres"])
    assert [r.backend for r in both.results] == ["sqlite", "postgresql"]
    assert both.results[1].skipped and "URL" in both.results[1].skipped


def test_cli_json_and_text(env: Path) -> None:
    runner = CliRunner()
    args = ["bench", "retention", "--records", "40", "--batch-size", "8", "--write-batch", "16"]
    args += ["--backend", "sqlite"]
    result = runner.invoke(_app(), [*args, "--format", "json", "--fail-on-miss"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (row,) = data["results"]
    assert row["backend"] == "sqlite" and row["missed"] == []
    assert row["tiering"]["vault"]["rows"] == row["tiering"]["plain"]["rows"] == 36
    assert row["tiering"]["vault_passive"] == 36
    assert row["destruction"]["vault"]["rows"] == row["destruction"]["plain"]["rows"] == 4
    assert row["tiering"]["ratio"] > 0 and row["destruction"]["ratio"] > 0
    text = runner.invoke(_app(), args)
    assert text.exit_code == 0, text.output
    assert "sqlite tiering: engine" in text.stdout and "sqlite destruction: engine" in text.stdout
    assert "ratio" in text.stdout and "MISSED" not in text.stdout
    # The environment's store is untouched: the benchmark works in a temporary directory.
    assert not (env / "data" / "records.sqlite").exists()


@pytest.mark.postgres
def test_run_retention_on_postgres_drops_its_schemas() -> None:
    from sqlalchemy import create_engine, text

    from tests.conftest import _PG_SKIP, POSTGRES_URL

    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    report = run_retention(
        records=30, batch_size=8, backends=["postgres"], postgres_url=POSTGRES_URL
    )
    (result,) = report.results
    assert result.backend == "postgresql" and result.misses() == []
    assert result.tiering is not None and result.tiering.vault_passive == 27
    assert result.destruction is not None and result.destruction.vault.rows == 3
    assert result.location is not None
    schema = result.location.split()[1]
    engine = create_engine(POSTGRES_URL)
    with engine.connect() as connection:
        left = connection.scalar(
            text("SELECT count(*) FROM pg_namespace WHERE nspname IN (:a, :b, :c)"),
            {"a": schema, "b": f"{schema}_keys", "c": f"{schema}_passive"},
        )
    engine.dispose()
    assert left == 0
