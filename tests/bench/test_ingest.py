"""`bench ingest`: both paths run, the report carries both figures, the ratio and row counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mexfi.bench import run_ingest
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


def test_run_ingest_on_sqlite_reports_both_paths() -> None:
    report = run_ingest(records=120, batch_size=25, backends=["sqlite"], subjects=6, seed=1)
    (result,) = report.results
    assert result.backend == "sqlite" and result.skipped is None
    assert result.vault is not None and result.plain is not None
    assert result.vault.records == result.plain.records == 120
    assert result.vault.rows == result.plain.rows == 120
    assert result.rows_match
    assert result.vault.records_per_second > 0 and result.plain.records_per_second > 0
    assert result.ratio is not None and result.ratio > 0
    data = report.to_dict()
    assert data["results"][0]["ratio"] == round(result.ratio, 3)
    assert set(data["results"][0]["vault"]) >= {"records_per_second", "rows", "seconds"}


def test_postgres_needs_a_url() -> None:
    with pytest.raises(Invalid, match="PostgreSQL"):
        run_ingest(records=10, backends=["postgres"], postgres_url=None)
    both = run_ingest(records=10, batch_size=5, backends=["sqlite", "postgres"], subjects=2)
    assert [r.backend for r in both.results] == ["sqlite", "postgresql"]
    assert both.results[1].skipped and "URL" in both.results[1].skipped


def test_cli_json_and_text(env: Path) -> None:
    runner = CliRunner()
    args = ["bench", "ingest", "--records", "60", "--batch-size", "20", "--subjects", "4"]
    args += ["--backend", "sqlite"]
    result = runner.invoke(_app(), [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (row,) = data["results"]
    assert row["backend"] == "sqlite"
    assert row["vault"]["rows"] == row["plain"]["rows"] == 60
    assert row["vault"]["records_per_second"] > 0 and row["plain"]["records_per_second"] > 0
    assert row["ratio"] > 0 and row["rows_match"] is True
    text = runner.invoke(_app(), args)
    assert text.exit_code == 0, text.output
    assert "sqlite: vault" in text.stdout and "ratio" in text.stdout
    # The environment's store is untouched: the benchmark works in a temporary directory.
    assert not (env / "data" / "records.sqlite").exists()


@pytest.mark.postgres
def test_run_ingest_on_postgres_drops_its_schema() -> None:
    from sqlalchemy import create_engine, text

    from tests.conftest import _PG_SKIP, POSTGRES_URL

    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    report = run_ingest(records=40, batch_size=20, backends=["postgres"], postgres_url=POSTGRES_URL)
    (result,) = report.results
    assert result.backend == "postgresql" and result.rows_match
    assert result.ratio is not None
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


def test_cli_fail_on_miss_exits_1_only_when_a_goal_is_missed(env: Path) -> None:
    args = ["bench", "ingest", "--records", "40", "--batch-size", "20", "--subjects", "4"]
    args += ["--backend", "sqlite"]
    result = CliRunner().invoke(_app(), [*args, "--format", "json", "--fail-on-miss"])
    data = json.loads(result.stdout)
    missed = bool(data["results"][0]["missed"])
    assert result.exit_code == (1 if missed else 0), result.output
