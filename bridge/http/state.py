"""What both listeners share: settings, metrics and the publisher, under one typed AppKey."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.core.deadline import Deadlines
from bridge.core.settings import Settings, Webhook
from bridge.kafka.client import Publisher
from bridge.telemetry.metrics import Metrics
from bridge.telemetry.refusals import RefusalLog


@dataclass
class Bridge:
    settings: Settings
    metrics: Metrics
    registry: CollectorRegistry
    publisher: Publisher
    refusals: RefusalLog  # the "request refused" lines, rate-limited per error code
    webhooks_by_name: dict[str, Webhook] = field(default_factory=dict)
    inflight: int = 0
    draining: bool = False  # set on SIGTERM: readiness turns 503 before the listener closes
    drain_deadline: float | None = None  # loop.time() by which shutdown must be over
    read_deadlines: Deadlines = field(init=False)  # the body read timeout of every request

    def __post_init__(self) -> None:
        self.read_deadlines = Deadlines(self.settings.read_timeout)


BRIDGE = web.AppKey("bridge", Bridge)
