"""`bench retention`: the retention engine's sweeps against plain SQL doing the same moves.

One run generates N due records through the vault (not timed): BakıKart `card_use` taps
collected more than a year before `now` (due to the passive tier, BK-3.3) and Taxsee
drivers registered more than 24 h before `now`, each with one `registration` record (due
to be crypto-shredded, TX-7.7). The same rows, with plaintext JSON payloads, go into
plain tables shaped like `records` / `passive_records` / `subjects`.

Then each sweep is timed on its own: `RetentionEngine(vault, batch_size=B).run(now=now)`
over a vault that loads only the policy of that sweep's rule, beside the plain baseline
on the same database: `INSERT INTO plain_passive SELECT … WHERE due` + `DELETE … WHERE
due` for tiering, a plain `DELETE` of the due registration rows for destruction. The
ratio is plain rows/s over vault rows/s (vault time / plain time for the same rows).
"""

from __future__ import annotations

import cProfile
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.engine import Engine

from mexfi.bench.stores import (
    check_postgres_url,
    json_default,
    postgres_store,
    sqlite_store,
)
from mexfi.db import Store, UTCDateTime
from mexfi.errors import Invalid, Unavailable

__all__ = [
    "RetentionBackendResult",
    "RetentionProgress",
    "RetentionReport",
    "SweepPath",
    "SweepResult",
    "run_retention",
]

TIER_POLICY, TIER_RULE, TIER_CATEGORY = "bakikart", "passive_after_one_year", "card_use"
DESTROY_POLICY, DESTROY_RULE, DESTROY_CATEGORY = (
    "taxsee_driver",
    "registration_destroyed",
    "registration",
)
PLAIN_ACTIVE = "bench_plain_active"
PLAIN_PASSIVE = "bench_plain_passive"
PLAIN_SUBJECTS = "bench_plain_subjects"

#: Called as work is done: (backend, phase, done, planned). Phases: "generate",
#: "tiering vault", "tiering plain", "destruction vault", "destruction plain".
RetentionProgress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class SweepPath:
    """One path (the engine or plain SQL) of one sweep on one backend."""

    rows: int  # rows moved (tiering) or destroyed (destruction)
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "rows_per_second": round(self.rows_per_second, 1),
        }


@dataclass(frozen=True)
class SweepResult:
    """One sweep (tiering or destruction): the engine, the baseline and the checks."""

    sweep: str
    due: int  # rows generated due for this sweep
    vault: SweepPath
    plain: SweepPath
    #: Rows of the swept category left in the active tier afterwards (engine, plain).
    vault_left: int
    plain_left: int
    #: Rows found in the passive tier afterwards (tiering only; engine, plain).
    vault_passive: int | None = None
    plain_passive: int | None = None

    @property
    def ratio(self) -> float | None:
        """Plain rows/s over engine rows/s: how many times slower the engine is."""
        if self.vault.rows_per_second <= 0 or self.plain.rows_per_second <= 0:
            return None
        return self.plain.rows_per_second / self.vault.rows_per_second

    def misses(self) -> list[str]:
        """What this sweep did not do: due rows left behind, or counts that do not match."""
        missed = []
        if self.vault.rows != self.due or self.vault_left:
            missed.append(
                f"{self.sweep}: engine handled {self.vault.rows:,} of {self.due:,} due rows, "
                f"{self.vault_left:,} left in the active tier"
            )
        if self.plain.rows != self.due or self.plain_left:
            missed.append(
                f"{self.sweep}: plain baseline handled {self.plain.rows:,} of {self.due:,} rows"
            )
        if self.vault_passive is not None and self.vault_passive != self.due:
            missed.append(
                f"{self.sweep}: {self.vault_passive:,} rows in the passive tier, "
                f"{self.due:,} expected"
            )
        if self.plain_passive is not None and self.plain_passive != self.due:
            missed.append(
                f"{self.sweep}: {self.plain_passive:,} plain passive rows, {self.due:,} expected"
            )
        return missed

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "sweep": self.sweep,
            "due": self.due,
            "vault": self.vault.to_dict(),
            "plain": self.plain.to_dict(),
            "ratio": round(ratio, 3) if ratio is not None else None,
            "vault_left": self.vault_left,
            "plain_left": self.plain_left,
            "vault_passive": self.vault_passive,
            "plain_passive": self.plain_passive,
        }


