"""`bench ingest`: the vault's batched, encrypted writes against plain inserts of the same rows.

Both paths run in the same process on the same database, with the same rows and the
same batch size, batch by batch in turn (so a checkpoint or an autovacuum falls on both
alike): the vault through `Vault.write_many` in one unit of work a batch (checks, purpose,
data keys, one AES-GCM seal a record, audit entries), the baseline through a SQLAlchemy
Core `insert` of the same rows, values as plaintext JSON, into a table shaped like
`records` (its columns and indexes), one transaction a batch. The ratio is vault time /
plain time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    insert,
)

from mexfi.bench.common import (
    Goal,
    Progress,
    Timer,
    backend_slot,
    machine,
    profiled,
    store_location,
)
from mexfi.bench.stores import analyze, count_rows, plain_json
from mexfi.db import Store, UTCDateTime, new_id
from mexfi.errors import Invalid

__all__ = [
    "GOAL_INGEST_RATIO",
    "GOAL_RECORDS_PER_SECOND",
    "IngestReport",
    "IngestResult",
    "PathResult",
    "run_ingest",
]

#: Issue 9: the vault within 1.3x of plain inserts of the same rows, batches of 1,000.
GOAL_INGEST_RATIO = 1.3
#: Issue 3: >= 20,000 encrypted records/s on PostgreSQL with batching.
GOAL_RECORDS_PER_SECOND = 20_000.0

PLAIN_TABLE = "bench_plain_records"
BENCH_CATEGORIES = ("card_use", "location")


@dataclass(frozen=True)
class PathResult:
    """One path (vault or plain) on one backend."""

    records: int
    seconds: float
    rows: int  # counted in the database afterwards

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def us_per_record(self) -> float:
        return self.seconds / self.records * 1e6 if self.records else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "records_per_second": round(self.records_per_second, 1),
            "us_per_record": round(self.us_per_record, 2),
        }


@dataclass(frozen=True)
class IngestResult:
    backend: str
    vault: PathResult | None = None
    plain: PathResult | None = None
    skipped: str | None = None
    location: str | None = None
    profiles: tuple[str, ...] = ()

    @property
    def ratio(self) -> float | None:
        """Vault time / plain time (1.0 = as fast as plain inserts)."""
        if self.vault is None or self.plain is None or self.plain.seconds <= 0:
            return None
        return self.vault.seconds / self.plain.seconds

    @property
    def rows_match(self) -> bool:
        return (
            self.vault is not None
            and self.plain is not None
            and self.vault.rows == self.plain.rows == self.vault.records == self.plain.records
        )

    def goals(self) -> list[Goal]:
        if self.skipped is not None:
            return []
        goals = [Goal("ingest vault/plain time", self.backend, self.ratio, GOAL_INGEST_RATIO, "x")]
        if self.backend == "postgresql" and self.vault is not None:
            goals.append(
                Goal(
                    "ingest records/s",
                    self.backend,
                    self.vault.records_per_second,
                    GOAL_RECORDS_PER_SECOND,
                    " records/s",
                    at_least=True,
                )
            )
        return goals

    def misses(self) -> list[str]:
        """Missed goals, and rows that did not arrive (a broken run is a miss too)."""
        missed = [g.verdict() for g in self.goals() if not g.met]
        if self.skipped is None and not self.rows_match:
            missed.append("rows counted in the store do not match the records written")
        return missed

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        goals = self.goals()
        return {
            "backend": self.backend,
            "skipped": self.skipped,
            "location": self.location,
            "engine": self.vault.to_dict() if self.vault else None,
            "baseline": self.plain.to_dict() if self.plain else None,
            "ratio": round(ratio, 3) if ratio is not None else None,
            "goal": goals[0].describe() if goals else None,
            "met": all(g.met for g in goals) if goals else None,
            "goals": [g.to_dict() for g in goals],
            "rows_match": self.rows_match if self.skipped is None else None,
            "missed": self.misses(),
            "profiles": list(self.profiles),
        }


@dataclass(frozen=True)
class IngestReport:
    records: int
    batch_size: int
    subjects: int
    seed: int
    results: list[IngestResult] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=machine)
    #: Timed under cProfile: the engine's figures are slower than without it.
    profiled: bool = False

    def misses(self) -> list[str]:
        return [m for r in self.results for m in r.misses()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": "ingest",
            "seed": self.seed,
            "machine": self.machine,
            "profiled": self.profiled,
            "records": self.records,
            "batch_size": self.batch_size,
            "subjects": self.subjects,
            "categories": list(BENCH_CATEGORIES),
            "engine": "Vault.write_many, one unit of work a batch",
            "baseline": f"SQLAlchemy Core insert into {PLAIN_TABLE} (shaped like records), "
            "plaintext JSON values, one transaction a batch",
            "ratio": "engine seconds / baseline seconds",
            "goals": [g.to_dict() for r in self.results for g in r.goals()],
            "met": not self.misses(),
            "missed": self.misses(),
            "results": [r.to_dict() for r in self.results],
        }


def plain_records_table(
    metadata: MetaData, name: str = PLAIN_TABLE, *extra: Column[Any], passive: bool = False
) -> Table:
    """A table shaped like `records` (or with `passive`, like `passive_records`): the same
    columns and indexes, payloads in plaintext."""
    indexes = [
        Index(
            f"ix_{name}_subject_category_collected", "subject_id", "category", "collected_at", "id"
        ),
        Index(f"ix_{name}_key_id", "key_id"),
    ]
    if not passive:
        indexes.append(Index(f"ix_{name}_category_collected_at", "category", "collected_at"))
    return Table(
        name,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("subject_id", String(32), nullable=False),
        Column("category", String(80), nullable=False),
        Column("collected_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=True),
        Column("key_id", String(32), nullable=True),
        Column("format", SmallInteger, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        *extra,
        *indexes,
    )


@dataclass(frozen=True)
class _Batch:
    policy_id: str
    actor_role: str
    purpose: str
    items: list[tuple[str, str, dict[str, Any], datetime]]  # subject, category, values, at


def _plan(
    rng: random.Random,
    *,
    riders: Sequence[str],
    drivers: Sequence[str],
    cards: dict[str, str],
    records: int,
    batch_size: int,
    now: datetime,
) -> list[_Batch]:
    """`records` records, half card_use taps, half location pings, in single-policy batches."""
    from mexfi.services import METRO_STATIONS, Synth

    synth = Synth(rng)
    stations = tuple(METRO_STATIONS)
    taps: list[tuple[str, str, dict[str, Any], datetime]] = []
    pings: list[tuple[str, str, dict[str, Any], datetime]] = []
    for index in range(records):
        at = now - timedelta(seconds=rng.randint(0, 7 * 86400))
        if (index % 2 == 0 and riders) or not drivers:
            rider = rng.choice(riders)
            values: dict[str, Any] = {
                "place": rng.choice(stations),
                "used_at": at,
                "kind": "card",
                "card_number": cards[rider],
            }
            taps.append((rider, "card_use", values, at))
        else:
            values = {
                "point": synth.point(),
                "recorded_at": at,
                "accuracy_m": Decimal(rng.randint(30, 250)) / 10,
            }
            pings.append((rng.choice(drivers), "location", values, at))
    tap_batches = [
        _Batch("bakikart", "service", "service_provision", taps[i : i + batch_size])
        for i in range(0, len(taps), batch_size)
    ]
    ping_batches = [
        _Batch("taxsee_driver", "system", "service_operation", pings[i : i + batch_size])
        for i in range(0, len(pings), batch_size)
    ]
    batches: list[_Batch] = []
    for index in range(max(len(tap_batches), len(ping_batches))):
        batches.extend(b[index] for b in (tap_batches, ping_batches) if index < len(b))
    return batches


def _bench_backend(
    store: Store,
    backend: str,
    *,
    records: int,
    batch_size: int,
    subjects: int,
    seed: int,
    profile_dir: Path | None,
    progress: Progress | None,
) -> IngestResult:
    from mexfi.migrations import upgrade_store
    from mexfi.policy import load_bundled_policies
    from mexfi.secrets import Secrets
    from mexfi.services import Synth
    from mexfi.vault import Actor, RecordCreate, Vault

    upgrade_store(store)
    metadata = MetaData()
    plain = plain_records_table(metadata)
    metadata.create_all(store.records_engine)
    vault = Vault(store, load_bundled_policies(), Secrets.generate("mk-bench"))
    rng = random.Random(seed)
    now = vault.clock.now()

    # Subjects are registered before the clock starts: the benchmark is about records.
    n_riders = max(subjects // 2, 1)
    n_drivers = max(subjects - n_riders, 1)
    synth = Synth(rng)
    service, system = Actor("bench", "service"), Actor("bench", "system")
    riders: list[str] = []
    drivers: list[str] = []
    cards: dict[str, str] = {}
    with vault.unit_of_work() as uow:
        for _ in range(n_riders):
            phone = synth.phone()
            rider = vault.register(
                uow,
                policy_id="bakikart",
                kind="rider",
                actor=service,
                purpose="service_provision",
                records={"phone": {"phone": phone}},
                lookup_phone=phone,
            ).id
            riders.append(rider)
            cards[rider] = synth.serial("9", 9)
        for _ in range(n_drivers):
            phone = synth.phone()
            person = synth.person()
            drivers.append(
                vault.register(
                    uow,
                    policy_id="taxsee_driver",
                    kind="driver",
                    actor=system,
                    purpose="licence_agreement",
                    records={
                        "registration": {
                            "full_name": person.full_name,
                            "date_of_birth": "1985-04-01",
                            "phone": phone,
                            "photo": synth.photo(),
                            "licence_series": "AB",
                            "licence_number": synth.serial("", 6),
                            "licence_issued_on": "2010-05-01",
                            "plate": "10-AB-123",
                        }
                    },
                    lookup_phone=phone,
                ).id
            )
        # TX-12: pings are taken inside an app session; one open over the planned week.
        for driver in drivers:
            vault.open_app_session(
                uow, subject_id=driver, actor=system, at=now - timedelta(days=7, minutes=1)
            )
    batches = _plan(
        rng,
        riders=riders,
        drivers=drivers,
        cards=cards,
        records=records,
        batch_size=batch_size,
        now=now,
    )
    actors = {"service": service, "system": system}
    analyze(store)

    profiles: list[str] = []
    engine = store.records_engine
    plain_timer = Timer()
    done = 0
    if progress:
        progress(backend, "write", 0, records)
    with profiled(profile_dir, f"ingest-{backend}", profiles) as vault_timer:
        for batch in batches:
            items = [RecordCreate(s, c, v, at) for s, c, v, at in batch.items]
            with vault_timer, vault.unit_of_work() as uow:
                vault.write_many(uow, items, actor=actors[batch.actor_role], purpose=batch.purpose)
            with plain_timer:
                rows = [
                    {
                        "id": new_id(),
                        "subject_id": s,
                        "category": c,
                        "collected_at": at,
                        "updated_at": None,
                        "key_id": None,
                        "format": 0,
                        "payload": plain_json(v),
                    }
                    for s, c, v, at in batch.items
                ]
                with engine.begin() as connection:
                    connection.execute(insert(plain), rows)
            done += len(batch.items)
            if progress:
                progress(backend, "write", done, records)

    categories = ", ".join(f"'{c}'" for c in BENCH_CATEGORIES)
    vault_rows = count_rows(store, f"SELECT count(*) FROM records WHERE category IN ({categories})")
    plain_rows = count_rows(store, f"SELECT count(*) FROM {PLAIN_TABLE}")
    return IngestResult(
        backend=backend,
        location=store_location(store),
        vault=PathResult(records=records, seconds=vault_timer.seconds, rows=vault_rows),
        plain=PathResult(records=records, seconds=plain_timer.seconds, rows=plain_rows),
        profiles=tuple(profiles),
    )


def run_ingest(
    *,
    records: int,
    batch_size: int = 1000,
    backends: Sequence[str] = ("sqlite",),
    postgres_url: str | None = None,
    subjects: int = 200,
    seed: int = 0,
    profile_dir: Path | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Write `records` through the vault and as plain rows on each backend; time both."""
    if records < 1 or batch_size < 1 or subjects < 2:
        raise Invalid("records and batch_size must be >= 1, subjects >= 2")
    report = IngestReport(
        records=records,
        batch_size=batch_size,
        subjects=subjects,
        seed=seed,
        profiled=profile_dir is not None,
    )
    for backend in backends:
        with backend_slot(backend, postgres_url, alone=len(backends) == 1) as slot:
            if slot.store is None:
                report.results.append(IngestResult(backend=slot.backend, skipped=slot.skipped))
                continue
            report.results.append(
                _bench_backend(
                    slot.store,
                    slot.backend,
                    records=records,
                    batch_size=batch_size,
                    subjects=subjects,
                    seed=seed,
                    profile_dir=profile_dir,
                    progress=progress,
                )
            )
    return report
