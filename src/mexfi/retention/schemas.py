"""What the retention engine returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["HoldRead", "RuleOutcome", "RunReport"]


@dataclass(frozen=True)
class HoldRead:
    id: str
    policy_id: str
    subject_id: str | None
    category: str | None
    reason: str
    placed_by: str
    placed_at: datetime
    lifted_at: datetime | None


@dataclass
class RuleOutcome:
    """What one rule did (or, in a dry run, would do) in one run."""

    policy_id: str
    rule_id: str
    action: str
    clauses: tuple[str, ...]
    cutoff: datetime | None
    #: Records (tiering) or subjects (destruction) due and not held.
    due: int = 0
    #: Of those, processed in this run.
    done: int = 0
    #: Records moved or destroyed.
    records: int = 0
    #: Subjects or records due but kept by a legal hold.
    held: int = 0
    #: Why a rule was not applied (an unsupported trigger), if it was not.
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat() if self.cutoff else None
        data["clauses"] = list(self.clauses)
        return data


@dataclass
class RunReport:
    run_id: str
    as_of: datetime
    dry_run: bool
    status: str
    recovered: int = 0
    rules: list[RuleOutcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "status": self.status,
            "recovered_destructions": self.recovered,
            "rules": [r.to_dict() for r in self.rules],
        }
