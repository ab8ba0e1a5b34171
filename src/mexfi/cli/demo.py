"""`mexfi demo`: the whole system on one machine, in one command.

A SQLite store in a data directory of its own (temporary unless `--data-dir` names one; the
user's ./.mexfi only when named), created as `mexfi init` creates one, both policies, an API
key for each role, the operators' reference flows run through the HTTP API, the server and
the retention worker beside it until Ctrl-C. `--check` runs it unattended: the same start,
then probes of the API, a clean stop, exit 0, or exit 1 naming the probe that failed.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mexfi.cli.options import OutputFormat
from mexfi.cli.output import err, listing, out

if TYPE_CHECKING:
    import httpx
    import uvicorn

    from mexfi.policy import Policy
    from mexfi.requests import CodeMessage
    from mexfi.retention import RunReport
    from mexfi.vault import Vault

__all__ = ["demo_command"]

#: Variables that would point the demo at another store or other keys: unset while it runs,
#: so that its store is the data directory's and nothing else.
_STORE_VARIABLES = (
    "MEXFI_DATABASE_URL",
    "MEXFI_KEYSTORE_URL",
    "MEXFI_KEYSTORE_SHARED_DATABASE",
    "MEXFI_RECORDS_SCHEMA",
    "MEXFI_KEYS_SCHEMA",
    "MEXFI_PASSIVE_SCHEMA",
    "MEXFI_KEY_FILE",
    "MEXFI_MASTER_KEY",
    "MEXFI_INDEX_KEY",
    "MEXFI_PSEUDONYM_KEY",
    "MEXFI_AUDIT_KEY_FILE",
    "MEXFI_AUDIT_SIGNING_KEY",
    "MEXFI_AUDIT_PUBLIC_KEY",
    "MEXFI_AUDIT_ANCHOR",
    "MEXFI_CODE_SENDER",
)
#: Files of a store in a data directory (`mexfi init`'s).
_STORE_FILES = ("mexfi.sqlite", "mexfi-keys.sqlite", "keys.json")
#: Who the demo acts as where a person would (creating the keys).
DEMO_ACTOR_ID = "mexfi-demo"
#: Seconds between the worker's retention runs.
WORKER_INTERVAL = 60.0
#: How long the server and the worker's first run may take to come up.
START_TIMEOUT = 60.0

T = TypeVar("T")


def demo_command(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Run unattended: start, run the flows, probe the API, stop; exit 0, or 1 "
            "naming the probe that failed.",
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Keep the demo's store here (created if missing). Default: a temporary "
            "directory, removed when the demo stops.",
            file_okay=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="The port to serve on (default: a free one)."),
    ] = None,
    riders: Annotated[
        int, typer.Option(min=0, max=100_000, help="BakıKart riders run through the app.")
    ] = 300,
    drivers: Annotated[
        int, typer.Option(min=0, max=100_000, help="Taxsee drivers run through the app.")
    ] = 100,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the generated people (default: a new one, printed)."),
    ] = None,
    format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="The keys, URLs and probes as text or JSON."),
    ] = OutputFormat.text,
) -> None:
    """Start the demo: a store of its own, both policies, a key per role, the reference
    flows, the API (docs at /docs) and the retention worker, until Ctrl-C.

    Never touches ./.mexfi unless --data-dir names it.
    """
    from mexfi.errors import Conflict

    if data_dir is not None and any((data_dir / name).exists() for name in _STORE_FILES):
        # The flows register people anew: over a store they already filled, they conflict.
        raise Conflict(
            f"--data-dir {data_dir} already holds a store: the demo makes a new one",
            hint="give an empty or new --data-dir; serve the kept one with "
            f"`MEXFI_DATA_DIR={data_dir} mexfi serve`",
        )
    started = time.perf_counter()
    seed = seed if seed is not None else random.SystemRandom().randrange(1_000_000)
    temporary = data_dir is None
    where = Path(tempfile.mkdtemp(prefix="mexfi-demo-")) if data_dir is None else data_dir
    where = where.resolve()
    err.print(
        f"mexfi demo, seed {seed} (--seed {seed} repeats it); data dir {where}"
        + (" (temporary: removed when the demo stops)" if temporary else "")
    )
    demo = _Demo(seed=seed, riders=riders, drivers=drivers, check=check)
    try:
        with _environment(where):
            demo.run(port=port)
    finally:
        if temporary:
            shutil.rmtree(where, ignore_errors=True)
    seconds = time.perf_counter() - started
    _report(demo, seconds=seconds, format=format, data_dir=where)
    if demo.failed is not None:
        err.print(
            f"[bold red]demo check failed[/]: {demo.failed.name}: {escape(demo.failed.detail)}"
        )
        raise typer.Exit(1)
    if check:
        err.print(f"demo check passed in {seconds:.1f} s")


# --------------------------------------------------------------------------- the run


@dataclass
class ProbeResult:
    """One probe's outcome: a name, whether it held, what was seen (never a personal value)."""

    name: str
    ok: bool
    detail: str
    seconds: float


