"""Shared test helpers for every tier: the sample bodies and their kinds, the record value a sample
must give, a free port, and a publisher that records instead of producing."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from bridge.core.errors import Unavailable
from bridge.core.events import Kind
from bridge.core.records import Record
from bridge.kafka.client import Delivery

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_SECRET = "sample-secret-Qw7Rt2Yp9Lk4"
# Each sample file and the kind (topic suffix) it must land in; None = never produced. A new
# sample fails the unit tests until listed here.
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


# The same, as the kind each sample parses as (a validation handshake is Kind.VALIDATION).
SAMPLE_EVENT_KINDS: dict[str, Kind] = {n: Kind(k) if k else Kind.VALIDATION for n, k in SAMPLE_KINDS.items()}
# Every kind with a topic, in the contract's order.
KINDS = ("queued", "deferred", "delivered", "failed", "complaint", "click", "open", "unsubscribe", "unknown")


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in (".json", ".form"))


def read_sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def expected_value(name: str) -> dict[str, Any]:
    """The record value the bridge must produce for a sample: the event minus its SecretKey."""
    body, _ = sample(name)
    if name.endswith(".json"):
        event = json.loads(body)
    else:
        event = dict(parse_qsl(body.decode().strip(), keep_blank_values=True))
    return {k: v for k, v in event.items() if k.lower() != "secretkey"}


def micros(moment: datetime) -> int:
    """A time as to_record takes it: microseconds since the epoch."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
