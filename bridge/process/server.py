"""Running the bridge: both listeners, signals and graceful shutdown (N workers: `workers.py`).

Shutdown order on SIGTERM: readiness turns 503, the bridge keeps serving for `shutdown_delay`
seconds (time for a load balancer to stop sending, e.g. Kubernetes removing the pod from its
endpoints; every answer then closes its keep-alive connection), the listeners stop accepting, requests in flight get `drain_timeout` seconds to
finish, then the producer flushes and stops (cleanup_ctx) in what is left of `drain_timeout`:
drain and flush together fit in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from typing import Any

from aiohttp import web

from bridge import __version__
from bridge.core.settings import Settings
from bridge.http.admin import create_admin_app
from bridge.http.app import JsonErrorsRunner, create_app
from bridge.http.listener import EagerAcceptSite
from bridge.http.state import BRIDGE
from bridge.http.tls import ServerCertificate
from bridge.telemetry.metrics import MULTIPROC_DIR, prepare_multiprocess_dir

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
    """The cyclic garbage collector, tuned for a request loop, once serving (measured in
    docs/performance.md, "Second round").

    - everything built so far (modules, app, settings) lives as long as the process: frozen, out
      of the collector's sight, full collections have far less to walk and pause the loop less;
    - a request's objects are freed by reference counting as soon as it is answered, so young
      collections every 700 allocations (the default) mostly walk requests still in flight;
      every 10,000 still collects cycles, for less CPU per event.
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