class ProbeFailed(Exception):
    """A probe did not hold; its message says what was seen instead."""


@dataclass
class DemoKey:
    policy_id: str
    role: str
    key_id: str
    secret: str


@dataclass
class _Demo:
    seed: int
    riders: int
    drivers: int
    check: bool
    probes: list[ProbeResult] = field(default_factory=list)
    keys: list[DemoKey] = field(default_factory=list)
    base_url: str | None = None
    flows: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def failed(self) -> ProbeResult | None:
        return next((p for p in self.probes if not p.ok), None)

    def probe(self, name: str, action: Callable[[], tuple[T, str]]) -> T:
        """Run `action` (which returns its result and what it saw) as the probe `name`."""
        began = time.perf_counter()
        try:
            result, detail = action()
        except Exception as exc:
            from mexfi.errors import MexfiError

            detail = exc.message if isinstance(exc, MexfiError) else str(exc)
            detail = detail or type(exc).__name__
            self.probes.append(ProbeResult(name, False, detail, time.perf_counter() - began))
            raise ProbeFailed(detail) from exc
        self.probes.append(ProbeResult(name, True, detail, time.perf_counter() - began))
        err.print(f"[green]ok[/] {name}: {escape(detail)}")
        return result

    def key(self, policy_id: str, role: str) -> str:
        return next(k.secret for k in self.keys if k.policy_id == policy_id and k.role == role)

    def run(self, *, port: int | None) -> None:
        """The whole demo inside its environment; a failed probe ends it (recorded)."""
        with suppress(ProbeFailed):
            self._run(port)

    def _run(self, port: int | None) -> None:
        from mexfi.runtime import load_policies_each, open_vault

        policies = self.probe("policies", _policies)
        # As `mexfi init` does (an existing store of a kept --data-dir is used as it is).
        self.probe("store", _init_store)
        with open_vault(policies=policies) as vault:
            self.keys = self.probe("keys", lambda: _create_keys(vault, policies))
            sock = self.probe("port", lambda: _listen(port))
            codes = _ConsoleCodes()
            server = _Server(vault, sock, codes)
            self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            worker: _Worker | None = None
            try:
                self.probe("server", server.start)
                self.flows = self.probe("flows", lambda: self._flows(self.base_url or ""))
                _, broken = load_policies_each()
                worker = _Worker(vault, broken)
                self.probe("worker", worker.start)
                if self.check:
                    self._probe_api(codes, worker)
                else:
                    _print_keys(self.keys)
                    _print_urls(self.base_url)
                    _wait_for_interrupt()
            finally:
                if worker is not None:
                    worker.stop()
                server.stop()
        if self.check:
            self.probe("audit verify", _verify_audit_offline)

    # ------------------------------------------------------------------ flows

    def _flows(self, base_url: str) -> tuple[dict[str, dict[str, int]], str]:
        from mexfi.client import MexfiClient
        from mexfi.services import GenerationProgress
        from mexfi.services.bakikart import flows as bakikart
        from mexfi.services.taxsee import flows as taxsee

        reports: dict[str, dict[str, int]] = {}
        with Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("· {task.fields[records]:,} records"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:

            def advancing(name: str, count: int) -> GenerationProgress:
                task = progress.add_task(name, total=count or None, records=0)

                def advance(done: int, planned: int, records: int) -> None:
                    progress.update(task, completed=done, total=planned, records=records)

                return advance

            with MexfiClient(base_url, self.key("bakikart", "service")) as client:
                report = bakikart.run(
                    client,
                    riders=self.riders,
                    seed=self.seed,
                    progress=advancing("bakikart", self.riders),
                )
            reports["bakikart"] = dict(report.counts)
            with MexfiClient(base_url, self.key("taxsee_driver", "system")) as client:
                report = taxsee.run(
                    client,
                    drivers=self.drivers,
                    seed=self.seed,
                    progress=advancing("taxsee", self.drivers),
                )
            reports["taxsee"] = dict(report.counts)
        detail = f"{self.riders} riders, {self.drivers} drivers through the API"
        return reports, detail

    # ------------------------------------------------------------------ probes

    def _probe_api(self, codes: _ConsoleCodes, worker: _Worker) -> None:
        import httpx

        with httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=60) as http:
            self.probe("health", lambda: _health(http))
            dpo_key = self.key("bakikart", "dpo")
            self.probe("console", lambda: _console_sign_in(self.base_url or "", dpo_key))
            self.probe("portal", lambda: _portal_page(self.base_url or ""))
            self.probe("notice", lambda: _notice(http, self.key("taxsee_driver", "dpo")))
            service = self.key("bakikart", "service")
            rider = self.probe("register", lambda: _register(http, service, self.seed))
            self.probe("purpose-bound read", lambda: _read(http, service, rider))
            self.probe("refused read", lambda: _refused_read(http, service, rider))
            dpo = self.key("bakikart", "dpo")
            self.probe("request", lambda: _request(http, dpo, rider, codes))
            self.probe("retention", lambda: worker.first_run())
            auditor = self.key("bakikart", "auditor")
            self.probe("audit verify (API)", lambda: _audit_verify(http, auditor))


