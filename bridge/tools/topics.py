"""`socketlabs-bridge topics create`: every event topic that does not exist yet; safe to rerun."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bridge.errors import BridgeError
from bridge.kafka import create_topics
from bridge.settings import Settings
from bridge.tools import quiet_kafka_logs


def run_topics_create(
    settings: Settings,
    partitions: int,
    replication_factor: int,
    retention_ms: int | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    # Looked up at call time, not import time, so a redirected sys.stdout/stderr is honoured.
    out, err = out or sys.stdout, err or sys.stderr
    quiet_kafka_logs()
    try:
        created = asyncio.run(create_topics(settings, partitions, replication_factor, retention_ms))
    except BridgeError as exc:
        print(f"socketlabs-bridge: {exc.message}", file=err)
        return 1
    made = (
        f"created ({partitions} partitions, replication factor {replication_factor}, "
        f"retention {describe_retention(retention_ms)})"
    )
    for topic in settings.topics.values():
        # An existing topic keeps its own partitions and retention: say so rather than imply a change.
        out.write(f"{topic}: {made if topic in created else 'exists (left unchanged)'}\n")
    return 0


def describe_retention(retention_ms: int | None) -> str:
    if retention_ms is None:
        return "the broker's default"
    if retention_ms < 0:
        return "forever"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if retention_ms % size == 0:
            return f"{retention_ms // size}{unit}"
    return f"{retention_ms}ms"
