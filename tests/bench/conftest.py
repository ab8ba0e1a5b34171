"""Benchmarks through the real root command, small enough for the test suite.

Timings are never asserted: a loaded machine makes them anything. What is asserted is
the report's shape, the verdicts being present, the counts the benchmark took in the
store, and the query plans.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from mexfi.cli.app import app
from tests.conftest import _PG_SKIP, POSTGRES_URL

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def backend_args(backend: str) -> list[str]:
    """The options that put a benchmark on `backend` (PostgreSQL skipped when absent)."""
    if backend == "sqlite":
        return ["--backend", "sqlite"]
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    return ["--backend", "postgres", "--postgres-url", POSTGRES_URL]


def run_json(*args: str) -> dict[str, Any]:
    """`mexfi bench …--format json`: its one JSON object (exit 0 or 1, never a crash)."""
    result = CliRunner().invoke(app, ["bench", *args, "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def run_text(*args: str) -> str:
    """`mexfi bench …` in text: its stdout."""
    result = CliRunner().invoke(app, ["bench", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_goal_shape(goal: dict[str, Any]) -> None:
    assert set(goal) >= {"goal", "name", "backend", "figure", "limit", "unit", "met"}
    assert isinstance(goal["met"], bool)
    assert isinstance(goal["goal"], str) and ("<=" in goal["goal"] or ">=" in goal["goal"])


def assert_plans_use_indexes(plans: list[dict[str, Any]], backend: str) -> None:
    """Each hot query is served by an index: SQLite's plan searches an index; PostgreSQL's,
    on these small tables, may read one whole, but never where no index could serve it."""
    assert plans
    for plan in plans:
        assert plan["backend"] == backend
        assert plan["plan"], plan
        if backend == "sqlite":
            assert plan["uses_index"], plan
            assert not plan["full_scans"], plan
            assert any(
                marker in line
                for line in plan["plan"]
                for marker in ("SEARCH", "USING INDEX", "USING COVERING INDEX")
            ), plan
        else:
            assert plan["index_available"], plan
            lines = plan["plan"] if plan["uses_index"] else plan["plan_without_seqscan"]
            for table in ("records", "passive_records", "data_keys"):
                assert not any(f"Seq Scan on {table} " in line for line in lines), plan