def _policies() -> tuple[dict[str, Policy], str]:
    """Every policy file loads (both operators'), and its lint findings are counted (a report,
    as `mexfi policy lint --exit-zero` gives)."""
    from mexfi.policy import Severity, lint_policy
    from mexfi.runtime import load_policies_each

    policies, broken = load_policies_each()
    if broken:
        # The loader's message names the file and the line; its lines joined into one.
        raise ProbeFailed("; ".join(" ".join(w.split()) for w in broken.values()))
    for needed in ("bakikart", "taxsee_driver"):
        if needed not in policies:
            raise ProbeFailed(f"policy {needed!r} is not in the policy folder")
    findings = [f for p in policies.values() for f in lint_policy(p)]
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    detail = (
        f"{', '.join(sorted(policies))} loaded; lint: {len(findings)} findings, "
        f"{errors} error-level (reported, as `mexfi policy lint --exit-zero`)"
    )
    return policies, detail


def _init_store() -> tuple[None, str]:
    from mexfi.cli.keys import init_command

    # What it wrote is a message here: stdout keeps the keys and the report (and JSON pure).
    with out.capture() as said:
        init_command(if_missing=True)
    err.print(said.get(), end="", markup=False, highlight=False)
    return None, "created as `mexfi init` does"


def _create_keys(vault: Vault, policies: dict[str, Policy]) -> tuple[list[DemoKey], str]:
    """A key for each role that may hold one, in each policy, committed at once."""
    from mexfi.apikeys import EXTRA_ROLES, create_api_key
    from mexfi.policy import RoleKind
    from mexfi.vault import Actor

    actor = Actor(DEMO_ACTOR_ID, "dpo")
    keys: list[DemoKey] = []
    with vault.unit_of_work() as uow:
        for policy_id, policy in sorted(policies.items()):
            roles = [r.id for r in policy.roles if r.kind in (RoleKind.STAFF, RoleKind.SYSTEM)]
            for role in dict.fromkeys([*roles, *EXTRA_ROLES]):
                created = create_api_key(
                    vault, uow, policy_id=policy_id, role=role, label=f"demo-{role}", actor=actor
                )
                keys.append(DemoKey(policy_id, role, created.key.id, created.secret))
    return keys, f"{len(keys)} keys, one per role of each policy"


def _listen(port: int | None) -> tuple[socket.socket, str]:
    from mexfi.errors import Unavailable

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by each accepted connection. Uvicorn sets it only on sockets it opens itself:
    # without it every response waits out the client's delayed ACK (40 ms a request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(("127.0.0.1", port or 0))
    except OSError as exc:
        sock.close()
        raise Unavailable(
            f"port {port} cannot be used: {exc.strerror}",
            hint="choose another --port, or leave it out for a free one",
        ) from None
    sock.listen(128)
    return sock, f"listening on 127.0.0.1:{sock.getsockname()[1]}"


