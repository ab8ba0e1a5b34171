"""The benchmark: mexfi's figures always, Presidio's side by side when installed."""

from __future__ import annotations

import pytest

from mexfi.scan.bench import run_scan_bench
from mexfi.scan.devset import hand_written


def test_bench_reports_throughput_and_f1_for_mexfi() -> None:
    result = run_scan_bench(records=hand_written(), repeat=1, presidio=False)
    assert result.presidio is None and result.presidio_skipped
    assert result.mexfi.texts == len(hand_written())
    assert result.mexfi.mb_per_second > 0 and result.mexfi.scores.micro.f1 >= 0.95


def test_bench_runs_presidio_side_by_side() -> None:
    pytest.importorskip("presidio_analyzer", reason="presidio-analyzer is not installed")
    result = run_scan_bench(records=hand_written()[:40], repeat=1)
    assert result.presidio is not None, result.presidio_skipped
    assert result.ratio is not None and result.ratio > 1
    assert result.mexfi.scores.micro.f1 > result.presidio.scores.micro.f1
