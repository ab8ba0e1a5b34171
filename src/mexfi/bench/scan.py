"""`bench scan`: mexfi's scanner against Presidio's analyzer, as one report with goals.

The measuring is `mexfi.scan.run_scan_bench` (the held-out development set, generated
from a fixed seed, and the hand-written sentences); this module turns its result into a
report of the same shape as the other benchmarks: the figures, the baseline (Presidio),
the ratio, the goals of issue 6 and their verdicts. Scores only, never the texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mexfi.bench.common import Goal, machine

if TYPE_CHECKING:
    from mexfi.scan import BenchResult, BenchRow

__all__ = ["DEVSET_SEED", "GOAL_MB_PER_SECOND", "GOAL_SPEEDUP", "ScanReport"]

#: Issue 6: at least 2 MB/s on one core ...
GOAL_MB_PER_SECOND = 2.0
#: ... and at least 20x Presidio's throughput on the same texts.
GOAL_SPEEDUP = 20.0
#: The seed the development set is generated from (`mexfi.scan.devset.generate`).
DEVSET_SEED = 6


def _row(row: BenchRow) -> dict[str, Any]:
    micro = row.scores.micro
    return {
        "engine": row.engine,
        "texts": row.texts,
        "megabytes": round(row.megabytes, 4),
        "seconds": round(row.seconds, 4),
        "texts_per_second": round(row.texts_per_second, 1),
        "mb_per_second": round(row.mb_per_second, 3),
        "micro": {
            "precision": round(micro.precision, 4),
            "recall": round(micro.recall, 4),
            "f1": round(micro.f1, 4),
        },
        "per_type": {
            kind: {
                "precision": round(score.precision, 4),
                "recall": round(score.recall, 4),
                "f1": round(score.f1, 4),
            }
            for kind, score in sorted(row.scores.per_type.items())
        },
    }


@dataclass(frozen=True)
class ScanReport:
    result: BenchResult
    repeat: int
    machine: dict[str, Any] = field(default_factory=machine)

    def goals(self) -> list[Goal]:
        ours = self.result.mexfi
        goals = [
            Goal(
                "scanner MB/s",
                "one core",
                ours.mb_per_second,
                GOAL_MB_PER_SECOND,
                " MB/s",
                at_least=True,
            )
        ]
        goals.append(
            Goal(
                "mexfi/presidio throughput",
                "one core",
                self.result.ratio,
                GOAL_SPEEDUP,
                "x",
                at_least=True,
            )
        )
        return goals

    def misses(self) -> list[str]:
        missed = [g.verdict() for g in self.goals() if not g.met]
        if self.result.presidio is None:
            missed = [m for m in missed if "presidio" not in m]
        return missed

    def to_dict(self) -> dict[str, Any]:
        result = self.result
        ratio = result.ratio
        goals = self.goals()
        if result.presidio is None:
            # No baseline, no ratio: that goal cannot be judged in this run.
            goals = goals[:1]
        return {
            "benchmark": "scan",
            "seed": DEVSET_SEED,
            "repeat": self.repeat,
            "machine": self.machine,
            "texts": "held-out development set (generated, seeded) and hand-written sentences",
            "engine": _row(result.mexfi),
            "baseline": _row(result.presidio) if result.presidio else None,
            "baseline_skipped": result.presidio_skipped,
            "ratio": round(ratio, 3) if ratio is not None else None,
            "ratio_is": "mexfi MB/s / presidio MB/s",
            "goals": [g.to_dict() for g in goals],
            "goal": "; ".join(g.describe() for g in goals),
            "met": all(g.met for g in goals),
            "missed": self.misses(),
        }
