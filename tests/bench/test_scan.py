"""`mexfi bench scan`: one JSON object with the figures, Presidio as baseline, the goals."""

from __future__ import annotations

from mexfi.bench import ScanReport
from mexfi.scan import BenchResult, BenchRow, Score, Scores
from tests.bench.conftest import assert_goal_shape, run_json


def test_cli_json_without_presidio() -> None:
    data = run_json("scan", "--repeat", "1", "--no-presidio")
    assert data["benchmark"] == "scan" and data["seed"] == 6
    assert data["engine"]["engine"] == "mexfi" and data["engine"]["mb_per_second"] > 0
    assert data["baseline"] is None and data["ratio"] is None
    assert data["baseline_skipped"] == "not asked for"
    # Without a baseline only the throughput goal can be judged.
    assert [g["name"] for g in data["goals"]] == ["scanner MB/s"]
    for goal in data["goals"]:
        assert_goal_shape(goal)
    assert data["met"] == (not data["missed"])


def _row(engine: str, seconds: float) -> BenchRow:
    score = Score(10, 0, 0)
    return BenchRow(engine, 100, 1.0, seconds, Scores({"PHONE": score}, score))


def test_report_with_a_baseline() -> None:
    fast = ScanReport(BenchResult(_row("mexfi", 0.1), _row("presidio", 5.0), None), repeat=1)
    data = fast.to_dict()
    assert data["baseline"]["engine"] == "presidio"
    assert data["ratio"] == 50.0 and data["met"] is True and data["missed"] == []
    assert "texts" not in data["engine"]["per_type"]["PHONE"]
    slow = ScanReport(BenchResult(_row("mexfi", 1.0), _row("presidio", 2.0), None), repeat=1)
    assert slow.to_dict()["met"] is False
    assert any("presidio throughput" in m for m in slow.misses())
