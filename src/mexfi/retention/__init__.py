"""Retention: the policies' schedules applied on time, provably (TX-7.7, TX-8, BK-3.2, BK-3.3)."""

from mexfi.retention.errors import HoldNotFound, UnderLegalHold
from mexfi.retention.schemas import (
    HoldRead,
    RetentionStatus,
    RuleOutcome,
    RunError,
    RunRead,
    RunReport,
)
from mexfi.retention.service import (
    DEFAULT_LEASE,
    RetentionEngine,
    active_holds,
    certificates,
    holds_on,
    lift_hold,
    place_hold,
    retention_actor,
    retention_status,
)
from mexfi.retention.worker import retry_delay, run_worker

__all__ = [
    "DEFAULT_LEASE",
    "HoldNotFound",
    "HoldRead",
    "RetentionEngine",
    "RetentionStatus",
    "RuleOutcome",
    "RunError",
    "RunRead",
    "RunReport",
    "UnderLegalHold",
    "active_holds",
    "certificates",
    "holds_on",
    "lift_hold",
    "place_hold",
    "retention_actor",
    "retention_status",
    "retry_delay",
    "run_worker",
]
