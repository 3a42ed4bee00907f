"""The admin listener: liveness, readiness and Prometheus metrics, apart from the public port."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from bridge.core.errors import NotReady
from bridge.http.app import error_response
from bridge.http.state import BRIDGE, Bridge
from bridge.telemetry.metrics import exposition_registry

EXPOSED = web.AppKey("exposed", CollectorRegistry)


def create_admin_app(bridge: Bridge) -> web.Application:
    app = web.Application()
    app[BRIDGE] = bridge
    app[EXPOSED] = exposition_registry(bridge.registry)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    if bridge.draining:
        return error_response(NotReady("The bridge is shutting down."))
    if not bridge.publisher.ready:
        return error_response(NotReady(f"Not ready: {bridge.publisher.not_ready_reason}."))
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    request.app[BRIDGE].metrics.flush()  # this pass's tallies too (bridge.telemetry.metrics)
    body = generate_latest(request.app[EXPOSED])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
