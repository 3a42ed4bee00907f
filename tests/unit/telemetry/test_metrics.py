import asyncio

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bridge.telemetry.metrics import LATENCY_BUCKETS, Metrics
from bridge.telemetry.prometheus_internals import observe_all


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_observe_all_exposes_what_observe_does() -> None:
    # Bounds themselves, between them, zero, past the last bound: each lands in the same bucket.
    values = [0.0, *LATENCY_BUCKETS, *(b * 1.5 for b in LATENCY_BUCKETS), 0.0001, 3600.0, 0.001]
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    expected = Histogram("h", "h", buckets=LATENCY_BUCKETS, registry=one_by_one)
    for value in values:
        expected.observe(value)
    observe_all(Histogram("h", "h", buckets=LATENCY_BUCKETS, registry=at_once), values)
    assert generate_latest(at_once) == generate_latest(one_by_one)


def test_outside_a_loop_tallies_are_written_at_once() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry, webhooks=["default"], topics=["t"])
    metrics.received("default", "delivered", 2.0)
    assert sample(registry, "bridge_events_received_total", webhook="default", kind="delivered") == 1
    assert sample(registry, "bridge_event_delay_seconds_count") == 1


async def test_in_a_loop_tallies_are_written_at_the_end_of_the_pass() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry, webhooks=["default"], topics=["t"])
    for _ in range(3):
        metrics.request_started()
        metrics.received("default", "open", None)
        metrics.produced("t", 0.004)
    metrics.request_finished(200, 0.01)
    assert sample(registry, "bridge_events_produced_total", topic="t") == 0  # not yet written
    await asyncio.sleep(0)
    assert sample(registry, "bridge_events_received_total", webhook="default", kind="open") == 3
    assert sample(registry, "bridge_event_delay_seconds_count") == 0  # no DateTime, no delay
    assert sample(registry, "bridge_events_produced_total", topic="t") == 3
    assert sample(registry, "bridge_produce_latency_seconds_bucket", le="0.005") == 3
    assert sample(registry, "bridge_produce_latency_seconds_sum") == 0.004 * 3
    assert sample(registry, "bridge_http_requests_total", code="200") == 1
    assert sample(registry, "bridge_request_duration_seconds_count") == 1
    assert sample(registry, "bridge_inflight_requests") == 2  # three started, one finished


async def test_flush_writes_the_pending_tallies_now() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry, webhooks=["default"], topics=["t"])
    metrics.request_finished(401, 0.002)
    metrics.flush()  # what /metrics does before rendering
    assert sample(registry, "bridge_http_requests_total", code="401") == 1
    await asyncio.sleep(0)  # the scheduled flush then finds nothing new to write
    assert sample(registry, "bridge_http_requests_total", code="401") == 1