@dataclass(frozen=True)
class RetentionBackendResult:
    backend: str
    tiering: SweepResult | None = None
    destruction: SweepResult | None = None
    generate_seconds: float | None = None
    skipped: str | None = None
    location: str | None = None
    #: Where the cProfile stats of the sweeps were written, if asked.
    profiles: tuple[str, ...] = ()

    @property
    def sweeps(self) -> list[SweepResult]:
        return [s for s in (self.tiering, self.destruction) if s is not None]

    def misses(self) -> list[str]:
        return [m for sweep in self.sweeps for m in sweep.misses()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "skipped": self.skipped,
            "location": self.location,
            "generate_seconds": (
                round(self.generate_seconds, 3) if self.generate_seconds is not None else None
            ),
            "tiering": self.tiering.to_dict() if self.tiering else None,
            "destruction": self.destruction.to_dict() if self.destruction else None,
            "profiles": list(self.profiles),
            "missed": self.misses(),
        }


@dataclass(frozen=True)
class RetentionReport:
    records: int
    tiering_records: int
    destruction_records: int
    batch_size: int
    riders: int
    drivers: int
    results: list[RetentionBackendResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": "retention",
            "records": self.records,
            "tiering_records": self.tiering_records,
            "destruction_records": self.destruction_records,
            "batch_size": self.batch_size,
            "riders": self.riders,
            "drivers": self.drivers,
            "rules": {
                "tiering": f"{TIER_POLICY}/{TIER_RULE} ({TIER_CATEGORY})",
                "destruction": f"{DESTROY_POLICY}/{DESTROY_RULE} ({DESTROY_CATEGORY})",
            },
            "results": [r.to_dict() for r in self.results],
        }


# --------------------------------------------------------------------------- plain tables


