"""What both listeners share: settings, metrics and the publisher, under one typed AppKey."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.kafka import Publisher
from bridge.metrics import Metrics
from bridge.settings import Settings, Webhook


@dataclass
class Bridge:
    settings: Settings
    metrics: Metrics
    registry: CollectorRegistry
    publisher: Publisher
    webhooks_by_name: dict[str, Webhook] = field(default_factory=dict)
    inflight: int = 0
    draining: bool = False  # set on SIGTERM: readiness turns 503 before the listener closes
    drain_deadline: float | None = None  # loop.time() by which shutdown must be over


BRIDGE = web.AppKey("bridge", Bridge)
