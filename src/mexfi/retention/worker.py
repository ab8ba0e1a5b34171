"""The worker: run the retention executor on an interval until told to stop.

SIGTERM and SIGINT set a flag the executor checks between batches: the current
batch commits, the run ends as `stopped`, the worker exits cleanly.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

from mexfi.retention.schemas import RunReport
from mexfi.retention.service import RetentionEngine

__all__ = ["run_worker"]


def run_worker(
    make_engine: Callable[[Callable[[], bool]], RetentionEngine],
    *,
    interval: float,
    stop: threading.Event | None = None,
    max_runs: int | None = None,
    on_run: Callable[[RunReport], None] | None = None,
    install_signal_handlers: bool = True,
) -> int:
    """Run until stopped (or `max_runs`); returns how many runs completed."""
    stop = stop or threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if install_signal_handlers:
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    engine = make_engine(stop.is_set)
    runs = 0
    while not stop.is_set():
        report = engine.run()
        runs += 1
        if on_run is not None:
            on_run(report)
        if max_runs is not None and runs >= max_runs:
            break
        # Waiting on the event, not sleeping: a stop request ends the wait at once.
        stop.wait(interval)
    return runs
