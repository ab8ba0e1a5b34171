"""`bench ingest`: the vault's batched, encrypted writes against plain inserts of the same rows.

Both paths run in the same process on the same database, with the same rows and the
same batch size: the vault through `Vault.write_many` (validation, purpose check, data
keys, AES-GCM per field, audit entries, one transaction a batch), the baseline through
a plain SQLAlchemy Core `insert` of the same columns into a table shaped like `records`,
its values as plaintext JSON. The ratio is vault time / plain time.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)

from mexfi.bench.stores import check_postgres_url, json_default, postgres_store, sqlite_store
from mexfi.db import Store, UTCDateTime
from mexfi.errors import Invalid, Unavailable

__all__ = [
    "GOAL_RATIO",
    "GOAL_RECORDS_PER_SECOND",
    "BackendResult",
    "IngestProgress",
    "IngestReport",
    "PathResult",
    "run_ingest",
]

#: Issue 3: >= 20,000 encrypted records/s on PostgreSQL with batching ...
GOAL_RECORDS_PER_SECOND = 20_000.0
#: ... and the vault within 1.5x of the plain baseline.
GOAL_RATIO = 1.5

PLAIN_TABLE = "bench_plain_records"
BENCH_CATEGORIES = ("card_use", "location")

#: Called as records are written: (backend, path, records done, records planned).
IngestProgress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class PathResult:
    """One path (vault or plain) on one backend."""

    records: int
    seconds: float
    rows: int  # counted in the database afterwards

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "records_per_second": round(self.records_per_second, 1),
        }


@dataclass(frozen=True)
class BackendResult:
    backend: str
    vault: PathResult | None = None
    plain: PathResult | None = None
    skipped: str | None = None
    #: Where it ran: the temporary schema (PostgreSQL), "temporary directory" (SQLite).
    location: str | None = None

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

    def misses(self) -> list[str]:
        """The goals of issue 3 this run missed (throughput counts on PostgreSQL only)."""
        if self.vault is None or self.ratio is None:
            return []
        missed = []
        if self.backend == "postgresql" and self.vault.records_per_second < GOAL_RECORDS_PER_SECOND:
            missed.append(
                f"{self.vault.records_per_second:,.0f} encrypted records/s < "
                f"{GOAL_RECORDS_PER_SECOND:,.0f}"
            )
        if self.ratio > GOAL_RATIO:
            missed.append(f"vault/plain ratio {self.ratio:.2f} > {GOAL_RATIO}")
        return missed

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "backend": self.backend,
            "skipped": self.skipped,
            "location": self.location,
            "vault": self.vault.to_dict() if self.vault else None,
            "plain": self.plain.to_dict() if self.plain else None,
            "ratio": round(ratio, 3) if ratio is not None else None,
            "rows_match": self.rows_match if self.skipped is None else None,
            "missed": self.misses(),
        }


@dataclass(frozen=True)
class IngestReport:
    records: int
    batch_size: int
    subjects: int
    results: list[BackendResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": "ingest",
            "records": self.records,
            "batch_size": self.batch_size,
            "subjects": self.subjects,
            "categories": list(BENCH_CATEGORIES),
            "goal": {
                "postgresql_records_per_second": GOAL_RECORDS_PER_SECOND,
                "max_ratio": GOAL_RATIO,
            },
            "results": [r.to_dict() for r in self.results],
        }


def _plain_table(metadata: MetaData) -> Table:
    """The columns of `records`, with its indexes; the payload is plaintext JSON."""
    return Table(
        PLAIN_TABLE,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("subject_id", String(32), nullable=False),
        Column("category", String(80), nullable=False),
        Column("collected_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=True),
        Column("key_id", String(32), nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Index(f"ix_{PLAIN_TABLE}_subject_category", "subject_id", "category"),
        Index(f"ix_{PLAIN_TABLE}_category_collected_at", "category", "collected_at"),
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
    from mexfi.services.synthetic import METRO_STATIONS, Synth

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
    progress: IngestProgress | None,
) -> BackendResult:
    from mexfi.migrations import upgrade_store
    from mexfi.policy.loader import load_bundled_policies
    from mexfi.secrets import Secrets
    from mexfi.services.synthetic import Synth
    from mexfi.vault import Actor, RecordCreate, Vault
    from mexfi.vault.models import Record

    upgrade_store(store)
    metadata = MetaData()
    plain = _plain_table(metadata)
    metadata.create_all(store.records_engine)
    vault = Vault(store, load_bundled_policies(), Secrets.generate("mk-bench"))
    rng = random.Random(seed)
    now = vault.clock.now()

    # Subjects are registered before the clock starts: the benchmark is about records.
    n_riders = max(subjects // 2, 1)
    n_drivers = max(subjects - n_riders, 1)
    synth = Synth(rng)
    service, system = Actor("bench", "service"), Actor("bench", "system")
    riders, drivers, cards = [], [], {}
    for _ in range(n_riders):
        phone = synth.phone()
        rider = vault.register(
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

    done = 0
    if progress:
        progress(backend, "vault", 0, records)
    started = time.perf_counter()
    for batch in batches:
        vault.write_many(
            [RecordCreate(s, c, v, at) for s, c, v, at in batch.items],
            actor=actors[batch.actor_role],
            purpose=batch.purpose,
        )
        done += len(batch.items)
        if progress:
            progress(backend, "vault", done, records)
    vault_seconds = time.perf_counter() - started

    done = 0
    if progress:
        progress(backend, "plain", 0, records)
    engine = store.records_engine
    started = time.perf_counter()
    for batch in batches:
        rows = [
            {
                "id": uuid.uuid4().hex,
                "subject_id": s,
                "category": c,
                "collected_at": at,
                "updated_at": None,
                "key_id": None,
                "payload": json.dumps(
                    v, default=json_default, ensure_ascii=False, separators=(",", ":")
                ).encode(),
            }
            for s, c, v, at in batch.items
        ]
        with engine.begin() as connection:
            connection.execute(insert(plain), rows)
        done += len(batch.items)
        if progress:
            progress(backend, "plain", done, records)
    plain_seconds = time.perf_counter() - started

    with engine.connect() as connection:
        vault_rows = int(
            connection.scalar(
                select(func.count())
                .select_from(Record)
                .where(Record.category.in_(BENCH_CATEGORIES))
            )
            or 0
        )
        plain_rows = int(connection.scalar(select(func.count()).select_from(plain)) or 0)
    return BackendResult(
        backend=backend,
        location=(
            f"schema {store.config.records_schema} (keys {store.config.keys_schema}, "
            f"passive {store.config.passive_schema})"
            if store.dialect == "postgresql"
            else "temporary directory"
        ),
        vault=PathResult(records=records, seconds=vault_seconds, rows=vault_rows),
        plain=PathResult(records=records, seconds=plain_seconds, rows=plain_rows),
    )


def run_ingest(
    *,
    records: int,
    batch_size: int = 1000,
    backends: Sequence[str] = ("sqlite",),
    postgres_url: str | None = None,
    subjects: int = 200,
    seed: int = 0,
    progress: IngestProgress | None = None,
) -> IngestReport:
    """Write `records` through the vault and as plain rows on each backend; time both."""
    if records < 1 or batch_size < 1 or subjects < 2:
        raise Invalid("records and batch_size must be >= 1, subjects >= 2")
    report = IngestReport(records=records, batch_size=batch_size, subjects=subjects)
    for backend in backends:
        if backend == "sqlite":
            with sqlite_store() as store:
                result = _bench_backend(
                    store,
                    "sqlite",
                    records=records,
                    batch_size=batch_size,
                    subjects=subjects,
                    seed=seed,
                    progress=progress,
                )
        elif backend in ("postgres", "postgresql"):
            if postgres_url is None and len(backends) > 1:
                report.results.append(
                    BackendResult(
                        backend="postgresql",
                        skipped="no PostgreSQL URL (--postgres-url or MEXFI_DATABASE_URL)",
                    )
                )
                continue
            url = check_postgres_url(postgres_url)
            try:
                with postgres_store(url) as store:
                    result = _bench_backend(
                        store,
                        "postgresql",
                        records=records,
                        batch_size=batch_size,
                        subjects=subjects,
                        seed=seed,
                        progress=progress,
                    )
            except Unavailable as exc:
                if len(backends) == 1:
                    raise
                # Measuring both: SQLite's figures are still worth printing.
                result = BackendResult(backend="postgresql", skipped=exc.message)
        else:
            raise Invalid(f"unknown backend {backend!r}", hint="use sqlite or postgres")
        report.results.append(result)
    return report
