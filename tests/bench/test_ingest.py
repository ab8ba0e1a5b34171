"""`mexfi bench ingest`: the vault's batched writes against plain inserts of the same rows."""

from __future__ import annotations

import pytest

from tests.bench.conftest import BACKENDS, assert_goal_shape, backend_args, run_json, run_text


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_paths_write_every_row(backend: str) -> None:
    args = ["ingest", "--records", "1200", "--batch-size", "300", "--subjects", "6"]
    data = run_json(*args, "--seed", "5", *backend_args(backend))
    assert data["benchmark"] == "ingest" and data["seed"] == 5
    assert (data["records"], data["batch_size"]) == (1200, 300)
    (result,) = data["results"]
    assert result["backend"] == ("sqlite" if backend == "sqlite" else "postgresql")
    for path in ("engine", "baseline"):
        # Counted in the store afterwards.
        assert result[path]["records"] == result[path]["rows"] == 1200
        assert result[path]["records_per_second"] > 0
    assert result["rows_match"] is True
    assert result["ratio"] > 0
    assert result["goal"] == "ingest vault/plain time <= 1.3x"
    assert isinstance(result["met"], bool)
    for goal in data["goals"]:
        assert_goal_shape(goal)
    assert data["met"] == (not data["missed"])


def test_text_fits_80_columns() -> None:
    args = ["ingest", "--records", "200", "--batch-size", "100", "--subjects", "4"]
    lines = run_text(*args, "--backend", "sqlite").splitlines()
    assert any(line.split()[:1] == ["sqlite"] for line in lines)
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)


def test_postgres_alone_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mexfi.cli.app import app

    monkeypatch.delenv("MEXFI_DATABASE_URL", raising=False)
    result = CliRunner().invoke(
        app, ["bench", "ingest", "--records", "10", "--backend", "postgres"]
    )
    assert result.exit_code != 0
