"""The Prometheus metrics of the contract, in one bundle built on an injected registry.

Label values known in advance are created up front, so every rate exists from the first scrape.
With `serve --workers N`, prometheus-client's multiprocess mode keeps the numbers right: every
worker writes its values to files in `PROMETHEUS_MULTIPROC_DIR` (prometheus-client reads that
variable at import, so the parent sets it before starting the workers), and `/metrics` on any
worker serves the sum over all of them.
Per request, the counters, the in-flight gauge and the histograms are tallied in plain numbers
(`request_started` ... `request_finished`) and written to prometheus-client once per event-loop
pass, by `flush`: each of its writes takes a lock (and in multiprocess mode an mmap write), and
eight of them per event showed in profiles (docs/performance.md). A pass handles many
requests under load, so it writes each touched value once. The flush runs at the start of the
next loop pass, before this process reads another request, and `/metrics` flushes first: a scrape
served by this process never misses an answered request. With `--workers N`, a scrape served by
another worker in that same instant can (the window is one loop pass).
"""

from __future__ import annotations

import asyncio
import glob
import os
import tempfile
from collections.abc import Iterable
from typing import Any, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from bridge import __version__
from bridge.core.errors import AuthFailure, ProduceError
from bridge.core.events import EVENT_KINDS
from bridge.telemetry.prometheus_internals import observe_all

AUTH_FAILURE_REASONS: tuple[str, ...] = get_args(AuthFailure)
PRODUCE_ERROR_REASONS: tuple[str, ...] = get_args(ProduceError)
STATUS_CODES = ("200", "400", "401", "403", "404", "405", "413", "500", "503")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Event delay: SocketLabs may retry for days, so the buckets reach well past an hour.
DELAY_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 4 * 24 * 3600)
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

