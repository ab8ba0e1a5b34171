"""`bench api`: the HTTP API under load (issue 12): `mexfi serve` with its workers on a fresh
PostgreSQL store, driven over loopback by an asyncio httpx client.

The server is a real subprocess (`mexfi init`, `mexfi apikeys create`, `mexfi serve
--workers W`, access log off) over temporary schemas dropped afterwards. Each phase sends
at most `requests` requests from `concurrency` connections, for at most `seconds`:

* ceiling: `GET /api/v1/health`, which touches nothing: the framework's own ceiling on
  this machine, measured in the same run (the baseline);
* register: a BakıKart rider with a phone record (a write: subject, blind index, record);
* read: a purpose-bound read of a rider's phone (`X-Mexfi-Purpose`), audited;
* write: a card tap record of a rider;
* intake: a subject's access request, as the DPO.

Throughput (requests a second), p50 and p99 latency per phase, and the ratio of each
phase's throughput to the ceiling's. Afterwards the audit log is counted: every read
answered 200 has its audit entry. Goal: reads >= 1,000 req/s with p99 < 50 ms.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mexfi.bench.common import Goal, Progress, machine, percentile, store_location
from mexfi.bench.stores import check_postgres_url, count_rows, postgres_store
from mexfi.errors import Invalid, Unavailable

__all__ = ["GOAL_READS_PER_SECOND", "GOAL_READ_P99_MS", "ApiPhase", "ApiReport", "run_api"]

#: Issue 12: purpose-bound reads at least 1,000 a second on 2 cores ...
GOAL_READS_PER_SECOND = 1000.0
#: ... with p99 under 50 ms.
GOAL_READ_P99_MS = 50.0
PHASES = ("ceiling", "register", "read", "write", "intake")
BACKEND = "postgresql"


@dataclass(frozen=True)
class ApiPhase:
    """One phase: its latencies (ms) and status codes, over `seconds` of wall time."""

    name: str
    seconds: float
    ms: tuple[float, ...]
    statuses: dict[int, int]

    @property
    def requests(self) -> int:
        return len(self.ms)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.ms, 0.5) if self.ms else 0.0

    @property
    def p99(self) -> float:
        return percentile(self.ms, 0.99) if self.ms else 0.0

    def to_dict(self, ceiling: ApiPhase | None) -> dict[str, Any]:
        ratio = self.per_second / ceiling.per_second if ceiling and ceiling.per_second else None
        return {
            "phase": self.name,
            "requests": self.requests,
            "ok": self.ok,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.p50, 2),
            "p99_ms": round(self.p99, 2),
            "ratio_to_ceiling": round(ratio, 3) if ratio is not None else None,
        }


@dataclass
class ApiReport:
    requests: int
    seconds: float
    concurrency: int
    workers: int
    subjects: int
    seed: int
    phases: dict[str, ApiPhase] = field(default_factory=dict)
    reads_audited: int | None = None
    location: str | None = None
    machine: dict[str, Any] = field(default_factory=machine)

    def goals(self) -> list[Goal]:
        read = self.phases.get("read")
        return [
            Goal(
                "reads",
                BACKEND,
                read.per_second if read else None,
                GOAL_READS_PER_SECOND,
                " req/s",
                at_least=True,
            ),
            Goal("read p99", BACKEND, read.p99 if read else None, GOAL_READ_P99_MS, " ms"),
        ]

    def misses(self) -> list[str]:
        missed = [g.verdict() for g in self.goals() if not g.met]
        for phase in self.phases.values():
            if phase.ok != phase.requests:
                missed.append(f"{phase.name}: {phase.requests - phase.ok:,} requests not 2xx")
        read = self.phases.get("read")
        if read is not None and self.reads_audited != read.ok:
            missed.append(f"read: {read.ok:,} reads answered, {self.reads_audited} audited")
        return missed

    def to_dict(self) -> dict[str, Any]:
        ceiling = self.phases.get("ceiling")
        return {
            "benchmark": "api",
            "backend": BACKEND,
            "seed": self.seed,
            "requests": self.requests,
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "workers": self.workers,
            "subjects": self.subjects,
            "machine": self.machine,
            "location": self.location,
            "engine": "mexfi serve (uvicorn, access log off) on loopback, asyncio httpx client",
            "baseline": "GET /api/v1/health in the same run: the framework's ceiling",
            "ratio": "phase requests a second / ceiling requests a second",
            "phases": [p.to_dict(ceiling) for p in self.phases.values()],
            "reads_audited": self.reads_audited,
            "goals": [g.to_dict() for g in self.goals()],
            "met": not self.misses(),
            "missed": self.misses(),
        }


# ------------------------------------------------------------------------------ the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _mexfi(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mexfi", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise Unavailable(f"`mexfi {args[0]}` failed for the benchmark: {done.stderr[-400:]}")
    return done.stdout.strip()


def _server_env(url: str, schemas: tuple[str, str, str], data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEXFI_")}
    records, keys, passive = schemas
    env.update(
        MEXFI_DATA_DIR=str(data_dir),
        MEXFI_DATABASE_URL=url,
        MEXFI_KEYSTORE_URL=url,
        MEXFI_RECORDS_SCHEMA=records,
        MEXFI_KEYS_SCHEMA=keys,
        MEXFI_PASSIVE_SCHEMA=passive,
        MEXFI_KEYSTORE_SHARED_DATABASE="1",
        MEXFI_ACTOR="bench-api",
    )
    return env


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise Unavailable("`mexfi serve` stopped before it answered")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise Unavailable(f"`mexfi serve` did not answer within {timeout:g} s")


# ------------------------------------------------------------------------------ the load


Build = Callable[[int], tuple[str, str, dict[str, str], Any]]


async def _load(
    base: str,
    build: Build,
    *,
    requests: int,
    seconds: float,
    concurrency: int,
    timeout: float = 10.0,
) -> tuple[float, list[float], dict[int, int]]:
    """Send `build(i)` (method, path, headers, json) for i < requests, `concurrency` at a
    time, for at most `seconds`; the wall time, latencies (ms) and status counts."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # TCP_NODELAY: else Nagle and the peer's delayed ACK stall each request ~40 ms on loopback.
    transport = httpx.AsyncHTTPTransport(
        limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=timeout) as client:
        started = time.perf_counter()
        stop = started + seconds

        async def worker() -> None:
            for i in counter:
                if time.perf_counter() > stop:
                    return
                method, path, headers, body = build(i)
                sent = time.perf_counter()
                try:
                    response = await client.request(method, path, headers=headers, json=body)
                    status = response.status_code
                except httpx.TransportError:
                    status = 0  # no answer (a timeout, a dropped connection): counted, not 2xx
                latencies.append((time.perf_counter() - sent) * 1000)
                statuses[status] = statuses.get(status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, statuses


def _phase(name: str, base: str, build: Build, **bounds: Any) -> ApiPhase:
    wall, ms, statuses = asyncio.run(_load(base, build, **bounds))
    return ApiPhase(name, wall, tuple(ms), statuses)


def run_api(
    *,
    postgres_url: str | None,
    requests: int = 5000,
    seconds: float = 30.0,
    concurrency: int = 8,
    workers: int = 2,
    subjects: int = 500,
    seed: int = 0,
    progress: Progress | None = None,
) -> ApiReport:
    """Start `mexfi serve` on a fresh PostgreSQL store and time each phase against it."""
    if min(requests, concurrency, workers, subjects) < 1 or seconds <= 0:
        raise Invalid("requests, concurrency, workers, subjects and seconds must be positive")
    url = check_postgres_url(postgres_url)
    report = ApiReport(requests, seconds, concurrency, workers, subjects, seed)
    bounds = {"requests": requests, "seconds": seconds, "concurrency": concurrency}
    with postgres_store(url) as store, tempfile.TemporaryDirectory(prefix="mexfi-bench-") as tmp:
        config = store.config
        schemas = (config.records_schema, config.keys_schema, config.passive_schema)
        env = _server_env(url, schemas, Path(tmp))
        report.location = store_location(store)
        _mexfi(env, "init")
        policy = "bakikart"
        label = ("--label", "bench-api")
        service = _mexfi(env, "apikeys", "create", "--policy", policy, "--role", "service", *label)
        dpo = _mexfi(env, "apikeys", "create", "--policy", policy, "--role", "dpo", *label)
        service_headers = {
            "Authorization": f"Bearer {service}",
            "X-Mexfi-Purpose": "service_provision",
        }
        dpo_headers = {"Authorization": f"Bearer {dpo}"}
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "mexfi", "serve", "--port", str(port)]
        command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            _wait_ready(base, server)
            phone_base = 500_000_000 + seed % 1000 * 100_000

            def step(name: str, build: Build, count: int | None = None) -> ApiPhase:
                if progress:
                    progress(BACKEND, name, PHASES.index(name), len(PHASES))
                phase_bounds = {**bounds, "requests": count or requests}
                phase = _phase(name, base, build, **phase_bounds)
                report.phases[name] = phase
                return phase

            # Warm-up, untimed: both workers up, the client's connections open.
            _phase("warm-up", base, lambda i: ("GET", "/api/v1/health", {}, None), **bounds)
            step("ceiling", lambda i: ("GET", "/api/v1/health", {}, None))

            # Registration makes the riders the later phases use (a fixed count of them).
            def register(i: int) -> tuple[str, str, dict[str, str], Any]:
                phone = f"+994{phone_base + i}"
                body = {
                    "policy_id": policy,
                    "kind": "rider",
                    "lookup_phone": phone,
                    "records": {"phone": {"phone": phone}},
                }
                return "POST", "/api/v1/subjects", service_headers, body

            step("register", register, subjects)
            riders = _rider_ids(url, config.records_schema, subjects)
            if not riders:
                raise Unavailable("no rider was registered: the read phases have no subject")
            read_body = {"categories": ["phone"]}
            tap = {"place": "Sahil", "kind": "card", "used_at": "2026-11-02T08:00:00+04:00"}
            step(
                "read",
                lambda i: (
                    "POST",
                    f"/api/v1/subjects/{riders[i % len(riders)]}/read",
                    service_headers,
                    read_body,
                ),
            )
            step(
                "write",
                lambda i: (
                    "POST",
                    f"/api/v1/subjects/{riders[i % len(riders)]}/records",
                    service_headers,
                    {"category": "card_use", "values": tap},
                ),
            )
            # One access request a rider: more would conflict with the open one.
            step(
                "intake",
                lambda i: (
                    "POST",
                    "/api/v1/requests",
                    dpo_headers,
                    {
                        "policy_id": policy,
                        "kind": "access",
                        "channel": "electronic",
                        "subject_id": riders[i],
                    },
                ),
                min(requests, len(riders)),
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        report.reads_audited = count_rows(
            store, "SELECT count(*) FROM audit_entries WHERE action = 'read'"
        )
        if progress:
            progress(BACKEND, "done", len(PHASES), len(PHASES))
    return report


def _rider_ids(url: str, schema: str, count: int) -> list[str]:
    """The registered riders' ids, read from the store (the register phase's answers are
    not kept: the client times requests only)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(f'SELECT id FROM "{schema}".subjects ORDER BY id LIMIT :n'), {"n": count}
            ).all()
    finally:
        engine.dispose()
    return [row[0] for row in rows]
