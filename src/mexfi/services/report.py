"""What a run of an operator's reference flow did: counts by kind of operation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FlowReport"]


@dataclass
class FlowReport:
    """Counts of what a reference flow did (`subjects`, `records`, `reads`, …), its seed and
    the time its clock gave at the start; never a personal value."""

    service: str
    seed: int
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, what: str, count: int = 1) -> None:
        self.counts[what] += count

    def __getitem__(self, what: str) -> int:
        return self.counts[what]

    def __str__(self) -> str:
        done = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        return f"{self.service} flow, seed {self.seed}: {done}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "seed": self.seed,
            "counts": dict(sorted(self.counts.items())),
        }
