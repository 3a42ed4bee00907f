"""`socketlabs-bridge topics create`: every event topic that does not exist yet; safe to rerun."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bridge.core.errors import BridgeError
from bridge.core.settings import Settings
from bridge.kafka.topics import CREATED, REFUSED, TopicOutcome, create_topics, refusal
from bridge.tools import quiet_kafka_logs


def run_topics_create(
    settings: Settings,
    partitions: int,
    replication_factor: int | None = None,
    retention_ms: int | None = None,
    min_insync_replicas: int | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Exit 0 when every topic exists afterwards, 1 when Kafka refused one (or cannot be reached)."""
    # Looked up at call time, not import time, so a redirected sys.stdout/stderr is honoured.
    out, err = out or sys.stdout, err or sys.stderr
    quiet_kafka_logs()
    try:
        outcomes = asyncio.run(
            create_topics(settings, partitions, replication_factor, retention_ms, min_insync_replicas)
        )
    except BridgeError as exc:
        print(f"socketlabs-bridge: {exc.message}", file=err)
        return 1
    for outcome in outcomes:
        if outcome.outcome == REFUSED:
            print(f"socketlabs-bridge: {refusal(outcome)}", file=err)
        elif outcome.outcome == CREATED:
            out.write(
                f"{outcome.topic}: created ({plural(outcome.partitions, 'partition')}, "
                f"replication factor {outcome.replication_factor}, "
                f"min.insync.replicas {outcome.min_insync_replicas}, "
                f"retention {describe_retention(retention_ms)})\n"
            )
        else:
            out.write(f"{outcome.topic}: {describe_existing(outcome, partitions, replication_factor or 0)}\n")
    return 1 if any(o.outcome == REFUSED for o in outcomes) else 0


def describe_existing(outcome: TopicOutcome, partitions: int, replication_factor: int) -> str:
    """An existing topic keeps its own settings: say so, and say when they fall short of the ask."""
    short = []
    if 0 < outcome.partitions < partitions:
        # More partitions would send a MessageId to another partition (docs/consuming.md).
        short.append(f"{plural(outcome.partitions, 'partition')}, fewer than the {partitions} asked")
    if 0 < outcome.replication_factor < replication_factor:
        short.append(
            f"replication factor {outcome.replication_factor}, less than the {replication_factor} asked"
        )
    if short:
        return f"exists with {' and '.join(short)} (left unchanged)"
    return "exists (left unchanged)"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def describe_retention(retention_ms: int | None) -> str:
    if retention_ms is None:
        return "the broker's default"
    if retention_ms < 0:
        return "forever"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if retention_ms % size == 0:
            return f"{retention_ms // size}{unit}"
    return f"{retention_ms}ms"