def _expect(response: httpx.Response, status: int, what: str) -> Any:
    if response.status_code != status:
        code = ""
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            code = f" ({response.json().get('code')})"
        raise ProbeFailed(f"{what}: HTTP {response.status_code}{code}, expected {status}")
    return response.json() if "json" in response.headers.get("content-type", "") else None


def _bearer(key: str, purpose: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if purpose is not None:
        headers["X-Mexfi-Purpose"] = purpose
    return headers


def _health(http: httpx.Client) -> tuple[None, str]:
    body = _expect(http.get("/health"), 200, "GET /health")
    if body != {"status": "ok"}:
        raise ProbeFailed(f"GET /health answered {body!r}")
    return None, "GET /api/v1/health: ok"


def _notice(http: httpx.Client, key: str) -> tuple[None, str]:
    path = "/policies/taxsee_driver/notice/az"
    response = http.get(path, params={"format": "html"}, headers=_bearer(key))
    _expect(response, 200, f"GET {path}")
    return None, f"the Taxsee notice rendered in az ({len(response.content):,} bytes)"


def _register(http: httpx.Client, key: str, seed: int) -> tuple[str, str]:
    """A rider of the probe's own (values from the generator under the demo's seed)."""
    from mexfi.services import Synth

    def taken(phone: str) -> bool:
        found = http.post(
            "/subjects/find", json={"policy_id": "bakikart", "phone": phone}, headers=_bearer(key)
        )
        return found.status_code == 200

    synth = Synth(random.Random(f"probe-{seed}"), phone_taken=taken)
    person, phone = synth.person(), synth.phone()
    body = {
        "policy_id": "bakikart",
        "kind": "rider",
        "lookup_phone": phone,
        "records": {
            "phone": {"phone": phone},
            "profile": {"first_name": person.given, "last_name": person.surname},
        },
    }
    created = _expect(
        http.post("/subjects", json=body, headers=_bearer(key, "service_provision")),
        201,
        "POST /subjects",
    )
    rider: str = created["id"]
    return rider, f"rider {rider} registered with the service key"


def _read(http: httpx.Client, key: str, rider: str) -> tuple[None, str]:
    body = _expect(
        http.post(
            f"/subjects/{rider}/read",
            json={"categories": ["phone", "profile"]},
            headers=_bearer(key, "service_provision"),
        ),
        200,
        f"POST /subjects/{rider}/read",
    )
    records = body.get("records") or []
    if {r["category"] for r in records} != {"phone", "profile"}:
        raise ProbeFailed(f"the read returned categories {sorted(r['category'] for r in records)}")
    return None, f"{len(records)} records read by the service key for service_provision"


def _refused_read(http: httpx.Client, key: str, rider: str) -> tuple[None, str]:
    # `service_level` is the partner's purpose, not the service's: the vault refuses it.
    body = _expect(
        http.post(
            f"/subjects/{rider}/read",
            json={"categories": ["phone"]},
            headers=_bearer(key, "service_level"),
        ),
        403,
        "a read for a purpose the service key's role does not declare",
    )
    return None, f"a read for an undeclared purpose refused: 403 {body.get('code')}"


def _request(http: httpx.Client, key: str, rider: str, codes: _ConsoleCodes) -> tuple[None, str]:
    """An access request (BK-3.2): intake, a code by the console sender, verify, answer."""
    headers = _bearer(key)
    intake = {"policy_id": "bakikart", "kind": "access", "channel": "written", "subject_id": rider}
    request = _expect(http.post("/requests", json=intake, headers=headers), 201, "POST /requests")
    if request["state"] != "verifying":
        raise ProbeFailed(f"request {request['id']} is {request['state']}: {request['reasons']}")
    path = f"/requests/{request['id']}"
    _expect(http.post(f"{path}/code", headers=headers), 200, f"POST {path}/code")
    code = codes.code_for(request["id"])
    if code is None:
        raise ProbeFailed(f"the console sender sent no code for request {request['id']}")
    verified = _expect(
        http.post(f"{path}/verify", json={"code": code}, headers=headers),
        200,
        f"POST {path}/verify",
    )
    if verified["state"] != "in_progress":
        raise ProbeFailed(f"request {request['id']} is {verified['state']} after the code")
    answered = _expect(
        http.post(f"{path}/answer", json={}, headers=headers), 200, f"POST {path}/answer"
    )
    if answered["request"]["state"] != "answered" or not answered["answer"].get("records"):
        raise ProbeFailed(f"request {request['id']} was not answered with the rider's records")
    return None, f"access request {request['id']}: code sent, verified, answered"


def _console_sign_in(base_url: str, key: str) -> tuple[None, str]:
    """The DPO console's sign-in page, and a sign-in with the demo's DPO key (its form and
    CSRF token, as a browser sends them) that reaches the request queue."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=60, follow_redirects=False) as browser:
        page = browser.get("/console/sign-in")
        _expect(page, 200, "GET /console/sign-in")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if found is None:
            raise ProbeFailed("the console's sign-in page has no CSRF token")
        signed = browser.post("/console/sign-in", data={"csrf_token": found.group(1), "key": key})
        if signed.status_code != 303 or signed.headers.get("location") != "/console/requests":
            raise ProbeFailed(f"POST /console/sign-in answered {signed.status_code}")
        _expect(browser.get("/console/requests"), 200, "GET /console/requests")
    return None, "GET /console/sign-in: 200; the DPO key signs in to the request queue"


def _portal_page(base_url: str) -> tuple[None, str]:
    """The self-service portal's sign-in page."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=60) as browser:
        _expect(browser.get("/portal/sign-in"), 200, "GET /portal/sign-in")
    return None, "GET /portal/sign-in: 200"


def _audit_verify(http: httpx.Client, key: str) -> tuple[None, str]:
    body = _expect(http.get("/audit/verify", headers=_bearer(key)), 200, "GET /audit/verify")
    if not body.get("ok"):
        raise ProbeFailed(
            f"the audit log does not verify: {len(body.get('problems', []))} problems"
        )
    return None, f"{body['checked']:,} entries, {body['checkpoints']:,} checkpoints verified"


def _verify_audit_offline() -> tuple[None, str]:
    """After the stop, as `mexfi audit verify` does: the records database, the public key and
    the anchor file only."""
    from mexfi.audit import AuditAnchor, verify_log
    from mexfi.db import StoreConfig, open_store
    from mexfi.secrets import load_audit_public_key

    store = open_store(StoreConfig.from_env())
    try:
        with store.records() as session:
            report = verify_log(
                session, public_key=load_audit_public_key(None), anchor=AuditAnchor.from_env()
            )
    finally:
        store.dispose()
    if not report.ok:
        raise ProbeFailed(f"the audit log does not verify: {len(report.problems)} problems")
    return None, (
        f"after the stop: {report.checked:,} entries, {report.anchor_lines:,} anchor lines "
        "verified with the public key"
    )


# --------------------------------------------------------------------------- the parts


@contextmanager
def _environment(data_dir: Path) -> Iterator[None]:
    """The process environment pointed at `data_dir` alone, restored after."""
    saved = dict(os.environ)
    for name in _STORE_VARIABLES:
        os.environ.pop(name, None)
    os.environ["MEXFI_DATA_DIR"] = str(data_dir)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _ConsoleCodes:
    """The console sender (codes printed on stderr, never the phone) that also keeps the
    codes it printed, for the probe to read back as the person at the console would."""

    name = "console"

    def __init__(self) -> None:
        from mexfi.requests import ConsoleSender

        self._console = ConsoleSender()
        self._codes: dict[str, str] = {}

    def send(self, message: CodeMessage) -> None:
        self._console.send(message)
        self._codes[message.request_id] = message.code

    def code_for(self, request_id: str) -> str | None:
        return self._codes.get(request_id)


class _Server:
    """Uvicorn serving the API over `vault` in a thread of this process, on `sock`."""

    def __init__(self, vault: Vault, sock: socket.socket, codes: _ConsoleCodes) -> None:
        import uvicorn

        from mexfi.api import create_app
        from mexfi.requests.views import get_code_sender

        app = create_app(vault)
        app.dependency_overrides[get_code_sender] = lambda: codes
        # Uvicorn's own log at warning: the flows' thousands of requests would bury the rest.
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server: uvicorn.Server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="mexfi-demo-server"
        )

    def start(self) -> tuple[None, str]:
        from mexfi.errors import Unavailable

        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise Unavailable("the API server did not start", hint="run with MEXFI_DEBUG=1")
            time.sleep(0.05)
        return None, "uvicorn serves the API in this process"

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._sock.close()


