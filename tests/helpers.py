"""Shared test helpers: the sample bodies, and a publisher that records instead of producing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bridge.core.errors import Unavailable
from bridge.core.records import Record
from bridge.kafka.client import Delivery

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_SECRET = "sample-secret-Qw7Rt2Yp9Lk4"
# Each sample file and the kind (topic suffix) it must land in; None = never produced.
SAMPLE_KINDS = {
    "queued.json": "queued",
    "deferred.json": "deferred",
    "delivered.json": "delivered",
    "failed.json": "failed",
    "failed-numeric-enum.json": "failed",
    "complaint.json": "complaint",
    "tracking-click.json": "click",
    "tracking-open.json": "open",
    "tracking-unsubscribe.json": "unsubscribe",
    "legacy-delivered.form": "delivered",
    "legacy-failed.form": "failed",
    "legacy-tracking-click.form": "click",
    "validation.json": None,
    "legacy-validation.form": None,
}


def sample(name: str) -> tuple[bytes, str]:
    """A sample's body and the Content-Type SocketLabs would send with it."""
    content_type = "application/json" if name.endswith(".json") else "application/x-www-form-urlencoded"
    return (SAMPLES / name).read_bytes(), content_type


class RecordingPublisher:
    """Stands in for Kafka in the app tier only; integration tests use a real broker."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.ready = True
        self.not_ready_reason = ""
        self.fail_with: Unavailable | None = None
        self.delay = 0.0

    async def publish(self, record: Record) -> Delivery:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        self.records.append(record)
        return Delivery(record.topic, 0, len(self.records) - 1)
