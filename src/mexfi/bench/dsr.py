"""`bench dsr`: how fast an access request is answered in a large store (issues 5 and 9).

One store per backend grows in steps (say 500,000, then 5,000,000 records) through
`Vault.write_many`: BakıKart card_use taps of a few busy riders, one per measured subject
size (10, 1,000, 10,000 records), spread through the first step, and of filler riders
holding the rest; all collected within the last year, so BK-3.2's window keeps them.
The busy riders' rows also go, as plaintext JSON, into a plain table shaped like
`records` (the baseline's data). At each step, for each busy rider, the access export is
timed `runs` times after two warm-up runs, interleaved with the baseline:

* engine: `write_access_export` to a sink, in a unit of work of its own (subject and
  purpose checks, audit entry, key look-up, one AES-GCM open a record, sources, purposes,
  recipients, the subject's access log), committed;
* baseline: the same rows read from the plain table with SQLAlchemy Core (streamed, the
  same index order) and written as the same JSON records to the same kind of sink.

p50 and p95 per size; the ratio is engine p95 / baseline p95. "Flat" compares the largest
subject's p95 in the largest store with that in the smallest.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, insert, select

from mexfi.bench.common import (
    FLAT_TOLERANCE,
    Goal,
    Progress,
    Timer,
    backend_slot,
    machine,
    percentile,
    profiled,
    store_location,
)
from mexfi.bench.ingest import plain_records_table
from mexfi.bench.plans import Plan, PlanCapture, plan_misses
from mexfi.bench.stores import analyze, count_rows, plain_json
from mexfi.db import Store, new_id
from mexfi.errors import Invalid

__all__ = ["GOAL_EXPORT_RATIO", "GOAL_P95_MS", "DsrReport", "DsrRun", "SizeResult", "run_dsr"]

#: Issue 9: p95 at most 150 ms for a subject with 10,000 records ...
GOAL_P95_MS = 150.0
GOAL_SIZE = 10_000
#: ... within 3x of plain reads of the same rows written as JSON.
GOAL_EXPORT_RATIO = 3.0
PLAIN_TABLE = "bench_plain_export"
EXPECTED_PLANS = (("export", "export read"),)
#: Rows a filler rider holds: batches touch few subjects, as a day of taps would.
FILLER_TAPS = 5000


@dataclass(frozen=True)
class Samples:
    """Timings of one path, in milliseconds."""

    ms: tuple[float, ...]

    @property
    def p50(self) -> float:
        return percentile(self.ms, 0.5)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 0.95)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": len(self.ms),
            "p50_ms": round(self.p50, 2),
            "p95_ms": round(self.p95, 2),
            "max_ms": round(max(self.ms), 2),
        }


@dataclass(frozen=True)
class SizeResult:
    """One subject size in one store: the export, its baseline, the records they wrote."""

    records: int
    exported: int
    baseline_rows: int
    engine: Samples
    baseline: Samples
    export_bytes: int

    @property
    def ratio(self) -> float:
        return self.engine.p95 / self.baseline.p95 if self.baseline.p95 > 0 else 0.0

    def goals(self, backend: str, store_records: int) -> list[Goal]:
        if self.records < GOAL_SIZE:
            return []
        return [
            Goal("export p95", backend, self.engine.p95, GOAL_P95_MS, " ms", store_records),
            Goal(
                "export p95 engine/plain",
                backend,
                self.ratio,
                GOAL_EXPORT_RATIO,
                "x",
                store_records,
            ),
        ]

    def to_dict(self, backend: str, store_records: int) -> dict[str, Any]:
        goals = self.goals(backend, store_records)
        return {
            "subject_records": self.records,
            "exported": self.exported,
            "baseline_rows": self.baseline_rows,
            "export_bytes": self.export_bytes,
            "engine": self.engine.to_dict(),
            "baseline": self.baseline.to_dict(),
            "ratio": round(self.ratio, 3),
            "ratio_p50": round(self.engine.p50 / self.baseline.p50, 3)
            if self.baseline.p50 > 0
            else None,
            "goal": "; ".join(g.describe() for g in goals) or None,
            "met": all(g.met for g in goals) if goals else None,
        }


@dataclass(frozen=True)
class DsrRun:
    """One backend at one store size."""

    backend: str
    store_records: int
    sizes: tuple[SizeResult, ...] = ()
    fill_seconds: float = 0.0
    skipped: str | None = None
    location: str | None = None
    plans: tuple[Plan, ...] = ()
    missing_plans: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()

    def goals(self) -> list[Goal]:
        return [g for s in self.sizes for g in s.goals(self.backend, self.store_records)]

    def misses(self) -> list[str]:
        where = f"{self.backend} at {self.store_records:,}"
        missed = [g.verdict() for g in self.goals() if not g.met]
        missed += [
            f"{where}: {s.exported:,} records exported of a subject of {s.records:,}"
            for s in self.sizes
            if s.exported != s.records or s.baseline_rows != s.records
        ]
        missed += [f"{where}: no plan of {m}" for m in self.missing_plans]
        missed += plan_misses(self.plans, where)
        return missed

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "store_records": self.store_records,
            "skipped": self.skipped,
            "location": self.location,
            "fill_seconds": round(self.fill_seconds, 1),
            "sizes": [s.to_dict(self.backend, self.store_records) for s in self.sizes],
            "plans": [p.to_dict() for p in self.plans],
            "missing_plans": list(self.missing_plans),
            "profiles": list(self.profiles),
            "missed": self.misses(),
        }


@dataclass(frozen=True)
class DsrReport:
    store_sizes: tuple[int, ...]
    subject_sizes: tuple[int, ...]
    runs_per_size: int
    seed: int
    runs: list[DsrRun] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=machine)
    #: Timed under cProfile: the engine's figures are slower than without it.
    profiled: bool = False

    @property
    def results(self) -> list[DsrRun]:
        return self.runs

    def flatness(self) -> list[Goal]:
        """The largest subject's p95 in the largest store over that in the smallest."""
        goals = []
        for backend in dict.fromkeys(r.backend for r in self.runs if r.skipped is None):
            runs = sorted(
                (r for r in self.runs if r.backend == backend), key=lambda r: r.store_records
            )
            if len(runs) < 2 or not runs[0].sizes or not runs[-1].sizes:
                continue
            first, last = runs[0].sizes[-1], runs[-1].sizes[-1]
            goals.append(
                Goal(
                    f"export p95 of {last.records:,} records, store "
                    f"{runs[-1].store_records:,} / {runs[0].store_records:,}",
                    backend,
                    last.engine.p95 / first.engine.p95 if first.engine.p95 > 0 else None,
                    FLAT_TOLERANCE,
                    "x",
                    runs[-1].store_records,
                )
            )
        return goals

    def goals(self) -> list[Goal]:
        return [g for r in self.runs for g in r.goals()] + self.flatness()

    def misses(self) -> list[str]:
        return [m for r in self.runs for m in r.misses()] + [
            g.verdict() for g in self.flatness() if not g.met
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": "dsr",
            "seed": self.seed,
            "store_sizes": list(self.store_sizes),
            "subject_sizes": list(self.subject_sizes),
            "runs": self.runs_per_size,
            "machine": self.machine,
            "profiled": self.profiled,
            "engine": "write_access_export to a sink, one unit of work, committed",
            "baseline": f"SQLAlchemy Core read of the same rows from {PLAIN_TABLE} (plaintext "
            "JSON, shaped like records), written as the same JSON records",
            "ratio": "engine p95 / baseline p95",
            "goals": [g.to_dict() for g in self.goals()],
            "met": not self.misses(),
            "missed": self.misses(),
            "results": [r.to_dict() for r in self.runs],
        }