# The `*_created` series say when a process started counting: noise on a dashboard, and absent in
# multiprocess mode anyway, so one worker and N workers expose the same series.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    def __init__(
        self, registry: CollectorRegistry, webhooks: Iterable[str] = (), topics: Iterable[str] = ()
    ) -> None:
        # prometheus-client appends `_total` to counter names: these are exposed as
        # bridge_http_requests_total, bridge_events_received_total, bridge_events_produced_total,
        # bridge_auth_failures_total and bridge_produce_errors_total, the contract's names.
        self.http_requests = Counter(
            "bridge_http_requests",
            "HTTP requests answered on the public listener, by status code.",
            ["code"],
            registry=registry,
        )
        self.events_received = Counter(
            "bridge_events_received",
            "Authenticated events received, by webhook and kind.",
            ["webhook", "kind"],
            registry=registry,
        )
        self.events_produced = Counter(
            "bridge_events_produced",
            "Records acknowledged by Kafka, by topic.",
            ["topic"],
            registry=registry,
        )
        self.auth_failures = Counter(
            "bridge_auth_failures",
            "Rejected posts, by reason.",
            ["reason"],
            registry=registry,
        )
        self.produce_errors = Counter(
            "bridge_produce_errors",
            "Events not acknowledged by Kafka (answered 503), by reason.",
            ["reason"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "bridge_request_duration_seconds",
            "Time from request to answer on the public listener.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.produce_latency = Histogram(
            "bridge_produce_latency_seconds",
            "Time Kafka took to acknowledge a record.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.event_delay = Histogram(
            "bridge_event_delay_seconds",
            "Receive time minus the event's DateTime.",
            buckets=DELAY_BUCKETS,
            registry=registry,
        )
        self.inflight = Gauge(
            "bridge_inflight_requests",
            "Requests being handled now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.kafka_ready = Gauge(
            "bridge_kafka_ready",
            "1 when Kafka is reachable and every event topic exists.",
            registry=registry,
            # The least ready of the live workers: 1 only when every worker can produce. "live":
            # a worker that died (marked by the parent) no longer pins it at its last value.
            multiprocess_mode="livemin",
        )
        self.build_info = Gauge(
            "bridge_build_info",
            "The bridge's version.",
            ["version"],
            registry=registry,
            multiprocess_mode="max",
        )
        self.build_info.labels(__version__).set(1)
        for code in STATUS_CODES:
            self.http_requests.labels(code)
        for reason in AUTH_FAILURE_REASONS:
            self.auth_failures.labels(reason)
        for reason in PRODUCE_ERROR_REASONS:
            self.produce_errors.labels(reason)
        for webhook in webhooks:
            for kind in EVENT_KINDS:
                self.events_received.labels(webhook, kind.value)
        for topic in topics:
            self.events_produced.labels(topic)
        self._answers: dict[int, Any] = {}
        self._received: dict[tuple[str, str], Any] = {}
        self._produced: dict[str, Any] = {}
        self._counts: dict[Any, float] = {}  # counter child or gauge -> increment not yet written
        self._observed: dict[Histogram, list[float]] = {}  # observations not yet written
        self._flush_scheduled = False

    # --- the hot path: tallies, written by flush() at the end of the loop pass -------------------

    def request_started(self) -> None:
        self._add(self.inflight, 1)

    def request_finished(self, status: int, seconds: float) -> None:
        child = self._answers.get(status)
        if child is None:
            child = self._answers[status] = self.http_requests.labels(str(status))
        self._add(self.inflight, -1)
        self._add(child, 1)
        self._observe(self.request_duration, seconds)

    def received(self, webhook: str, kind: str, delay: float | None) -> None:
        """An authenticated event; `delay`: receive time minus its DateTime, if it has one."""
        child = self._received.get((webhook, kind))
        if child is None:
            child = self._received[webhook, kind] = self.events_received.labels(webhook, kind)
        self._add(child, 1)
        if delay is not None:
            self._observe(self.event_delay, delay)

    def produced(self, topic: str, seconds: float) -> None:
        """A record Kafka acknowledged after `seconds`."""
        child = self._produced.get(topic)
        if child is None:
            child = self._produced[topic] = self.events_produced.labels(topic)
        self._add(child, 1)
        self._observe(self.produce_latency, seconds)

    def _add(self, value: Any, amount: float) -> None:
        counts = self._counts
        counts[value] = counts.get(value, 0) + amount
        if not self._flush_scheduled:
            self._schedule_flush()

    def _observe(self, histogram: Histogram, seconds: float) -> None:
        observed = self._observed.get(histogram)
        if observed is None:
            self._observed[histogram] = [seconds]
        else:
            observed.append(seconds)
        if not self._flush_scheduled:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        self._flush_scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:  # called outside a running loop: write at once
            self.flush()

    def flush(self) -> None:
        """Write every tally to prometheus-client: one write per value touched."""
        self._flush_scheduled = False
        counts, self._counts = self._counts, {}
        for value, amount in counts.items():
            if amount:
                value.inc(amount)
        observed, self._observed = self._observed, {}
        for histogram, values in observed.items():
            observe_all(histogram, values)


def exposition_registry(registry: CollectorRegistry) -> CollectorRegistry:
    """What `/metrics` serves: this process's registry, or in multiprocess mode every worker's sum."""
    path = os.environ.get(MULTIPROC_DIR)
    if not path:
        return registry
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path)  # type: ignore[no-untyped-call]
    return merged


def prepare_multiprocess_dir() -> tuple[str, bool]:
    """The workers' metrics directory, emptied of an earlier run's files; True if created here.

    An operator may choose it (`PROMETHEUS_MULTIPROC_DIR`, e.g. an emptyDir volume); else it is a
    fresh temporary directory that the parent removes when the workers have stopped.
    """
    path = os.environ.get(MULTIPROC_DIR)
    if not path:
        return tempfile.mkdtemp(prefix="bridge-metrics-"), True
    os.makedirs(path, exist_ok=True)
    # Values left by a previous run would be added to this run's: prometheus-client's rule is
    # that the directory is wiped between runs. Only its own files go.
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    return path, False


def mark_worker_dead(pid: int, path: str) -> None:
    """Drop a stopped worker's live gauges (in-flight, readiness); its counters keep counting."""
    mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
