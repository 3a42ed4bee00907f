"""`serve --workers N`: N processes of `serve` sharing the ports, supervised by the parent.

The parent forwards SIGTERM and SIGINT to every worker, replaces a worker that exits on its own,
and gives up when replacements keep dying right after starting.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time

from bridge.telemetry.metrics import MULTIPROC_DIR, mark_worker_dead, prepare_multiprocess_dir

log = logging.getLogger(__name__)

# A worker that dies on its own is started again; one that dies this soon after starting, this
# many times in a row, is failing at start (port taken, broken environment): the whole process
# then stops, so that the orchestrator sees the failure instead of a loop of restarts.
QUICK_EXIT_SECONDS = 10.0
QUICK_EXITS_TO_GIVE_UP = 5


def run_workers(argv: list[str], workers: int) -> int:
    """Run `workers` processes of `serve` sharing the ports (SO_REUSEPORT); forward signals.

    The workers share a metrics directory (prometheus-client multiprocess mode), so `/metrics`
    on whichever worker a scrape reaches counts every worker's events. A worker that exits on its
    own is replaced, after a pause that doubles (1 s up to 30 s) while replacements keep dying
    within `QUICK_EXIT_SECONDS`.
    """
    metrics_dir, owned = prepare_multiprocess_dir()
    env = dict(os.environ, BRIDGE_WORKER="1", **{MULTIPROC_DIR: metrics_dir})
    command = [sys.executable, "-m", "bridge", *argv, "--workers", "1"]
    running: dict[subprocess.Popen[bytes], float] = {}  # worker -> when it started (monotonic)
    stopping = False
    failure = 0  # the exit code of the last worker that gave up, when the parent gives up

    def start() -> subprocess.Popen[bytes]:
        child = subprocess.Popen(command, env=env)
        running[child] = time.monotonic()
        return child

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in running:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while len(running) < workers and not stopping:  # a signal now stops the ones started
        start()
    log.info("workers started", extra={"workers": [c.pid for c in running], "metrics_dir": metrics_dir})
    codes: list[int] = []
    quick_exits, restart_at = 0, 0.0  # restart_at: when to replace the workers gone (0: none gone)
    try:
        while running or (restart_at and not stopping):
            for child, started in list(running.items()):
                code = child.poll()
                if code is None:
                    continue
                del running[child]
                codes.append(code)
                mark_worker_dead(child.pid, metrics_dir)
                if stopping:
                    continue
                lived = time.monotonic() - started
                log.error(
                    "a worker exited on its own",
                    extra={"pid": child.pid, "exit_code": code, "seconds_up": round(lived, 1)},
                )
                quick_exits = quick_exits + 1 if lived < QUICK_EXIT_SECONDS else 0
                if quick_exits >= QUICK_EXITS_TO_GIVE_UP:
                    log.error(
                        "workers keep exiting right after starting; stopping",
                        extra={"exits": quick_exits, "within_seconds": QUICK_EXIT_SECONDS},
                    )
                    failure = code if code > 0 else 1
                    forward(signal.SIGTERM, None)
                    break
                pause = min(2.0 ** (quick_exits - 1), 30.0) if quick_exits else 0.0  # 1, 2, 4 ... s
                restart_at = restart_at or time.monotonic() + pause
            if restart_at and not stopping and time.monotonic() >= restart_at:
                restart_at = 0.0
                while len(running) < workers:
                    log.warning("worker restarted", extra={"pid": start().pid})
            time.sleep(0.2)  # polling: a worker's exit need not be noticed to the millisecond
    finally:
        if owned:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    if failure:
        return failure
    return max((c for c in codes if c > 0), default=0)
