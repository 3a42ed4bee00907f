"""Running the bridge: both listeners, signals, graceful shutdown, and N worker processes.

Shutdown order on SIGTERM: readiness turns 503, the bridge keeps serving for `shutdown_delay`
seconds (time for a load balancer to stop sending, e.g. Kubernetes removing the pod from its
endpoints), the listeners stop accepting, requests in flight get `drain_timeout` seconds to
finish, then the producer flushes and stops (cleanup_ctx) in what is left of `drain_timeout`:
drain and flush together fit in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

from aiohttp import web

from bridge import __version__
from bridge.core.settings import Settings
from bridge.http.admin import create_admin_app
from bridge.http.app import JsonErrorsRunner, create_app
from bridge.http.listener import EagerAcceptSite
from bridge.http.state import BRIDGE
from bridge.http.tls import ServerCertificate
from bridge.telemetry.metrics import MULTIPROC_DIR, mark_worker_dead, prepare_multiprocess_dir

log = logging.getLogger(__name__)


def server_certificate(settings: Settings) -> ServerCertificate | None:
    if not settings.tls_cert_file or not settings.tls_key_file:
        return None
    return ServerCertificate(settings.tls_cert_file, settings.tls_key_file)


def _limits(settings: Settings) -> dict[str, Any]:
    """aiohttp's connection limits: idle (and header-phase) time, header sizes."""
    return {
        # The keep-alive timer also runs from the moment a connection opens until its first
        # complete header block, so it bounds a client that sends headers slowly (slowloris).
        "keepalive_timeout": settings.keepalive_timeout,
        "max_line_size": settings.max_header_bytes,
        "max_field_size": settings.max_header_bytes,
    }


def tune_gc() -> None:
    """The cyclic garbage collector, tuned for a request loop, once serving.

    Measured with `python -m bench`, 4 interleaved rounds each (docs/performance.md):
    - everything built so far (modules, app, settings) lives as long as the process: frozen, out
      of the collector's sight, full collections have far less to walk and pause the loop for
      less (p99 46 ms instead of 63-74 ms);
    - a request's objects are freed by reference counting as soon as it is answered, so young
      collections every 700 allocations (the default) mostly walk requests still in flight;
      every 10,000 is ~10% less CPU per event, and cycles are still collected.
    """
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


class CannotListen(Exception):
    """A listener's address is taken or not on this host: the sentence to log before exiting."""


async def _listen(site: web.BaseSite, host: str, port: int) -> None:
    try:
        await site.start()
    except OSError as exc:
        # os.strerror: uvloop's own message repeats the address; a name that does not resolve
        # (socket.gaierror) has a negative errno and its own strerror.
        reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror or str(exc)
        reason = reason.lower()
        raise CannotListen(f"cannot listen on {host}:{port}: {reason}") from None


async def serve(settings: Settings, *, reuse_port: bool = False) -> None:
    app = create_app(settings)
    bridge = app[BRIDGE]
    public = JsonErrorsRunner(
        app,
        metrics=bridge.metrics,
        shutdown_timeout=settings.drain_timeout,
        access_log=None,
        handle_signals=False,
        **_limits(settings),
    )
    admin = JsonErrorsRunner(create_admin_app(bridge), access_log=None, handle_signals=False)
    await public.setup()
    await admin.setup()
    host, port = settings.listen
    admin_host, admin_port = settings.admin_listen
    certificate = server_certificate(settings)
    try:
        tls = certificate.context if certificate else None
        # The public site accepts bursts of connections at once (bridge/http/listener.py); the admin
        # listener, a few probes and scrapes, does not need to.
        public_site = EagerAcceptSite(
            public, host, port, ssl_context=tls, reuse_port=reuse_port, backlog=1024
        )
        admin_site = web.TCPSite(admin, admin_host, admin_port, reuse_port=reuse_port)
        await _listen(public_site, host, port)
        await _listen(admin_site, admin_host, admin_port)
    except CannotListen:
        await public.cleanup()  # the producer may have started: stop it cleanly
        await admin.cleanup()
        raise
    reloader = asyncio.create_task(certificate.watch(settings.tls_reload_interval)) if certificate else None
    log.info(
        "socketlabs-kafka-bridge started",
        extra={"version": __version__, "pid": os.getpid(), "configuration": settings.masked()},
    )

    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()

    bridge.draining = True
    log.info(
        "shutting down: readiness 503, then draining requests in flight",
        extra={"shutdown_delay": settings.shutdown_delay, "drain_timeout": settings.drain_timeout},
    )
    if settings.shutdown_delay > 0:
        stop.clear()  # a second signal cuts the delay short
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.shutdown_delay)
    bridge.drain_deadline = loop.time() + settings.drain_timeout
    if reloader is not None:
        reloader.cancel()
    await public.cleanup()  # stop accepting, drain, then flush and stop the producer
    await admin.cleanup()
    bridge.metrics.flush()  # multiprocess mode: the last tallies reach this worker's file
    log.info("stopped")


def run(settings: Settings, *, reuse_port: bool = False) -> int:
    """Serve until a signal; the exit code (1 when a listener cannot be opened)."""
    if not reuse_port and os.environ.get(MULTIPROC_DIR):
        # One process, yet multiprocess mode chosen (e.g. a volume that outlives a container
        # restart): nobody else will clear the last run's values, so this process does.
        prepare_multiprocess_dir()
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # uvloop is not built for every platform
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        try:
            runner.run(serve(settings, reuse_port=reuse_port))
        except CannotListen as exc:
            log.error(str(exc))
            return 1
    return 0


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