class _Worker:
    """The retention worker (`mexfi worker`) in a thread beside the server."""

    def __init__(self, vault: Vault, broken: dict[str, str]) -> None:
        self._vault = vault
        self._broken = broken
        self._stop = threading.Event()
        self._first = threading.Event()
        self.reports: list[RunReport] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._loop, name="mexfi-demo-worker")

    def _loop(self) -> None:
        from mexfi.cli.keys import scheduled_key_maintenance
        from mexfi.retention import RetentionEngine, run_worker

        def ran(report: RunReport) -> None:
            self.reports.append(report)
            self._first.set()

        def failed(error: str, failures: int, delay: float) -> None:
            self.errors.append(error)
            err.print(
                f"[bold red]retention run failed[/]: {escape(error)}; retrying in {delay:g} s"
            )
            self._first.set()

        run_worker(
            lambda stop: RetentionEngine(
                self._vault, batch_size=1000, should_stop=stop, unloaded=self._broken
            ),
            interval=WORKER_INTERVAL,
            stop=self._stop,
            on_run=ran,
            on_error=failed,
            install_signal_handlers=False,
            maintenance=scheduled_key_maintenance(self._vault, batch_size=1000),
        )

    def start(self) -> tuple[None, str]:
        self._thread.start()
        return (
            None,
            f"retention worker started beside the server (a run every {WORKER_INTERVAL:g} s)",
        )

    def first_run(self) -> tuple[None, str]:
        """The worker's first run, done without fault."""
        if not self._first.wait(START_TIMEOUT):
            raise ProbeFailed(f"the worker's first run did not end within {START_TIMEOUT:g} s")
        if self.errors:
            raise ProbeFailed(f"the worker's first run failed: {self.errors[0]}")
        report = self.reports[0]
        if report.faulted:
            raise ProbeFailed(f"the worker's first run {report.status}: {report.faulted} faults")
        done = sum(r.records for r in report.rules)
        return (
            None,
            f"the worker's first run {report.status}: {len(report.rules)} rules, {done} records",
        )

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)


