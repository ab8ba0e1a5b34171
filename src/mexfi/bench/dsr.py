"""`bench dsr`: how fast an access request is answered in a large store (issue 5).

The store is filled through `Vault.write_many`, in large batches, with BakıKart
card_use taps: one busy rider per measured size (10, 1,000, 10,000 records by
default, four fields a tap) and filler riders holding the rest (one field a tap),
all collected within the last year so BK-3.2's window keeps them. Then the access
export of each busy rider (`export_access` + `export_json`: decrypt every record,
attach purposes, sources, recipients, the subject's audit log, serialise) is timed
`runs` times after two warm-up runs; p50 and p95 are reported per size.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mexfi.errors import Invalid, Unavailable

__all__ = ["GOAL_P95_MS", "DsrProgress", "DsrReport", "DsrResult", "SizeResult", "run_dsr"]

#: Issue 5: p95 under 250 ms for a subject with 10,000 records.
GOAL_P95_MS = 250.0
GOAL_SIZE = 10_000

#: Called as the store fills: (backend, records written, records planned).
DsrProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SizeResult:
    records: int
    exported: int
    runs: int
    p50_ms: float
    p95_ms: float
    max_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "exported": self.exported,
            "runs": self.runs,
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "max_ms": round(self.max_ms, 2),
        }


@dataclass(frozen=True)
class DsrResult:
    backend: str
    sizes: list[SizeResult] = field(default_factory=list)
    store_records: int = 0
    fill_seconds: float = 0.0
    location: str | None = None
    skipped: str | None = None

    def missed(self) -> bool:
        return any(s.records >= GOAL_SIZE and s.p95_ms >= GOAL_P95_MS for s in self.sizes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "skipped": self.skipped,
            "location": self.location,
            "store_records": self.store_records,
            "fill_seconds": round(self.fill_seconds, 1),
            "sizes": [s.to_dict() for s in self.sizes],
            "missed": self.missed(),
        }


@dataclass(frozen=True)
class DsrReport:
    records: int
    runs: int
    results: list[DsrResult] = field(default_factory=list)

    def missed(self) -> bool:
        return any(r.missed() for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": "dsr",
            "records": self.records,
            "runs": self.runs,
            "goal": {"p95_ms": GOAL_P95_MS, "subject_records": GOAL_SIZE},
            "results": [r.to_dict() for r in self.results],
        }


def _percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def _bench_store(
    store: Any,
    backend: str,
    *,
    records: int,
    sizes: Sequence[int],
    runs: int,
    batch_size: int,
    seed: int,
    progress: DsrProgress | None,
) -> DsrResult:
    from sqlalchemy import func, select

    from mexfi.migrations import upgrade_store
    from mexfi.policy.loader import load_bundled_policies
    from mexfi.requests.answers import export_access, export_json
    from mexfi.secrets import Secrets
    from mexfi.services.synthetic import METRO_STATIONS
    from mexfi.vault import Actor, RecordCreate, Vault
    from mexfi.vault.models import Record

    upgrade_store(store)
    vault = Vault(store, load_bundled_policies(), Secrets.generate("mk-bench-dsr"))
    rng = random.Random(seed)
    now = vault.clock.now()
    service, dpo = Actor("bench", "service"), Actor("bench-dpo", "dpo")
    stations = tuple(METRO_STATIONS)

    def register(n: int) -> str:
        phone = f"+99450{n:07d}"
        return vault.register(
            policy_id="bakikart",
            kind="rider",
            actor=service,
            purpose="service_provision",
            records={"phone": {"phone": phone}},
            lookup_phone=phone,
        ).id

    busy = [register(i) for i in range(len(sizes))]
    fillers_needed = max(records - sum(sizes) - len(sizes), 0)
    n_fillers = min(max(fillers_needed // 5000, 1), 1000) if fillers_needed else 0
    fillers = [register(len(sizes) + i) for i in range(n_fillers)]
    registered = len(busy) + len(fillers)
    filler_taps = max(records - sum(sizes) - registered, 0)
    total = sum(sizes) + filler_taps
    year = 300 * 86400

    def busy_items() -> Any:
        for subject, size in zip(busy, sizes, strict=True):
            for _ in range(size):
                at = now - timedelta(seconds=rng.randint(60, year))
                yield RecordCreate(
                    subject,
                    "card_use",
                    {
                        "place": rng.choice(stations),
                        "used_at": at,
                        "kind": "card",
                        "card_number": "900123456",
                    },
                    at,
                )

    def filler_items() -> Any:
        for index in range(filler_taps):
            at = now - timedelta(seconds=rng.randint(60, year))
            yield RecordCreate(fillers[index % len(fillers)], "card_use", {"used_at": at}, at)

    started = time.perf_counter()
    done = 0
    batch: list[Any] = []
    for source in (busy_items(), filler_items()):
        for item in source:
            batch.append(item)
            if len(batch) >= batch_size:
                vault.write_many(batch, actor=service, purpose="service_provision")
                done += len(batch)
                batch = []
                if progress:
                    progress(backend, done, total)
    if batch:
        vault.write_many(batch, actor=service, purpose="service_provision")
        done += len(batch)
        if progress:
            progress(backend, done, total)
    fill_seconds = time.perf_counter() - started
    if store.dialect == "postgresql":
        from sqlalchemy import text

        with store.records_engine.connect() as connection:
            connection.execute(text("ANALYZE"))
    with store.records() as session:
        in_store = int(session.scalar(select(func.count()).select_from(Record)) or 0)

    results = []
    for subject, size in zip(busy, sizes, strict=True):
        samples = []
        exported = 0
        for attempt in range(runs + 2):
            t0 = time.perf_counter()
            data = export_access(vault, subject, actor=dpo)
            export_json(data)
            elapsed = (time.perf_counter() - t0) * 1000
            exported = len(data["records"])
            if attempt >= 2:  # two warm-up runs: caches, prepared plans
                samples.append(elapsed)
        results.append(
            SizeResult(
                records=size,
                exported=exported,
                runs=runs,
                p50_ms=_percentile(samples, 0.5),
                p95_ms=_percentile(samples, 0.95),
                max_ms=max(samples),
            )
        )
    return DsrResult(
        backend=backend,
        sizes=results,
        store_records=in_store,
        fill_seconds=fill_seconds,
        location=(
            f"schema {store.config.records_schema}, dropped after"
            if store.dialect == "postgresql"
            else "temporary directory, removed after"
        ),
    )


def run_dsr(
    *,
    records: int = 5_000_000,
    sizes: Sequence[int] = (10, 1_000, 10_000),
    runs: int = 30,
    backends: Sequence[str] = ("sqlite",),
    postgres_url: str | None = None,
    batch_size: int = 20_000,
    seed: int = 0,
    progress: DsrProgress | None = None,
) -> DsrReport:
    """Fill a temporary store per backend and time the access export per subject size."""
    from mexfi.bench.stores import check_postgres_url, postgres_store, sqlite_store

    if runs < 1 or batch_size < 1 or not sizes or any(s < 1 for s in sizes):
        raise Invalid("runs, batch_size and every size must be >= 1")
    report = DsrReport(records=records, runs=runs)
    options: dict[str, Any] = {
        "records": records,
        "sizes": list(sizes),
        "runs": runs,
        "batch_size": batch_size,
        "seed": seed,
        "progress": progress,
    }
    for backend in backends:
        if backend == "sqlite":
            with sqlite_store() as store:
                report.results.append(_bench_store(store, "sqlite", **options))
            continue
        if backend not in ("postgres", "postgresql"):
            raise Invalid(f"unknown backend {backend!r}", hint="use sqlite or postgres")
        if postgres_url is None and len(backends) > 1:
            report.results.append(
                DsrResult(backend="postgresql", skipped="no PostgreSQL URL (--postgres-url)")
            )
            continue
        url = check_postgres_url(postgres_url)
        try:
            with postgres_store(url) as store:
                report.results.append(_bench_store(store, "postgresql", **options))
        except Unavailable as exc:
            if len(backends) == 1:
                raise
            report.results.append(DsrResult(backend="postgresql", skipped=exc.message))
    return report
