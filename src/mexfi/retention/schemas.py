"""What the retention engine returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mexfi.vault import QuarantineRead

__all__ = ["HoldRead", "RetentionStatus", "RuleOutcome", "RunError", "RunRead", "RunReport"]


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
    #: Records that would not open, moved to the vault's quarantine instead.
    quarantined: int = 0
    #: Why a rule was not applied (an unsupported trigger), if it was not.
    skipped: str | None = None
    #: What stopped the rule part-way (its batches before that are done), or the last
    #: batch that failed, if anything did.
    error: str | None = None
    #: Batches that failed and rolled back while the sweep went on past them.
    failed_batches: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat() if self.cutoff else None
        data["clauses"] = list(self.clauses)
        return data


@dataclass(frozen=True)
class RunError:
    """Something a run could not do (a rule, a policy file); the rest of the run went on."""

    #: What failed: `rule bakikart/passive_after_one_year`, `policy file …/x.yaml`, …
    where: str
    #: Why, naming ids, never values.
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "error": self.error}


@dataclass
class RunReport:
    run_id: str
    as_of: datetime
    dry_run: bool
    #: running, complete, partial (something in `errors`), stopped, failed
    status: str
    recovered: int = 0
    rules: list[RuleOutcome] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    #: Runs killed mid-way that this run found and closed (`abandoned`).
    abandoned: list[str] = field(default_factory=list)
    #: Seconds the rewrite of the key store's data-key table took, if this run did one
    #: (PostgreSQL, after shredding: the shredded keys left its files).
    key_store_rewritten_in: float | None = None

    @property
    def quarantined(self) -> int:
        """Records this run moved to quarantine."""
        return sum(r.quarantined for r in self.rules)

    @property
    def faulted(self) -> bool:
        """Something failed or was quarantined: the CLI exits non-zero."""
        return bool(self.errors) or self.quarantined > 0

    def summary(self) -> dict[str, Any]:
        """What `retention_runs.summary` keeps of the run."""
        return {
            "rules": [r.to_dict() for r in self.rules],
            "errors": [e.to_dict() for e in self.errors],
            "abandoned_runs": list(self.abandoned),
            "key_store_rewritten_in": self.key_store_rewritten_in,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "status": self.status,
            "recovered_destructions": self.recovered,
            "quarantined": self.quarantined,
            "abandoned_runs": list(self.abandoned),
            "key_store_rewritten_in": self.key_store_rewritten_in,
            "errors": [e.to_dict() for e in self.errors],
            "rules": [r.to_dict() for r in self.rules],
        }


@dataclass(frozen=True)
class RunRead:
    """A run as `retention_runs` keeps it."""

    id: str
    as_of: datetime
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None
    status: str
    quarantined: int
    errors: tuple[RunError, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "as_of": self.as_of.isoformat(),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "heartbeat_at": self.heartbeat_at.isoformat() if self.heartbeat_at else None,
            "status": self.status,
            "quarantined": self.quarantined,
            "errors": [e.to_dict() for e in self.errors],
        }


@dataclass(frozen=True)
class RetentionStatus:
    """The latest runs and the vault's quarantine, for `mexfi retention status`."""

    runs: list[RunRead]
    #: {(policy, category, reason): records} in quarantine.
    quarantine_counts: dict[tuple[str, str, str], int]
    #: The newest quarantined records (ids and evidence, never values).
    quarantined: list[QuarantineRead]

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantine_counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [r.to_dict() for r in self.runs],
            "quarantine": {
                "total": self.quarantined_total,
                "by_category": [
                    {"policy": p, "category": c, "reason": r, "records": n}
                    for (p, c, r), n in sorted(self.quarantine_counts.items())
                ],
                "records": [
                    {
                        "record_id": q.record_id,
                        "policy": q.policy_id,
                        "subject_id": q.subject_id,
                        "category": q.category,
                        "tier": q.tier,
                        "key_id": q.key_id,
                        "payload_sha256": q.payload_sha256,
                        "reason": q.reason,
                        "detected_by": q.detected_by,
                        "collected_at": q.collected_at.isoformat(),
                        "quarantined_at": q.quarantined_at.isoformat(),
                    }
                    for q in self.quarantined
                ],
            },
        }