def _wait_for_interrupt() -> None:
    """Until Ctrl-C (SIGINT) or SIGTERM; both handled here, even where a shell started the
    demo in the background with SIGINT ignored."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    err.print("running; Ctrl-C stops the server and the worker")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    err.print("stopping")


# --------------------------------------------------------------------------- output


def _print_keys(keys: list[DemoKey]) -> None:
    table = listing("demo API keys (shown this once; `mexfi apikeys list` lists them)")
    table.add_column("policy", overflow="fold")
    table.add_column("role", overflow="fold")
    table.add_column("key", no_wrap=True)
    for key in keys:
        table.add_row(key.policy_id, key.role, key.secret)
    out.print(table)


def _print_urls(base_url: str | None) -> None:
    out.print(f"console  {base_url}/console   (sign in with a dpo or auditor key above)")
    out.print(
        f"portal   {base_url}/portal    (a rider or driver signs in with a phone; the code "
        "is printed here)"
    )
    out.print(f"API      {base_url}/api/v1")
    out.print(f"docs     {base_url}/docs")
    out.print(f"OpenAPI  {base_url}/openapi.json")


def _report(demo: _Demo, *, seconds: float, format: OutputFormat, data_dir: Path) -> None:
    """The check's outcome (the interactive demo printed its keys and URLs as it ran)."""
    if format is OutputFormat.json:
        out.print_json(
            json.dumps(
                {
                    "seed": demo.seed,
                    "data_dir": str(data_dir),
                    "seconds": round(seconds, 3),
                    "ok": demo.failed is None,
                    "base_url": demo.base_url,
                    "keys": [vars(k) for k in demo.keys] if demo.check else [],
                    "flows": demo.flows,
                    "probes": [vars(p) for p in demo.probes],
                }
            )
        )
        return
    if demo.check and demo.keys:
        _print_keys(demo.keys)
