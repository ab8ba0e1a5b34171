"""`mexfi bench api`: `mexfi serve` under load on PostgreSQL, beside its own ceiling."""

from __future__ import annotations

import pytest

from tests.bench.conftest import assert_goal_shape, backend_args, run_json

PHASES = ["ceiling", "register", "read", "write", "intake"]


@pytest.mark.postgres
def test_api_phases_and_the_ratio_to_the_same_run_ceiling() -> None:
    postgres = backend_args("postgres")[2:]
    args = ["api", "--requests", "40", "--seconds", "20", "--concurrency", "4"]
    data = run_json(*args, "--subjects", "10", "--workers", "2", *postgres)

    assert data["benchmark"] == "api" and data["backend"] == "postgresql"
    assert data["workers"] == 2 and data["concurrency"] == 4
    phases = {p["phase"]: p for p in data["phases"]}
    assert list(phases) == PHASES
    assert phases["register"]["requests"] == 10 and phases["intake"]["requests"] == 10
    ceiling = phases["ceiling"]["per_second"]
    for phase in phases.values():
        # Every request answered 2xx (a read, write or intake that failed would show here).
        assert phase["ok"] == phase["requests"] > 0, phase
        assert 0 < phase["p50_ms"] <= phase["p99_ms"]
        # The ratio is this phase's throughput over this run's ceiling; both are reported
        # rounded (ratio to 3 places, rates to 0.1/s), so a small ratio differs by up to 0.0005.
        expected = phase["per_second"] / ceiling
        assert phase["ratio_to_ceiling"] == pytest.approx(expected, rel=0.01, abs=0.0006)
    assert phases["ceiling"]["ratio_to_ceiling"] == 1.0
    # Every read answered is in the audit log.
    assert data["reads_audited"] == phases["read"]["ok"] == 40
    assert {g["name"] for g in data["goals"]} == {"reads", "read p99"}
    for goal in data["goals"]:
        assert_goal_shape(goal)
        assert goal["met"] or any(goal["name"] in m for m in data["missed"])
