"""Benchmarks of mexfi's hot paths, each a function returning a report that prints as one
JSON object: the figures, the same-run baseline, their ratio, the goals and verdicts,
and the query plans of the hot queries it ran."""

from mexfi.bench.api import GOAL_READ_P99_MS, GOAL_READS_PER_SECOND, ApiPhase, ApiReport, run_api
from mexfi.bench.common import FLAT_TOLERANCE, Goal
from mexfi.bench.dsr import GOAL_EXPORT_RATIO, GOAL_P95_MS, DsrReport, DsrRun, SizeResult, run_dsr
from mexfi.bench.ingest import (
    GOAL_INGEST_RATIO,
    GOAL_RECORDS_PER_SECOND,
    IngestReport,
    IngestResult,
    PathResult,
    run_ingest,
)
from mexfi.bench.plans import Plan
from mexfi.bench.retention import (
    GOAL_DESTRUCTION_RATIO,
    GOAL_TIERING_RATIO,
    RetentionReport,
    RetentionRun,
    SweepPath,
    SweepResult,
    run_retention,
)
from mexfi.bench.scan import DEVSET_SEED, GOAL_MB_PER_SECOND, GOAL_SPEEDUP, ScanReport

__all__ = [
    "DEVSET_SEED",
    "FLAT_TOLERANCE",
    "GOAL_DESTRUCTION_RATIO",
    "GOAL_EXPORT_RATIO",
    "GOAL_INGEST_RATIO",
    "GOAL_MB_PER_SECOND",
    "GOAL_P95_MS",
    "GOAL_READS_PER_SECOND",
    "GOAL_READ_P99_MS",
    "GOAL_RECORDS_PER_SECOND",
    "GOAL_SPEEDUP",
    "GOAL_TIERING_RATIO",
    "ApiPhase",
    "ApiReport",
    "DsrReport",
    "DsrRun",
    "Goal",
    "IngestReport",
    "IngestResult",
    "PathResult",
    "Plan",
    "RetentionReport",
    "RetentionRun",
    "ScanReport",
    "SizeResult",
    "SweepPath",
    "SweepResult",
    "run_api",
    "run_dsr",
    "run_ingest",
    "run_retention",
]
