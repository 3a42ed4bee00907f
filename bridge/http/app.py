"""The application factory: the public webhook app, its answer wrapper, and the producer's lifetime.

`create_app` is what `serve` and the tests both call. The admin listener's app (health,
readiness, metrics) is built from the same shared state by `bridge.http.admin.create_admin_app`.
`JsonErrorsRunner` serves an app so that requests refused before they reach it (not HTTP, a
header line too long) are answered in JSON too. Which status carries which error code is decided
in `bridge/core/errors.py` only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from prometheus_client import CollectorRegistry

from bridge.core.errors import BridgeError, Unauthorized, Unavailable, for_status, malformed
from bridge.core.settings import Settings
from bridge.http.aiohttp_internals import RefusalAnsweringRunner
from bridge.http.handlers import client_of, receive_webhook
from bridge.http.state import BRIDGE, Bridge
from bridge.kafka.client import KafkaPublisher, Publisher
from bridge.telemetry.metrics import Metrics
from bridge.telemetry.refusals import RefusalLog

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    settings: Settings,
    *,
    publisher: Publisher | None = None,
    registry: CollectorRegistry | None = None,
) -> web.Application:
    registry = registry if registry is not None else CollectorRegistry()
    metrics = Metrics(registry, webhooks=[w.name for w in settings.webhooks], topics=settings.topics.values())
    owned = publisher is None
    bridge = Bridge(
        settings=settings,
        metrics=metrics,
        registry=registry,
        publisher=publisher if publisher is not None else KafkaPublisher(settings, metrics),
        refusals=RefusalLog(log),
        webhooks_by_name={w.name: w for w in settings.webhooks},
    )
    # client_max_size makes aiohttp stop reading a body past the limit (413).
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[BRIDGE] = bridge
    app.cleanup_ctx.append(_summarize_refusals)
    if owned:
        app.cleanup_ctx.append(_run_publisher)
    # Every route, the refusals included, is wrapped by `answered` rather than an aiohttp
    # middleware: a middleware costs two more coroutine layers per request (aiohttp adds its own
    # `_fix_request_current_app`), and a refusal routed here is as cheap as any other answer.
    for path in ("/webhook", "/webhook/{name}"):
        resource = app.router.add_resource(path)
        resource.add_route("POST", answered(receive_webhook))
        resource.add_route("*", answered(_method_not_allowed))
    app.router.add_route("*", "/{path:.*}", answered(_not_found))
    return app


async def _method_not_allowed(request: web.Request) -> web.StreamResponse:
    raise for_status(405, method=request.method)


async def _not_found(request: web.Request) -> web.StreamResponse:
    raise for_status(404)


async def _summarize_refusals(app: web.Application) -> AsyncIterator[None]:
    """A flood's summary line is written when its interval is over, not at the next refusal."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(1.0)  # so a summary is at most 1 s late
            app[BRIDGE].refusals.tick()

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    app[BRIDGE].refusals.flush()


async def _run_publisher(app: web.Application) -> AsyncIterator[None]:
    bridge = app[BRIDGE]
    publisher = bridge.publisher
    assert isinstance(publisher, KafkaPublisher)
    async with publisher:
        yield
        if bridge.drain_deadline is not None:  # the flush gets what the drain left over
            publisher.flush_timeout = bridge.drain_deadline - asyncio.get_running_loop().time()


def answered(handler: Handler) -> Handler:
    """`handler`, counted, timed and bounded, with every refusal rendered as a JSON error."""

    async def answer(request: web.Request) -> web.StreamResponse:
        bridge = request.app[BRIDGE]
        metrics = bridge.metrics
        started = time.perf_counter()
        response: web.StreamResponse
        if bridge.inflight >= bridge.settings.max_inflight:
            response = _refuse(
                request,
                bridge,
                Unavailable("The bridge is overloaded; try again later.", reason="overload", retry_after=1),
            )
        else:
            bridge.inflight += 1
            metrics.request_started()
            try:
                response = await handler(request)
            except BridgeError as exc:
                response = _refuse(request, bridge, exc)
            except web.HTTPException as exc:  # aiohttp's own: a body past client_max_size
                response = _refuse(
                    request, bridge, for_status(exc.status, method=request.method, reason=exc.reason)
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("unexpected error while handling a webhook post")
                response = error_response(BridgeError("The bridge failed to handle the event."))
            finally:
                bridge.inflight -= 1
        if bridge.draining:
            # Keep-alive connections still come here until the listener closes; "Connection: close"
            # sends their next request through the Service again, to a pod that stays.
            response.force_close()
        metrics.request_finished(response.status, time.perf_counter() - started)
        return response

    return answer


def _refuse(request: web.Request, bridge: Bridge, exc: BridgeError) -> web.Response:
    if isinstance(exc, Unauthorized):
        bridge.metrics.auth_failures.labels(exc.reason).inc()
    elif exc.status == 403:
        bridge.metrics.auth_failures.labels("source_ip").inc()
    elif isinstance(exc, Unavailable):
        bridge.metrics.produce_errors.labels(exc.reason).inc()
    source = request.remote
    if bridge.settings.trusted_proxies:  # the peer is a proxy: log the poster's address instead
        address = client_of(bridge, request)
        source = str(address) if address is not None else None
    bridge.refusals.refused(exc.code, source, status=exc.status, reason=exc.message, path=request.path)
    return error_response(exc)


def error_response(error: BridgeError) -> web.Response:
    response = web.Response(
        body=orjson.dumps({"error": error.code, "message": error.message}),
        status=error.status,
        content_type="application/json",
    )
    response.headers.update(error.headers())
    return response


class JsonErrorsRunner(RefusalAnsweringRunner):
    """An AppRunner whose connections answer what aiohttp cannot parse as the contract's JSON error.

    aiohttp answers a malformed request (bad request line, a header line past `max_field_size`)
    with a plain-text 400 and logs it at ERROR with a traceback, before any route or handler
    runs. Here it is a JSON 400 logged as a refusal, like every other bad request, and counted
    in `bridge_http_requests_total` when `metrics` is given (the public listener).
    """

    def __init__(self, app: web.Application, *, metrics: Metrics | None = None, **kwargs: Any) -> None:
        super().__init__(app, answer=self._refuse_malformed, **kwargs)
        self._metrics = metrics
        self._refusals = RefusalLog(log)  # for an app without the shared state

    def _refuse_malformed(
        self, request: web.BaseRequest, status: int, exc: BaseException | None
    ) -> web.StreamResponse:
        if status == 500:
            log.error("unexpected error while handling a request", exc_info=exc)
            error = malformed(status, "")
        else:
            if isinstance(exc, LineTooLong):
                error = malformed(
                    status, "The request line or a header line is too long (BRIDGE_MAX_HEADER_BYTES)."
                )
            else:
                error = malformed(status, "The request is not valid HTTP/1.1.")
            # No path: the request line may be what could not be read.
            bridge = self.app.get(BRIDGE)
            refusals = bridge.refusals if bridge is not None else self._refusals
            refusals.refused(error.code, request.remote, status=status, reason=error.message)
        if self._metrics is not None:
            self._metrics.http_requests.labels(str(status)).inc()
        response = error_response(error)
        response.force_close()  # the parser has lost its place in the stream
        return response
