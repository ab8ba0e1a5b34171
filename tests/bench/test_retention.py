"""`mexfi bench retention`: both sweeps at two sizes, every due row where it belongs, plans."""

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

SIZES = (1200, 2400)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_sizes_every_due_row_handled_and_plans_indexed(backend: str) -> None:
    args = ["retention", "--records", str(SIZES[0]), "--records", str(SIZES[1])]
    args += ["--batch-size", "50", "--write-batch", "400", "--seed", "7"]
    data = run_json(*args, *backend_args(backend))

    assert data["benchmark"] == "retention" and data["seed"] == 7
    assert data["sizes"] == list(SIZES)
    assert isinstance(data["met"], bool) and isinstance(data["missed"], list)
    runs = data["results"]
    name = "sqlite" if backend == "sqlite" else "postgresql"
    assert [(r["backend"], r["size"]) for r in runs] == [(name, s) for s in SIZES]
    for run in runs:
        size = run["size"]
        destroyed = round(size * 0.1)
        assert run["skipped"] is None and run["missing_plans"] == []
        tiering, destruction = run["sweeps"]
        assert (tiering["sweep"], destruction["sweep"]) == ("tiering", "destruction")
        assert (tiering["due"], destruction["due"]) == (size - destroyed, destroyed)
        for sweep in (tiering, destruction):
            for path in ("engine", "baseline"):
                assert set(sweep[path]) >= {"rows", "seconds", "rows_per_second", "us_per_row"}
                assert sweep[path]["rows"] == sweep["due"]
            assert sweep["ratio"] is not None and sweep["ratio"] > 0
            assert isinstance(sweep["goal"], str) and isinstance(sweep["met"], bool)
            # Counted with SQL in the store after the sweep: nothing due is left behind.
            assert sweep["checks"] and sweep["failed_checks"] == []
            for check in sweep["checks"].values():
                assert check["found"] == check["expected"]
        assert tiering["checks"]["active rows left"] == {"found": 0, "expected": 0}
        assert tiering["checks"]["passive rows"]["found"] == tiering["due"]
        assert destruction["checks"]["keys left"] == {"found": 0, "expected": 0}
        assert destruction["checks"]["complete evidence"]["found"] == destroyed
        assert destruction["checks"]["pending evidence"]["found"] == 0
        assert {(p["label"], p["query"]) for p in run["plans"]} >= {
            ("tiering", "due page"),
            ("tiering", "key look-up"),
            ("destruction", "due page"),
            ("destruction", "key look-up"),
            ("destruction", "shred records"),
            ("erasure", "shred passive records"),
            ("idle", "pending evidence"),
        }
        # A few riders' tiered taps erased afterwards: gone from the passive tier, keys too.
        assert run["erasure_checks"]
        for check in run["erasure_checks"].values():
            assert check["found"] == check["expected"]
        assert_plans_use_indexes(run["plans"], name)
    goals = data["goals"]
    for goal in goals:
        assert_goal_shape(goal)
    names = {g["name"] for g in goals}
    assert {"tiering engine/plain time", "destruction engine/plain time"} <= names
    # Two sizes: the per-row cost's growth is judged for both sweeps.
    assert sum("per-row cost" in n for n in names) == 2
    # A miss is reported, never dropped: every goal not met is in `missed`.
    missed = " ".join(data["missed"])
    for goal in goals:
        assert goal["met"] or goal["name"] in missed


def test_text_fits_80_columns_and_explains() -> None:
    args = ["retention", "--records", "600", "--batch-size", "40", "--backend", "sqlite"]
    lines = run_text(*args, "--explain").splitlines()
    assert any(line.split()[:3] == ["sqlite", "600", "tiering"] for line in lines)
    assert any(line.startswith("plan of due page (tiering), sqlite at 600") for line in lines)
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
