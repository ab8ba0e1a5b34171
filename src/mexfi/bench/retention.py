"""`bench retention`: the retention engine's sweeps against plain SQL doing the same moves.

For each size N (say 100,000 and 1,000,000) a fresh store gets N due records through the
vault (not timed): BakıKart `card_use` taps collected more than a year before `now` (due
to the passive tier, BK-3.3) and Taxsee drivers registered more than 23 h before `now`,
each with one `registration` record (due to be crypto-shredded, TX-7.7); the share of
the latter is `destruction_share`. The same rows, payloads as plaintext JSON, go into
plain tables shaped like `records`, `passive_records` and `subjects` (columns, indexes).

Then each sweep is timed on its own: `RetentionEngine(vault, batch_size=B).run(now=now)`
over a vault that loads only the policy of that sweep's rule, beside its baseline on the
same database: `INSERT INTO plain_passive SELECT … WHERE due` + `DELETE … WHERE due` in
one transaction for tiering, one plain `DELETE` of the due registration rows for
destruction. The ratio is engine time / plain time for the same rows; the per-row cost
is engine time / rows. Afterwards the store is counted: nothing due left active, every
tiered row in the passive tier, every destroyed row's key gone, every evidence complete.

Two untimed steps follow: a few riders' tiered taps are erased as a request would
(`Vault.destroy_many`), which shreds passive rows by their keys, and the engine runs
once more with nothing due (its cost is reported as `idle_run_seconds`). The plans of
the hot queries are taken as each phase runs them (`mexfi.bench.plans`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, MetaData, String, Table, delete, insert, literal, select

from mexfi.bench.common import (
    FLAT_TOLERANCE,
    Goal,
    Progress,
    Timer,
    backend_slot,
    machine,
    profiled,
    store_location,
)
from mexfi.bench.ingest import plain_records_table
from mexfi.bench.plans import Plan, PlanCapture, plan_misses
from mexfi.bench.stores import analyze, count_keys, count_rows, passive_table, plain_json
from mexfi.db import Store, UTCDateTime
from mexfi.errors import Invalid

__all__ = [
    "GOAL_DESTRUCTION_RATIO",
    "GOAL_TIERING_RATIO",
    "RetentionReport",
    "RetentionRun",
    "SweepPath",
    "SweepResult",
    "run_retention",
]

#: Issue 9: tiering within 8x of a plain INSERT … SELECT + DELETE of the same rows ...
GOAL_TIERING_RATIO = 8.0
#: ... and destruction within 20x of a plain DELETE.
GOAL_DESTRUCTION_RATIO = 20.0

TIER_POLICY, TIER_RULE, TIER_CATEGORY = "bakikart", "passive_after_one_year", "card_use"
DESTROY_POLICY, DESTROY_RULE, DESTROY_CATEGORY = (
    "taxsee_driver",
    "registration_destroyed",
    "registration",
)
PLAIN_ACTIVE = "bench_plain_active"
PLAIN_PASSIVE = "bench_plain_passive"
PLAIN_SUBJECTS = "bench_plain_subjects"
#: The hot queries a run must show plans of: (label, query).
EXPECTED_PLANS = (
    ("tiering", "due page"),
    ("tiering", "key look-up"),
    ("destruction", "due page"),
    ("destruction", "key look-up"),
    ("destruction", "shred records"),
    # Erasing tiered data: its rows are in the passive tier, under passive keys.
    ("erasure", "shred passive records"),
    # The run after: destruction evidence is there, none of it pending.
    ("idle", "pending evidence"),
)
#: What each phase explains.
PHASE_QUERIES = {
    "tiering": ("due page", "key look-up"),
    "destruction": ("due page", "key look-up", "shred records"),
    "erasure": ("key look-up", "shred records", "shred passive records"),
    "idle": ("due page", "pending evidence"),
}
#: Riders whose tiered taps are erased (a request's destruction), at most.
ERASED_RIDERS = 50


@dataclass(frozen=True)
class SweepPath:
    """One path (the engine or plain SQL) of one sweep."""

    rows: int  # rows moved (tiering) or destroyed (destruction)
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def us_per_row(self) -> float | None:
        return self.seconds / self.rows * 1e6 if self.rows else None

    def to_dict(self) -> dict[str, Any]:
        per_row = self.us_per_row
        return {
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "rows_per_second": round(self.rows_per_second, 1),
            "us_per_row": round(per_row, 2) if per_row is not None else None,
        }


@dataclass(frozen=True)
class SweepResult:
    """One sweep at one size: the engine, its baseline, the goal and the store's counts."""

    sweep: str
    due: int
    vault: SweepPath
    plain: SweepPath
    goal_ratio: float
    #: What the store holds afterwards, counted with SQL: {what: (found, expected)}.
    checks: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Engine time / plain time for the same rows (plain rows/s over engine rows/s)."""
        if self.vault.rows_per_second <= 0 or self.plain.rows_per_second <= 0:
            return None
        return self.plain.rows_per_second / self.vault.rows_per_second

    def goal(self, backend: str, size: int) -> Goal:
        return Goal(
            f"{self.sweep} engine/plain time", backend, self.ratio, self.goal_ratio, "x", size
        )

    def failed_checks(self) -> list[str]:
        """Counts that are not what the sweep promised: due rows left, rows missing."""
        failed = [
            f"{self.sweep}: {what} {found:,}, expected {expected:,}"
            for what, (found, expected) in self.checks.items()
            if found != expected
        ]
        if self.vault.rows != self.due:
            failed.append(f"{self.sweep}: engine handled {self.vault.rows:,} of {self.due:,}")
        if self.plain.rows != self.due:
            failed.append(f"{self.sweep}: baseline handled {self.plain.rows:,} of {self.due:,}")
        return failed

    def to_dict(self, backend: str, size: int) -> dict[str, Any]:
        ratio = self.ratio
        goal = self.goal(backend, size)
        return {
            "sweep": self.sweep,
            "due": self.due,
            "engine": self.vault.to_dict(),
            "baseline": self.plain.to_dict(),
            "ratio": round(ratio, 3) if ratio is not None else None,
            "goal": goal.describe(),
            "met": goal.met if self.due else None,
            "checks": {k: {"found": f, "expected": e} for k, (f, e) in self.checks.items()},
            "failed_checks": self.failed_checks(),
        }


@dataclass(frozen=True)
class RetentionRun:
    """Both sweeps on one backend at one size (a store of `size` due records)."""

    backend: str
    size: int
    tiering: SweepResult | None = None
    destruction: SweepResult | None = None
    generate_seconds: float | None = None
    #: A run of every rule once nothing is due (both policies).
    idle_seconds: float | None = None
    #: A few riders' tiered data erased afterwards, counted: {what: (found, expected)}.
    erasure_checks: dict[str, tuple[int, int]] = field(default_factory=dict)
    skipped: str | None = None
    location: str | None = None
    plans: tuple[Plan, ...] = ()
    missing_plans: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()

    @property
    def sweeps(self) -> list[SweepResult]:
        return [s for s in (self.tiering, self.destruction) if s is not None]

    def goals(self) -> list[Goal]:
        return [s.goal(self.backend, self.size) for s in self.sweeps if s.due]

    def misses(self) -> list[str]:
        missed = [g.verdict() for g in self.goals() if not g.met]
        missed += [
            f"{self.backend} at {self.size:,}: {c}" for s in self.sweeps for c in s.failed_checks()
        ]
        missed += [
            f"{self.backend} at {self.size:,}: erasure: {what} {found:,}, expected {expected:,}"
            for what, (found, expected) in self.erasure_checks.items()
            if found != expected
        ]
        missed += [f"{self.backend} at {self.size:,}: no plan of {m}" for m in self.missing_plans]
        missed += plan_misses(self.plans, f"{self.backend} at {self.size:,}")
        return missed

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "size": self.size,
            "skipped": self.skipped,
            "location": self.location,
            "generate_seconds": (
                round(self.generate_seconds, 3) if self.generate_seconds is not None else None
            ),
            "idle_run_seconds": (
                round(self.idle_seconds, 3) if self.idle_seconds is not None else None
            ),
            "sweeps": [s.to_dict(self.backend, self.size) for s in self.sweeps],
            "erasure_checks": {
                k: {"found": f, "expected": e} for k, (f, e) in self.erasure_checks.items()
            },
            "plans": [p.to_dict() for p in self.plans],
            "missing_plans": list(self.missing_plans),
            "profiles": list(self.profiles),
            "missed": self.misses(),
        }


@dataclass(frozen=True)
class RetentionReport:
    sizes: tuple[int, ...]
    destruction_share: float
    batch_size: int
    taps_per_rider: int
    seed: int
    runs: list[RetentionRun] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=machine)
    #: Timed under cProfile: the engine's figures are slower than without it.
    profiled: bool = False

    def flatness(self) -> list[Goal]:
        """Per sweep and backend: engine cost per row at the largest size over the smallest."""
        goals = []
        backends = dict.fromkeys(r.backend for r in self.runs if r.skipped is None)
        for backend in backends:
            runs = sorted((r for r in self.runs if r.backend == backend), key=lambda r: r.size)
            if len(runs) < 2:
                continue
            for name in ("tiering", "destruction"):
                first = getattr(runs[0], name)
                last = getattr(runs[-1], name)
                if first is None or last is None or not first.due or not last.due:
                    continue
                low, high = first.vault.us_per_row, last.vault.us_per_row
                growth = high / low if low and high else None
                goals.append(
                    Goal(
                        f"{name} per-row cost {runs[-1].size:,} / {runs[0].size:,}",
                        backend,
                        growth,
                        FLAT_TOLERANCE,
                        "x",
                        runs[-1].size,
                    )
                )
        return goals

    def goals(self) -> list[Goal]:
        return [g for r in self.runs for g in r.goals()] + self.flatness()

    def misses(self) -> list[str]:
        return [m for r in self.runs for m in r.misses()] + [
            g.verdict() for g in self.flatness() if not g.met
        ]

    @property
    def results(self) -> list[RetentionRun]:
        return self.runs

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": "retention",
            "seed": self.seed,
            "machine": self.machine,
            "profiled": self.profiled,
            "sizes": list(self.sizes),
            "destruction_share": self.destruction_share,
            "batch_size": self.batch_size,
            "taps_per_rider": self.taps_per_rider,
            "rules": {
                "tiering": f"{TIER_POLICY}/{TIER_RULE} ({TIER_CATEGORY})",
                "destruction": f"{DESTROY_POLICY}/{DESTROY_RULE} ({DESTROY_CATEGORY})",
            },
            "engine": "RetentionEngine(vault, batch_size).run(), a vault loading the rule's "
            "policy only",
            "baseline": "tiering: INSERT … SELECT + DELETE of the same rows, one transaction; "
            "destruction: one DELETE of the same rows; plaintext tables shaped like the vault's",
            "ratio": "engine seconds / baseline seconds (baseline rows/s over engine rows/s)",
            "goals": [g.to_dict() for g in self.goals()],
            "met": not self.misses(),
            "missed": self.misses(),
            "results": [r.to_dict() for r in self.runs],
        }


# --------------------------------------------------------------------------- plain tables


def _plain_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """Tables shaped like `records`, `passive_records` and `subjects`, plaintext payloads."""
    active = plain_records_table(metadata, PLAIN_ACTIVE)
    passive = plain_records_table(
        metadata,
        PLAIN_PASSIVE,
        Column("moved_at", UTCDateTime(), nullable=False),
        Column("rule_id", String(80), nullable=False),
        passive=True,
    )
    subjects = Table(
        PLAIN_SUBJECTS,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("policy_id", String(80), nullable=False),
        Column("kind", String(80), nullable=False),
        Column("registered_at", UTCDateTime(), nullable=False),
        Index(f"ix_{PLAIN_SUBJECTS}_policy_kind_id", "policy_id", "kind", "id"),
    )
    return active, passive, subjects


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class _Plan:
    tiering: int
    destruction: int
    riders: int
    drivers: int


def _plan(records: int, destruction_share: float, taps_per_rider: int) -> _Plan:
    destruction = round(records * destruction_share)
    tiering = records - destruction
    riders = -(-tiering // taps_per_rider) if tiering else 0
    return _Plan(tiering=tiering, destruction=destruction, riders=riders, drivers=destruction)


def _bench_run(
    store: Store,
    backend: str,
    size: int,
    *,
    plan: _Plan,
    batch_size: int,
    write_batch: int,
    seed: int,
    profile_dir: Path | None,
    progress: Progress | None,
) -> RetentionRun:
    from mexfi.migrations import upgrade_store
    from mexfi.policy import load_bundled_policies
    from mexfi.retention import RetentionEngine, RuleOutcome
    from mexfi.secrets import Secrets
    from mexfi.services import METRO_STATIONS, Synth
    from mexfi.vault import Actor, RecordCreate, Vault

    where = f"{backend} {size:,}"

    def report(phase: str, done: int, total: int) -> None:
        if progress:
            progress(where, phase, done, total)

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

    # ---- generation (not timed): subjects in bulk, records through `write_many`
    generated = 0
    report("generate", 0, total)
    generate = Timer()

    def write_plain(rows: list[dict[str, Any]], subjects: list[dict[str, Any]]) -> None:
        with engine.begin() as connection:
            if subjects:
                connection.execute(insert(plain_subjects), subjects)
            if rows:
                connection.execute(insert(plain_active), rows)

    def plain_rows(ids: list[str], items: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "id": record_id,
                "subject_id": item.subject_id,
                "category": item.category,
                "collected_at": item.collected_at,
                "updated_at": None,
                "key_id": None,
                "format": 0,
                "payload": plain_json(item.values),
            }
            for record_id, item in zip(ids, items, strict=True)
        ]

    stations = tuple(METRO_STATIONS)
    with generate:
        riders: list[str] = []
        cards: dict[str, str] = {}
        rider_registered = now - timedelta(days=800)
        for start in range(0, plan.riders, write_batch):
            with vault.unit_of_work() as uow:
                made = vault.register_many(
                    uow,
                    policy_id=TIER_POLICY,
                    kind="rider",
                    count=min(write_batch, plan.riders - start),
                    actor=service,
                    at=rider_registered,
                )
            write_plain(
                [],
                [
                    {
                        "id": s.id,
                        "policy_id": TIER_POLICY,
                        "kind": "rider",
                        "registered_at": rider_registered,
                    }
                    for s in made
                ],
            )
            for subject in made:
                riders.append(subject.id)
                cards[subject.id] = synth.serial("9", 9)
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
            with vault.unit_of_work() as uow:
                ids = vault.write_many(uow, items, actor=service, purpose="service_provision")
            write_plain(plain_rows(ids, items), [])
            generated += len(items)
            report("generate", generated, total)

        for start in range(0, plan.drivers, write_batch):
            # One registration time a batch: every driver is past the 23 h of TX-7.7.
            registered = now - timedelta(hours=25, seconds=rng.randint(0, 23 * 3600))
            with vault.unit_of_work() as uow:
                made = vault.register_many(
                    uow,
                    policy_id=DESTROY_POLICY,
                    kind="driver",
                    count=min(write_batch, plan.drivers - start),
                    actor=system,
                    at=registered,
                )
                items = []
                for subject in made:
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
                    items.append(RecordCreate(subject.id, DESTROY_CATEGORY, values, registered))
                ids = vault.write_many(uow, items, actor=system, purpose="licence_agreement")
            write_plain(
                plain_rows(ids, items),
                [
                    {
                        "id": s.id,
                        "policy_id": DESTROY_POLICY,
                        "kind": "driver",
                        "registered_at": registered,
                    }
                    for s in made
                ],
            )
            generated += len(items)
            report("generate", generated, total)
        # A store at rest: statistics and visibility as autovacuum leaves them.
        analyze(store)

    profiles: list[str] = []
    capture = PlanCapture(store)

    def sweep(policy_id: str, rule_id: str, phase: str, due: int, timer: Timer) -> int:
        """Run the engine over a vault loading only `policy_id`; rows its rule handled."""
        one = Vault(store, {policy_id: policies[policy_id]}, secrets, clock=vault.clock)

        def on_progress(outcome: RuleOutcome) -> None:
            if outcome.rule_id == rule_id:
                report(phase, outcome.records, due)

        report(phase, 0, due)
        capture.phase(phase, *PHASE_QUERIES[phase])
        with timer, capture.listening():
            result = RetentionEngine(one, batch_size=batch_size, on_progress=on_progress).run(
                now=now
            )
        outcome = next(r for r in result.rules if r.rule_id == rule_id)
        report(phase, outcome.records, due)
        return outcome.records

    passive = passive_table(store)

    # ---- tiering
    tier_rule = next(r for r in policies[TIER_POLICY].retention if r.id == TIER_RULE)
    tier_cutoff = tier_rule.after.before(now)
    with profiled(profile_dir, f"retention-{backend}-{size}-tiering", profiles) as timer:
        tiered = sweep(TIER_POLICY, TIER_RULE, "tiering", plan.tiering, timer)

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
    plain_timer = Timer()
    with plain_timer:
        plain_tiered = plain_tier()
    report("tiering plain", plain_tiered, plan.tiering)
    tiering = SweepResult(
        sweep="tiering",
        due=plan.tiering,
        vault=SweepPath(tiered, timer.seconds),
        plain=SweepPath(plain_tiered, plain_timer.seconds),
        goal_ratio=GOAL_TIERING_RATIO,
        checks={
            "active rows left": (
                count_rows(
                    store, "SELECT count(*) FROM records WHERE category = :c", c=TIER_CATEGORY
                ),
                0,
            ),
            "passive rows": (
                count_rows(
                    store, f"SELECT count(*) FROM {passive} WHERE category = :c", c=TIER_CATEGORY
                ),
                plan.tiering,
            ),
            "passive keys": (
                count_keys(
                    store,
                    "SELECT count(*) FROM data_keys WHERE category = :c AND tier = 'passive'",
                    c=TIER_CATEGORY,
                ),
                count_rows(
                    store,
                    f"SELECT count(DISTINCT subject_id) FROM {passive} WHERE category = :c",
                    c=TIER_CATEGORY,
                ),
            ),
            "baseline active rows left": (
                count_rows(
                    store,
                    f"SELECT count(*) FROM {PLAIN_ACTIVE} WHERE category = :c",
                    c=TIER_CATEGORY,
                ),
                0,
            ),
            "baseline passive rows": (
                count_rows(store, f"SELECT count(*) FROM {PLAIN_PASSIVE}"),
                plan.tiering,
            ),
        },
    )

    # ---- destruction, on a store at rest again: statistics as autovacuum leaves them after
    # the tiering run (the passive tier grew by the size of the run).
    analyze(store)
    destroy_rule = next(r for r in policies[DESTROY_POLICY].retention if r.id == DESTROY_RULE)
    destroy_cutoff = destroy_rule.after.before(now)
    with profiled(profile_dir, f"retention-{backend}-{size}-destruction", profiles) as timer:
        destroyed = sweep(DESTROY_POLICY, DESTROY_RULE, "destruction", plan.destruction, timer)

    def plain_destroy() -> int:
        due_subjects = select(plain_subjects.c.id).where(
            plain_subjects.c.policy_id == DESTROY_POLICY,
            plain_subjects.c.kind == "driver",
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
    plain_timer = Timer()
    with plain_timer:
        plain_destroyed = plain_destroy()
    report("destruction plain", plain_destroyed, plan.destruction)
    destruction = SweepResult(
        sweep="destruction",
        due=plan.destruction,
        vault=SweepPath(destroyed, timer.seconds),
        plain=SweepPath(plain_destroyed, plain_timer.seconds),
        goal_ratio=GOAL_DESTRUCTION_RATIO,
        checks={
            "active rows left": (
                count_rows(
                    store, "SELECT count(*) FROM records WHERE category = :c", c=DESTROY_CATEGORY
                ),
                0,
            ),
            "keys left": (
                count_keys(
                    store, "SELECT count(*) FROM data_keys WHERE category = :c", c=DESTROY_CATEGORY
                ),
                0,
            ),
            "complete evidence": (
                count_rows(
                    store,
                    "SELECT count(*) FROM destruction_evidence WHERE rule_id = :r "
                    "AND status = 'complete'",
                    r=DESTROY_RULE,
                ),
                plan.drivers,
            ),
            "pending evidence": (
                count_rows(
                    store, "SELECT count(*) FROM destruction_evidence WHERE status = 'pending'"
                ),
                0,
            ),
            "baseline rows left": (
                count_rows(
                    store,
                    f"SELECT count(*) FROM {PLAIN_ACTIVE} WHERE category = :c",
                    c=DESTROY_CATEGORY,
                ),
                0,
            ),
        },
    )
    # ---- erasure (not timed): a few riders' tiered taps destroyed, as a request would,
    # so that the shredding of passive rows by their keys is exercised and explained.
    erased = riders[:ERASED_RIDERS] if plan.tiering else []
    erasure: dict[str, tuple[int, int]] = {}
    if erased:
        capture.phase("erasure", *PHASE_QUERIES["erasure"])
        report("erasure", 0, len(erased))
        held = f"SELECT count(*) FROM {passive} WHERE subject_id IN :ids"
        before = count_rows(store, held, ids=erased)
        with capture.listening(), vault.unit_of_work() as uow:
            reports = vault.destroy_many(
                uow,
                [(rider, [TIER_CATEGORY]) for rider in erased],
                reason="erasure_request",
                actor=Actor("bench-dpo", "dpo"),
                count_records=True,
            )
        erasure = {
            "erased riders' passive rows counted": (
                sum(r.records_destroyed for r in reports),
                before,
            ),
            "erased riders' passive rows left": (count_rows(store, held, ids=erased), 0),
            "erased riders' keys left": (
                count_keys(
                    store, "SELECT count(*) FROM data_keys WHERE subject_id IN :ids", ids=erased
                ),
                0,
            ),
        }
        report("erasure", len(erased), len(erased))

    # ---- a run with nothing left due, both policies: what every later run costs, and the
    # pending-evidence query's plan over evidence that is all complete.
    report("idle", 0, 1)
    capture.phase("idle", *PHASE_QUERIES["idle"])
    idle = Timer()
    with idle, capture.listening():
        RetentionEngine(vault, batch_size=batch_size).run(now=now)
    report("idle", 1, 1)

    expected = [(label, name) for label, name in EXPECTED_PLANS if _expected(label, plan)]
    return RetentionRun(
        backend=backend,
        size=size,
        tiering=tiering,
        destruction=destruction,
        generate_seconds=generate.seconds,
        idle_seconds=idle.seconds,
        erasure_checks=erasure,
        location=store_location(store),
        plans=tuple(capture.plans),
        missing_plans=tuple(capture.missing(expected)),
        profiles=tuple(profiles),
    )


def _expected(label: str, plan: _Plan) -> bool:
    """A sweep with nothing due runs no key look-up nor deletes: expect plans of real work."""
    if label in ("tiering", "erasure"):
        return bool(plan.tiering)
    return bool(plan.destruction)


def run_retention(
    *,
    sizes: Sequence[int] = (100_000,),
    destruction_share: float = 0.1,
    batch_size: int = 1000,
    write_batch: int = 5000,
    taps_per_rider: int = 50,
    backends: Sequence[str] = ("sqlite",),
    postgres_url: str | None = None,
    seed: int = 0,
    profile_dir: Path | None = None,
    progress: Progress | None = None,
) -> RetentionReport:
    """For each backend and size, a fresh store of `size` due records; time both sweeps."""
    if not sizes or any(s < 1 for s in sizes):
        raise Invalid("every size (due records) must be >= 1")
    if batch_size < 1 or write_batch < 1 or taps_per_rider < 1:
        raise Invalid("batch_size, write_batch and taps_per_rider must be >= 1")
    if not 0.0 <= destruction_share <= 1.0:
        raise Invalid("destruction_share must be between 0 and 1")
    ordered = tuple(sorted(set(sizes)))
    report = RetentionReport(
        sizes=ordered,
        destruction_share=destruction_share,
        batch_size=batch_size,
        taps_per_rider=taps_per_rider,
        seed=seed,
        profiled=profile_dir is not None,
    )
    for backend in backends:
        for size in ordered:
            with backend_slot(backend, postgres_url, alone=len(backends) == 1) as slot:
                if slot.store is None:
                    report.runs.append(RetentionRun(slot.backend, size, skipped=slot.skipped))
                    break
                report.runs.append(
                    _bench_run(
                        slot.store,
                        slot.backend,
                        size,
                        plan=_plan(size, destruction_share, taps_per_rider),
                        batch_size=batch_size,
                        write_batch=write_batch,
                        seed=seed,
                        profile_dir=profile_dir,
                        progress=progress,
                    )
                )
    return report
