"""The worker: run the retention executor on an interval until told to stop.

SIGTERM and SIGINT set a flag the executor checks between batches: the current
batch commits, the run ends as `stopped`, the worker exits cleanly. `maintenance` (the
master-key epochs) runs after each run; it decides itself whether anything is due.

No error ends the worker: a run that raises (the store gone, a bug) is reported through
`on_error` and tried again after a backoff that doubles with each failure in a row, up to
`retry_max` seconds; the first run that succeeds resets it. A run killed outright (SIGKILL,
a power cut) is closed by the next run once its lease has passed (`RetentionEngine`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

from mexfi.errors import Invalid
from mexfi.retention.schemas import RunReport
from mexfi.retention.service import RetentionEngine, describe_error

__all__ = ["retry_delay", "run_worker"]

#: Seconds before the first retry of a failed run; doubled for each failure in a row.
RETRY_INITIAL = 5.0
#: The longest wait between retries.
RETRY_MAX = 600.0


def retry_delay(
    failures: int, *, initial: float = RETRY_INITIAL, maximum: float = RETRY_MAX
) -> float:
    """Seconds to wait after `failures` failed runs in a row (1, 2, …): exponential, capped."""
    if failures < 1:
        raise Invalid("a retry follows at least one failure")
    return float(min(maximum, initial * 2 ** min(failures - 1, 62)))


def run_worker(
    make_engine: Callable[[Callable[[], bool]], RetentionEngine],
    *,
    interval: float,
    stop: threading.Event | None = None,
    max_runs: int | None = None,
    on_run: Callable[[RunReport], None] | None = None,
    on_error: Callable[[str, int, float], None] | None = None,
    install_signal_handlers: bool = True,
    maintenance: Callable[[], None] | None = None,
    wait: Callable[[float], bool] | None = None,
    retry_initial: float = RETRY_INITIAL,
    retry_max: float = RETRY_MAX,
) -> int:
    """Run until stopped (or `max_runs` attempts, failed ones included); returns how many
    runs completed.

    `on_error(what went wrong, failures in a row, seconds until the retry)` hears each
    failed attempt. `wait(seconds)` waits between attempts and returns True when the worker
    is to stop (by default `stop.wait`: a stop request ends the wait at once; tests inject
    one that does not sleep).
    """
    stop = stop or threading.Event()
    pause = wait or stop.wait

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if install_signal_handlers:
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    engine = make_engine(stop.is_set)
    runs = attempts = failures = 0
    while not stop.is_set():
        attempts += 1
        try:
            report = engine.run()
            runs += 1
            if on_run is not None:
                on_run(report)
            if maintenance is not None and not stop.is_set():
                maintenance()
        except Exception as exc:
            # Whatever went wrong, the worker stays: the next attempt may well succeed (a
            # store back up), and a run that cannot is reported every time, not once.
            failures += 1
            delay = retry_delay(failures, initial=retry_initial, maximum=retry_max)
            if on_error is not None:
                on_error(describe_error(exc), failures, delay)
        else:
            failures = 0
            delay = interval
        if max_runs is not None and attempts >= max_runs:
            break
        if pause(delay):
            break
    return runs
