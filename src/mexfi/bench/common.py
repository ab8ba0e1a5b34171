"""What every benchmark shares: goals and their verdicts, timing under an optional profiler,
percentiles, progress callbacks, and the loop over backends.

A report is one JSON object. Each measured figure sits beside its same-run baseline and
their ratio, with the goal it answers (`goal`) and whether it was met (`met`); a missed
goal is reported as missed, never dropped.
"""

from __future__ import annotations

import cProfile
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mexfi.db import Store
from mexfi.errors import Invalid, Unavailable

__all__ = [
    "FLAT_TOLERANCE",
    "BackendSlot",
    "Goal",
    "Progress",
    "Timer",
    "backend_slot",
    "machine",
    "percentile",
    "profiled",
    "store_location",
]

#: A per-row cost (or a p95) "stays flat" when the largest size costs at most this many
#: times the smallest: 25% over a tenfold size allows for noise and a deeper B-tree.
FLAT_TOLERANCE = 1.25

#: Called as work is done: (backend, phase, done, planned).
Progress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class Goal:
    """One goal and this run's verdict on it: `figure` at most `limit` (or at least)."""

    name: str
    backend: str
    figure: float | None
    limit: float
    unit: str
    size: int | None = None
    at_least: bool = False

    @property
    def met(self) -> bool:
        if self.figure is None:
            return False
        return self.figure >= self.limit if self.at_least else self.figure <= self.limit

    def describe(self) -> str:
        """The goal itself, no figure: "tiering engine/plain time <= 8x"."""
        return f"{self.name} {'>=' if self.at_least else '<='} {self.limit:,g}{self.unit}"

    def verdict(self) -> str:
        """The goal and this run's figure: "tiering engine/plain time 9.1x, goal <= 8x"."""
        figure = "no figure" if self.figure is None else f"{self.figure:,.2f}{self.unit}"
        where = f" at {self.size:,}" if self.size is not None else ""
        bound = ">=" if self.at_least else "<="
        return (
            f"{self.backend}{where}: {self.name} {figure}, goal {bound} {self.limit:,g}{self.unit}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "goal": self.describe(),
            "name": self.name,
            "backend": self.backend,
            "size": self.size,
            "figure": round(self.figure, 3) if self.figure is not None else None,
            "limit": self.limit,
            "at_least": self.at_least,
            "unit": self.unit.strip(),
            "met": self.met,
        }


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPUs and the load average (other work on the
    machine slows the engine and its baseline alike; the ratio is the robust figure)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {"cpus": os.cpu_count(), "load_1m": round(load[0], 2), "load_5m": round(load[1], 2)}


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1) of non-empty `samples`."""
    ordered = sorted(samples)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


class Timer:
    """Seconds spent inside `with timer:` blocks, summed (a profiler may run meanwhile)."""

    def __init__(self, profiler: cProfile.Profile | None = None) -> None:
        self.seconds = 0.0
        self._profiler = profiler
        self._started = 0.0

    def __enter__(self) -> Timer:
        if self._profiler is not None:
            self._profiler.enable()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds += time.perf_counter() - self._started
        if self._profiler is not None:
            self._profiler.disable()


@contextmanager
def profiled(directory: Path | None, name: str, written: list[str]) -> Iterator[Timer]:
    """A `Timer` whose blocks run under cProfile when `directory` is given; the stats go to
    `directory/name.prof` afterwards and its path is appended to `written`."""
    if directory is None:
        yield Timer()
        return
    profiler = cProfile.Profile()
    timer = Timer(profiler)
    try:
        yield timer
    finally:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.prof"
        profiler.dump_stats(str(path))
        written.append(str(path))


def store_location(store: Store) -> str:
    """Where a benchmark store lives, without credentials."""
    if store.dialect == "postgresql":
        return f"schema {store.config.records_schema} (dropped after)"
    return "temporary directory (removed after)"


@dataclass
class BackendSlot:
    """One backend of a run: its store, or why it was skipped."""

    backend: str
    store: Store | None = None
    skipped: str | None = None


@contextmanager
def backend_slot(backend: str, postgres_url: str | None, *, alone: bool) -> Iterator[BackendSlot]:
    """A fresh temporary store on `backend`, removed afterwards.

    Measuring several backends, PostgreSQL is skipped (and says why) when it has no URL or
    cannot be reached, so the other figures still come out; measured `alone`, that is an
    error.
    """
    from mexfi.bench.stores import check_postgres_url, postgres_store, sqlite_store

    if backend == "sqlite":
        with sqlite_store() as store:
            yield BackendSlot("sqlite", store)
        return
    if backend not in ("postgres", "postgresql"):
        raise Invalid(f"unknown backend {backend!r}", hint="use sqlite or postgres")
    if postgres_url is None and not alone:
        yield BackendSlot(
            "postgresql", skipped="no PostgreSQL URL (--postgres-url or MEXFI_DATABASE_URL)"
        )
        return
    url = check_postgres_url(postgres_url)
    with ExitStack() as stack:
        slot = BackendSlot("postgresql")
        try:
            slot.store = stack.enter_context(postgres_store(url))
        except Unavailable as exc:
            if alone:
                raise
            slot.skipped = exc.message
        yield slot
