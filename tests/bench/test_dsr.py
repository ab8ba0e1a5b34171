"""`mexfi bench dsr`: the streamed export against its plaintext baseline as the store grows."""

from __future__ import annotations

import pytest

from tests.bench.conftest import (
    BACKENDS,
    assert_goal_shape,
    assert_plans_use_indexes,
    backend_args,
    run_json,
    run_text,
)

STORES = (1500, 3000)
SUBJECTS = (10, 200)


@pytest.mark.parametrize("backend", BACKENDS)
def test_export_at_two_store_sizes(backend: str) -> None:
    args = ["dsr", "--records", str(STORES[0]), "--records", str(STORES[1])]
    args += ["--sizes", ",".join(map(str, SUBJECTS)), "--runs", "3", "--batch-size", "500"]
    data = run_json(*args, "--seed", "3", *backend_args(backend))

    assert data["benchmark"] == "dsr" and data["seed"] == 3
    assert data["store_sizes"] == list(STORES) and data["subject_sizes"] == list(SUBJECTS)
    name = "sqlite" if backend == "sqlite" else "postgresql"
    runs = data["results"]
    # One store, grown in steps: every record written is counted in it.
    assert [(r["backend"], r["store_records"]) for r in runs] == [(name, s) for s in STORES]
    for run in runs:
        assert run["skipped"] is None and run["missing_plans"] == []
        assert [s["subject_records"] for s in run["sizes"]] == list(SUBJECTS)
        for size in run["sizes"]:
            # Every record of the subject is in the export and in the baseline's read.
            assert size["exported"] == size["baseline_rows"] == size["subject_records"]
            assert size["export_bytes"] > 0
            for path in ("engine", "baseline"):
                assert size[path]["runs"] == 3
                assert set(size[path]) >= {"p50_ms", "p95_ms", "max_ms"}
            assert size["ratio"] > 0
            # The goals are about 10,000 records: smaller subjects carry none.
            assert size["goal"] is None and size["met"] is None
        assert {(p["label"], p["query"]) for p in run["plans"]} == {("export", "export read")}
        assert_plans_use_indexes(run["plans"], name)
    goals = data["goals"]
    assert [g["name"] for g in goals] == [
        f"export p95 of 200 records, store {STORES[1]:,} / {STORES[0]:,}"
    ]
    for goal in goals:
        assert_goal_shape(goal)


def test_goal_sized_subject_carries_the_goals() -> None:
    args = ["dsr", "--records", "10200", "--sizes", "10000", "--runs", "1", "--backend", "sqlite"]
    data = run_json(*args, "--batch-size", "5000")
    (run,) = data["results"]
    (size,) = run["sizes"]
    assert size["exported"] == 10_000
    assert size["goal"] == "export p95 <= 150 ms; export p95 engine/plain <= 3x"
    assert isinstance(size["met"], bool)
    assert {g["name"] for g in data["goals"]} == {"export p95", "export p95 engine/plain"}
    missed = " ".join(data["missed"])
    for goal in data["goals"]:
        assert goal["met"] or goal["name"] in missed


def test_text_fits_80_columns() -> None:
    args = ["dsr", "--records", "800", "--sizes", "5,50", "--runs", "2", "--backend", "sqlite"]
    lines = run_text(*args, "--batch-size", "400", "--explain").splitlines()
    assert any(line.split()[:3] == ["sqlite", "800", "50"] for line in lines)
    assert any(line.startswith("plan of export read (export)") for line in lines)
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