def _plain_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """Tables shaped like `records`, `passive_records` and `subjects`, plaintext payloads."""
    active = Table(
        PLAIN_ACTIVE,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("subject_id", String(32), nullable=False),
        Column("category", String(80), nullable=False),
        Column("collected_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=True),
        Column("key_id", String(32), nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Index(f"ix_{PLAIN_ACTIVE}_subject_category", "subject_id", "category"),
        Index(f"ix_{PLAIN_ACTIVE}_category_collected_at", "category", "collected_at"),
    )
    passive = Table(
        PLAIN_PASSIVE,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("subject_id", String(32), nullable=False),
        Column("category", String(80), nullable=False),
        Column("collected_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=True),
        Column("key_id", String(32), nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Column("moved_at", UTCDateTime(), nullable=False),
        Column("rule_id", String(80), nullable=False),
        Index(f"ix_{PLAIN_PASSIVE}_subject_category", "subject_id", "category"),
    )
    subjects = Table(
        PLAIN_SUBJECTS,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("policy_id", String(80), nullable=False),
        Column("kind", String(80), nullable=False),
        Column("registered_at", UTCDateTime(), nullable=False),
    )
    return active, passive, subjects


def _plain_payload(values: dict[str, Any]) -> bytes:
    return json.dumps(
        values, default=json_default, ensure_ascii=False, separators=(",", ":")
    ).encode()


# --------------------------------------------------------------------------- one backend


@dataclass(frozen=True)
class _Plan:
    tiering: int
    destruction: int
    riders: int
    drivers: int


def _plan(records: int, destruction_share: float, taps_per_rider: int) -> _Plan:
    destruction = round(records * destruction_share)
    tiering = records - destruction
    riders = math.ceil(tiering / taps_per_rider) if tiering else 0
    return _Plan(tiering=tiering, destruction=destruction, riders=riders, drivers=destruction)


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def _timed(call: Callable[[], int], profile_to: Path | None) -> tuple[int, float]:
    """Run `call`, return (its result, seconds); with `profile_to`, under cProfile."""
    profiler = cProfile.Profile() if profile_to is not None else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    try:
        result = call()
    finally:
        if profiler is not None:
            profiler.disable()
    seconds = time.perf_counter() - started
    if profiler is not None and profile_to is not None:
        profiler.dump_stats(str(profile_to))
    return result, seconds


def _bench_backend(
    store: Store,
    backend: str,
    *,
    plan: _Plan,
    batch_size: int,
    write_batch: int,
    seed: int,
    profile_dir: Path | None,
    progress: RetentionProgress | None,
) -> RetentionBackendResult:
    from mexfi.migrations import upgrade_store
    from mexfi.policy.loader import load_bundled_policies
    from mexfi.retention import RetentionEngine
    from mexfi.retention.schemas import RuleOutcome
    from mexfi.secrets import Secrets
    from mexfi.services.synthetic import METRO_STATIONS, Synth
    from mexfi.vault import Actor, RecordCreate, Vault
    from mexfi.vault.models import PassiveRecord, Record

    def report(phase: str, done: int, total: int) -> None:
        if progress:
            progress(backend, phase, done, total)

    upgrade_store(store)
    engine = store.records_engine
    metadata = MetaData()
    plain_active, plain_passive, plain_subjects = _plain_tables(metadata)
    metadata.create_all(engine)
    policies = load_bundled_policies()
    secrets = Secrets.generate("mk-bench")
    vault = Vault(store, policies, secrets)
    rng = random.Random(seed)
    synth = Synth(rng)
    now = vault.clock.now()
    service, system = Actor("bench", "service"), Actor("bench", "system")
    total = plan.tiering + plan.destruction

    # ---- generation (not timed): subjects through `register`, records through `write_many`
    generated = 0
    report("generate", 0, total)
    started = time.perf_counter()

    def write_plain(rows: list[dict[str, Any]], subjects: list[dict[str, Any]]) -> None:
        with engine.begin() as connection:
            if subjects:
                connection.execute(insert(plain_subjects), subjects)
            if rows:
                connection.execute(insert(plain_active), rows)

    stations = tuple(METRO_STATIONS)
    riders: list[str] = []
    cards: dict[str, str] = {}
    rider_registered = now - timedelta(days=800)
    for _ in range(plan.riders):
        rider = vault.register(
            policy_id=TIER_POLICY,
            kind="rider",
            actor=service,
            purpose="service_provision",
            records={},
            at=rider_registered,
        ).id
        riders.append(rider)
        cards[rider] = synth.serial("9", 9)
    write_plain(
        [],
        [
            {
                "id": r,
                "policy_id": TIER_POLICY,
                "kind": "rider",
                "registered_at": rider_registered,
            }
            for r in riders
        ],
    )
    for start in range(0, plan.tiering, write_batch):
        items = []
        for _ in range(min(write_batch, plan.tiering - start)):
            rider = rng.choice(riders)
            at = now - timedelta(days=366, seconds=rng.randint(0, 364 * 86400))
            values: dict[str, Any] = {
                "place": rng.choice(stations),
                "used_at": at,
                "kind": "card",
                "card_number": cards[rider],
            }
            items.append(RecordCreate(rider, TIER_CATEGORY, values, at))
        ids = vault.write_many(items, actor=service, purpose="service_provision")
        write_plain(
            [
                {
                    "id": record_id,
                    "subject_id": item.subject_id,
                    "category": item.category,
                    "collected_at": item.collected_at,
                    "updated_at": None,
                    "key_id": None,
                    "payload": _plain_payload(dict(item.values)),
                }
                for record_id, item in zip(ids, items, strict=True)
            ],
            [],
        )
        generated += len(items)
        report("generate", generated, total)

    for start in range(0, plan.drivers, write_batch):
        items = []
        subjects = []
        for _ in range(min(write_batch, plan.drivers - start)):
            registered = now - timedelta(hours=25, seconds=rng.randint(0, 23 * 3600))
            driver = vault.register(
                policy_id=DESTROY_POLICY,
                kind="driver",
                actor=system,
                purpose="licence_agreement",
                records={},
                at=registered,
            ).id
            subjects.append(
                {
                    "id": driver,
                    "policy_id": DESTROY_POLICY,
                    "kind": "driver",
                    "registered_at": registered,
                }
            )
            person = synth.person()
            values = {
                "full_name": person.full_name,
                "date_of_birth": "1985-04-01",
                "phone": synth.phone(),
                "photo": synth.photo(),
                "licence_series": "AB",
                "licence_number": synth.serial("", 6),
                "licence_issued_on": "2010-05-01",
                "plate": "10-AB-123",
            }
            items.append(RecordCreate(driver, DESTROY_CATEGORY, values, registered))
        ids = vault.write_many(items, actor=system, purpose="licence_agreement")
        write_plain(
            [
                {
                    "id": record_id,
                    "subject_id": item.subject_id,
                    "category": item.category,
                    "collected_at": item.collected_at,
                    "updated_at": None,
                    "key_id": None,
                    "payload": _plain_payload(dict(item.values)),
                }
                for record_id, item in zip(ids, items, strict=True)
            ],
            subjects,
        )
        generated += len(items)
        report("generate", generated, total)
    generate_seconds = time.perf_counter() - started
    profiles: list[str] = []

    def profile_path(name: str) -> Path | None:
        if profile_dir is None:
            return None
        profile_dir.mkdir(parents=True, exist_ok=True)
        path = profile_dir / f"retention-{backend}-{name}.prof"
        profiles.append(str(path))
        return path

    def sweep(policy_id: str, rule_id: str, phase: str, due: int) -> int:
        """Run the engine over a vault loading only `policy_id`; rows its rule handled."""
        one = Vault(store, {policy_id: policies[policy_id]}, secrets, clock=vault.clock)

        def on_progress(outcome: RuleOutcome) -> None:
            if outcome.rule_id == rule_id:
                report(phase, outcome.done, due)

        report(phase, 0, due)
        result = RetentionEngine(one, batch_size=batch_size, on_progress=on_progress).run(now=now)
        outcome = next(r for r in result.rules if r.rule_id == rule_id)
        report(phase, outcome.done, due)
        return outcome.records

    # ---- tiering
    tier_rule = next(r for r in policies[TIER_POLICY].retention if r.id == TIER_RULE)
    tier_cutoff = tier_rule.after.before(now)
    tiered, tier_seconds = _timed(
        lambda: sweep(TIER_POLICY, TIER_RULE, "tiering vault", plan.tiering),
        profile_path("tiering"),
    )

    def plain_tier() -> int:
        due = (
            plain_active.c.category == TIER_CATEGORY,
            plain_active.c.collected_at <= tier_cutoff,
        )
        columns = [c.name for c in plain_active.c]
        with engine.begin() as connection:
            connection.execute(
                insert(plain_passive).from_select(
                    [*columns, "moved_at", "rule_id"],
                    select(
                        *plain_active.c,
                        literal(now, UTCDateTime()).label("moved_at"),
                        literal(TIER_RULE, String(80)).label("rule_id"),
                    ).where(*due),
                )
            )
            result = connection.execute(delete(plain_active).where(*due))
        return int(getattr(result, "rowcount", 0) or 0)

    report("tiering plain", 0, plan.tiering)
    plain_tiered, plain_tier_seconds = _timed(plain_tier, None)
    report("tiering plain", plain_tiered, plan.tiering)
    tiering = SweepResult(
        sweep="tiering",
        due=plan.tiering,
        vault=SweepPath(tiered, tier_seconds),
        plain=SweepPath(plain_tiered, plain_tier_seconds),
        vault_left=_count(engine, Record, Record.category == TIER_CATEGORY),
        plain_left=_count(engine, plain_active, plain_active.c.category == TIER_CATEGORY),
        vault_passive=_count(engine, PassiveRecord, PassiveRecord.category == TIER_CATEGORY),
        plain_passive=_count(engine, plain_passive, plain_passive.c.category == TIER_CATEGORY),
    )

    # ---- destruction
    destroy_rule = next(r for r in policies[DESTROY_POLICY].retention if r.id == DESTROY_RULE)
    destroy_cutoff = destroy_rule.after.before(now)
    destroyed, destroy_seconds = _timed(
        lambda: sweep(DESTROY_POLICY, DESTROY_RULE, "destruction vault", plan.destruction),
        profile_path("destruction"),
    )

    def plain_destroy() -> int:
        due_subjects = select(plain_subjects.c.id).where(
            plain_subjects.c.policy_id == DESTROY_POLICY,
            plain_subjects.c.registered_at <= destroy_cutoff,
        )
        with engine.begin() as connection:
            result = connection.execute(
                delete(plain_active).where(
                    plain_active.c.category == DESTROY_CATEGORY,
                    plain_active.c.subject_id.in_(due_subjects),
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    report("destruction plain", 0, plan.destruction)
    plain_destroyed, plain_destroy_seconds = _timed(plain_destroy, None)
    report("destruction plain", plain_destroyed, plan.destruction)
    destruction = SweepResult(
        sweep="destruction",
        due=plan.destruction,
        vault=SweepPath(destroyed, destroy_seconds),
        plain=SweepPath(plain_destroyed, plain_destroy_seconds),
        vault_left=_count(engine, Record, Record.category == DESTROY_CATEGORY),
        plain_left=_count(engine, plain_active, plain_active.c.category == DESTROY_CATEGORY),
    )
    return RetentionBackendResult(
        backend=backend,
        tiering=tiering,
        destruction=destruction,
        generate_seconds=generate_seconds,
        location=(
            f"schema {store.config.records_schema} (keys {store.config.keys_schema}, "
            f"passive {store.config.passive_schema})"
            if store.dialect == "postgresql"
            else "temporary directory"
        ),
        profiles=tuple(profiles),
    )


def run_retention(
    *,
    records: int = 1_000_000,
    destruction_share: float = 0.1,
    batch_size: int = 1000,
    write_batch: int = 5000,
    taps_per_rider: int = 50,
    backends: Sequence[str] = ("sqlite",),
    postgres_url: str | None = None,
    seed: int = 0,
    profile_dir: Path | None = None,
    progress: RetentionProgress | None = None,
) -> RetentionReport:
    """Generate `records` due records on each backend; time each sweep and its baseline."""
    if records < 1 or batch_size < 1 or write_batch < 1 or taps_per_rider < 1:
        raise Invalid("records, batch_size, write_batch and taps_per_rider must be >= 1")
    if not 0.0 <= destruction_share <= 1.0:
        raise Invalid("destruction_share must be between 0 and 1")
    plan = _plan(records, destruction_share, taps_per_rider)
    report = RetentionReport(
        records=records,
        tiering_records=plan.tiering,
        destruction_records=plan.destruction,
        batch_size=batch_size,
        riders=plan.riders,
        drivers=plan.drivers,
    )

    def bench(store: Store, backend: str) -> RetentionBackendResult:
        return _bench_backend(
            store,
            backend,
            plan=plan,
            batch_size=batch_size,
            write_batch=write_batch,
            seed=seed,
            profile_dir=profile_dir,
            progress=progress,
        )

    for backend in backends:
        if backend == "sqlite":
            with sqlite_store() as store:
                result = bench(store, "sqlite")
        elif backend in ("postgres", "postgresql"):
            if postgres_url is None and len(backends) > 1:
                report.results.append(
                    RetentionBackendResult(
                        backend="postgresql",
                        skipped="no PostgreSQL URL (--postgres-url or MEXFI_DATABASE_URL)",
                    )
                )
                continue
            url = check_postgres_url(postgres_url)
            try:
                with postgres_store(url) as store:
                    result = bench(store, "postgresql")
            except Unavailable as exc:
                if len(backends) == 1:
                    raise
                result = RetentionBackendResult(backend="postgresql", skipped=exc.message)
        else:
            raise Invalid(f"unknown backend {backend!r}", hint="use sqlite or postgres")
        report.results.append(result)
    return report
