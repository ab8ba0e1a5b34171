"""Retention: the policies' schedules applied on time, provably (TX-7.7, TX-8, BK-3.2, BK-3.3)."""

from mexfi.retention.errors import HoldNotFound, UnderLegalHold
from mexfi.retention.schemas import HoldRead, RuleOutcome, RunReport
from mexfi.retention.service import (
    RetentionEngine,
    active_holds,
    certificates,
    holds_on,
    lift_hold,
    place_hold,
    retention_actor,
)
from mexfi.retention.worker import run_worker

__all__ = [
    "HoldNotFound",
    "HoldRead",
    "RetentionEngine",
    "RuleOutcome",
    "RunReport",
    "UnderLegalHold",
    "active_holds",
    "certificates",
    "holds_on",
    "lift_hold",
    "place_hold",
    "retention_actor",
    "run_worker",
]
