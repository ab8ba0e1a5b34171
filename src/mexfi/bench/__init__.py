"""Benchmarks of mexfi's hot paths, each a pure function returning a report."""

from mexfi.bench.ingest import BackendResult, IngestReport, PathResult, run_ingest

__all__ = ["BackendResult", "IngestReport", "PathResult", "run_ingest"]