class _Sink:
    """Where an export goes: counted and dropped, as a socket would take it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        return len(chunk)


def _plain_export(
    connection: Connection,
    table: Table,
    subject_id: str,
    context: dict[str, bytes],
    write: Any,
) -> int:
    """The baseline: a subject's plaintext rows in index order, written as JSON records in
    chunks, the way the export writes them."""
    query = (
        select(
            table.c.id, table.c.category, table.c.collected_at, table.c.updated_at, table.c.payload
        )
        .where(table.c.subject_id == subject_id)
        .order_by(table.c.subject_id, table.c.category, table.c.collected_at, table.c.id)
        .execution_options(yield_per=2000)
    )
    parts: list[bytes] = [b'{"records":[']
    size = count = 0
    for record_id, category, collected_at, updated_at, payload in connection.execute(query):
        part = b"".join(
            (
                b',{"id":"' if count else b'{"id":"',
                record_id.encode(),
                b'","category":"',
                category.encode(),
                b'","tier":"active","collected_at":"',
                collected_at.isoformat().encode(),
                b'","updated_at":',
                b'"' + updated_at.isoformat().encode() + b'"' if updated_at else b"null",
                b",",
                context[category],
                b',"values":',
                payload,
                b"}",
            )
        )
        parts.append(part)
        size += len(part)
        count += 1
        if size >= 1 << 16:
            write(b"".join(parts))
            parts, size = [], 0
    parts.append(b"]}")
    write(b"".join(parts))
    return count


def _bench_store(
    store: Store,
    backend: str,
    *,
    store_sizes: Sequence[int],
    subject_sizes: Sequence[int],
    runs: int,
    batch_size: int,
    seed: int,
    profile_dir: Path | None,
    progress: Progress | None,
) -> list[DsrRun]:
    import orjson

    from mexfi.migrations import upgrade_store
    from mexfi.policy import load_bundled_policies
    from mexfi.requests import write_access_export
    from mexfi.secrets import Secrets
    from mexfi.services import METRO_STATIONS
    from mexfi.vault import Actor, RecordCreate, Vault

    upgrade_store(store)
    metadata = MetaData()
    plain = plain_records_table(metadata, PLAIN_TABLE)
    metadata.create_all(store.records_engine)
    policies = load_bundled_policies()
    vault = Vault(store, policies, Secrets.generate("mk-bench-dsr"))
    policy = policies["bakikart"]
    rng = random.Random(seed)
    now = vault.clock.now()
    service, dpo = Actor("bench", "service"), Actor("bench-dpo", "dpo")
    stations = tuple(METRO_STATIONS)
    year = 300 * 86400

    cards: dict[str, str] = {}

    def riders(count: int) -> list[str]:
        with vault.unit_of_work() as uow:
            made = vault.register_many(
                uow, policy_id="bakikart", kind="rider", count=count, actor=service
            )
        for subject in made:
            cards[subject.id] = f"9{rng.randrange(10**8):08d}"
        return [s.id for s in made]

    # The measured riders hold their taps and nothing else: an export of N records.
    busy = riders(len(subject_sizes))
    busy_ids = set(busy)
    # What each exported record says besides its values: the baseline writes it too.
    purpose = policy.requests.purposes.subject_request
    context = {
        c.id: orjson.dumps(
            {
                "source": c.source,
                "purposes": [
                    p.id for p in policy.purposes if c.id in p.categories and p.id != purpose
                ],
                "recipients": [r.id for r in policy.recipients if c.id in r.categories],
            }
        )[1:-1]
        for c in policy.categories
    }

    def tap(subject: str) -> RecordCreate:
        at = now - timedelta(seconds=rng.randint(60, year))
        values = {
            "place": rng.choice(stations),
            "used_at": at,
            "kind": "card",
            "card_number": cards[subject],
        }
        return RecordCreate(subject, "card_use", values, at)

    # The measured riders' taps fall at random places of the first step, among the others.
    first_step = max(store_sizes[0], sum(subject_sizes))
    busy_at: dict[int, str] = {}
    for subject, size in zip(busy, subject_sizes, strict=True):
        for slot in rng.sample(range(first_step), size):
            while slot in busy_at:
                slot = (slot + 1) % first_step
            busy_at[slot] = subject

    fillers: list[str] = []

    def filler(position: int) -> str:
        index = position // FILLER_TAPS
        while index >= len(fillers):
            fillers.extend(riders(100))
        return fillers[index]

    def items(start: int, stop: int) -> Iterator[RecordCreate]:
        for position in range(start, stop):
            subject = busy_at.get(position)
            yield tap(subject if subject is not None else filler(position))

    written = 0
    fill = Timer()
    results: list[DsrRun] = []
    profiles: list[str] = []
    for store_records in store_sizes:
        where = f"{backend} {store_records:,}"
        with fill:
            position = written
            target = store_records
            if progress:
                progress(where, "fill", written, store_records)
            while position < target:
                stop = min(position + batch_size, target)
                batch = list(items(position, stop))
                with vault.unit_of_work() as uow:
                    ids = vault.write_many(uow, batch, actor=service, purpose="service_provision")
                mine = [(r, i) for r, i in zip(ids, batch, strict=True) if i.subject_id in busy_ids]
                if mine:
                    with store.records_engine.begin() as connection:
                        connection.execute(
                            insert(plain),
                            [
                                {
                                    "id": record_id,
                                    "subject_id": i.subject_id,
                                    "category": i.category,
                                    "collected_at": i.collected_at,
                                    "updated_at": None,
                                    "key_id": None,
                                    "format": 0,
                                    "payload": plain_json(i.values),
                                }
                                for record_id, i in mine
                            ],
                        )
                written += stop - position
                position = stop
                if progress:
                    progress(where, "fill", written, store_records)
            analyze(store)
        in_store = count_rows(store, "SELECT count(*) FROM records")
        capture = PlanCapture(store)
        capture.phase("export", "export read")
        sizes = []
        runs_done = 0
        total_runs = (runs + 2) * len(busy)
        with (
            profiled(profile_dir, f"dsr-{backend}-{store_records}", profiles) as engine_timer,
            capture.listening(),
        ):
            for subject, size in zip(busy, subject_sizes, strict=True):
                engine_ms: list[float] = []
                plain_ms: list[float] = []
                exported = plain_rows = export_bytes = 0
                # The export answers a verified access request, as the workflow records one.
                request_id = new_id()
                with vault.unit_of_work() as uow:
                    vault.open_request(
                        uow,
                        request_id,
                        subject,
                        purpose=policy.requests.purposes.subject_request,
                        actor=dpo,
                    )
                for attempt in range(runs + 2):
                    sink = _Sink()
                    before = engine_timer.seconds
                    with engine_timer, vault.unit_of_work() as uow:
                        exported = write_access_export(
                            vault, uow, subject, sink.write, actor=dpo, request_id=request_id
                        )
                    elapsed = (engine_timer.seconds - before) * 1000
                    export_bytes = sink.size
                    plain_sink = _Sink()
                    started = time.perf_counter()
                    with store.records_engine.connect() as connection:
                        plain_rows = _plain_export(
                            connection, plain, subject, context, plain_sink.write
                        )
                    plain_elapsed = (time.perf_counter() - started) * 1000
                    if attempt >= 2:  # two warm-up runs: caches, prepared plans
                        engine_ms.append(elapsed)
                        plain_ms.append(plain_elapsed)
                    runs_done += 1
                    if progress:
                        progress(where, "export", runs_done, total_runs)
                sizes.append(
                    SizeResult(
                        records=size,
                        exported=exported,
                        baseline_rows=plain_rows,
                        engine=Samples(tuple(engine_ms)),
                        baseline=Samples(tuple(plain_ms)),
                        export_bytes=export_bytes,
                    )
                )
        results.append(
            DsrRun(
                backend=backend,
                store_records=in_store,
                sizes=tuple(sizes),
                fill_seconds=fill.seconds,
                location=store_location(store),
                plans=tuple(capture.plans),
                missing_plans=tuple(capture.missing(EXPECTED_PLANS)),
                profiles=tuple(profiles[-1:]),
            )
        )
    return results


def run_dsr(
    *,
    store_sizes: Sequence[int] = (500_000, 5_000_000),
    subject_sizes: Sequence[int] = (10, 1_000, 10_000),
    runs: int = 30,
    backends: Sequence[str] = ("sqlite",),
    postgres_url: str | None = None,
    batch_size: int = 20_000,
    seed: int = 0,
    profile_dir: Path | None = None,
    progress: Progress | None = None,
) -> DsrReport:
    """Grow a temporary store per backend through `store_sizes`; time the access export of
    each subject size at each step."""
    if runs < 1 or batch_size < 1 or not subject_sizes or any(s < 1 for s in subject_sizes):
        raise Invalid("runs, batch_size and every subject size must be >= 1")
    ordered = tuple(sorted(set(store_sizes)))
    subjects = tuple(sorted(subject_sizes))
    if not ordered or ordered[0] < sum(subjects) + len(subjects):
        raise Invalid(
            "the smallest store must hold the measured subjects' records",
            hint=f"at least {sum(subjects) + len(subjects):,} records",
        )
    report = DsrReport(
        store_sizes=ordered,
        subject_sizes=subjects,
        runs_per_size=runs,
        seed=seed,
        profiled=profile_dir is not None,
    )
    for backend in backends:
        with backend_slot(backend, postgres_url, alone=len(backends) == 1) as slot:
            if slot.store is None:
                report.runs.append(DsrRun(slot.backend, 0, skipped=slot.skipped))
                continue
            report.runs.extend(
                _bench_store(
                    slot.store,
                    slot.backend,
                    store_sizes=ordered,
                    subject_sizes=subjects,
                    runs=runs,
                    batch_size=batch_size,
                    seed=seed,
                    profile_dir=profile_dir,
                    progress=progress,
                )
            )
    return report
