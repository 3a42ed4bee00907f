"""Per mailing and per hour of `DateTime`, in plain Python: the figures flink_mailing_stats.py computes.

For teams without Flink. Reads every event topic from the beginning up to the offsets it finds at
start, counts each `event-id` once, and prints one JSON line per `MailingId` and hour, sorted, with
the same fields and the same rules as the Flink job (see docs/consuming.md): queued, deferred,
delivered, failed by `FailureType`, complaints, opens, clicks, unsubscribes, unknown events, and the
delivery and bounce rates. Unlike the Flink job it has no watermark: it counts late events too.

Run:  python mailing_stats.py --bootstrap-servers kafka:9092 [--prefix socketlabs]
Needs only `aiokafka` (pip install aiokafka).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

KINDS = ("queued", "deferred", "delivered", "failed", "complaint", "click", "open", "unsubscribe", "unknown")
# The count column of each kind, as the Flink job names them.
COLUMN = {"queued": "queued", "deferred": "deferred", "delivered": "delivered", "complaint": "complaints",
          "open": "opens", "click": "clicks", "unsubscribe": "unsubscribes", "unknown": "unknown"}  # fmt: skip
FAILURE_TYPES = {"0": "temporary", "temporary": "temporary", "1": "permanent", "permanent": "permanent",
                 "2": "suppressed", "suppressed": "suppressed"}  # fmt: skip
COUNTS = ("queued", "deferred", "delivered", "failed_temporary", "failed_permanent", "failed_suppressed",
          "failed_other", "complaints", "opens", "clicks", "unsubscribes", "unknown")  # fmt: skip

ISO_8601 = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z")
RFC_1123 = "%a, %d %b %Y %H:%M:%S GMT"


def event_time(value: object, received_ms: int) -> datetime:
    """`DateTime` as UTC: ISO 8601 with any fraction and a Z, or RFC 1123 (legacy form posts); else
    the time the bridge received the post, as the Flink job does."""
    if isinstance(value, str):
        if match := ISO_8601.fullmatch(value):
            return datetime.fromisoformat(f"{match[1]}T{match[2]}").replace(tzinfo=UTC)
        try:
            parsed = datetime.strptime(value, RFC_1123).replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            if parsed.strftime("%a") == value[:3]:  # a weekday that contradicts the date: not parsed
                return parsed
    return datetime.fromtimestamp(received_ms // 1000, UTC)


def text(value: object) -> str:
    """A field as Flink's JSON format reads it into a STRING column: numbers as their text, null as ''."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class MailingHourly:
    """The counts per (MailingId, hour), each event-id once."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.counts: dict[tuple[str, datetime], Counter[str]] = defaultdict(Counter)
        self.duplicates = 0

    def add(self, kind: str, event_id: str, event: dict[str, Any], received_ms: int) -> None:
        if event_id in self.seen:
            self.duplicates += 1  # a SocketLabs retry or a second webhook: counted once
            return
        self.seen.add(event_id)
        hour = event_time(event.get("DateTime"), received_ms).replace(minute=0, second=0, microsecond=0)
        if kind == "failed":
            failure = FAILURE_TYPES.get(text(event.get("FailureType")).strip().lower(), "other")
            column = f"failed_{failure}"
        else:
            column = COLUMN[kind]
        self.counts[(text(event.get("MailingId")), hour)][column] += 1

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for (mailing_id, hour), counts in sorted(self.counts.items()):
            row: dict[str, Any] = {"mailing_id": mailing_id, "hour": hour.strftime("%Y-%m-%dT%H:%M:%SZ")}
            row |= {name: counts[name] for name in COUNTS}
            failed = sum(counts[name] for name in COUNTS if name.startswith("failed_"))
            outcomes = counts["delivered"] + failed  # the hour's outcomes; no rate without any
            row["delivery_rate"] = counts["delivered"] / outcomes if outcomes else None
            row["bounce_rate"] = (
                (counts["failed_temporary"] + counts["failed_permanent"]) / outcomes if outcomes else None
            )
            rows.append(row)
        return rows


class NoTopics(Exception):
    """None of the event topics exists: a wrong prefix or broker, said in one sentence."""


async def event_partitions(bootstrap_servers: str, prefix: str) -> list[TopicPartition]:
    """Every partition of the event topics that exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics = set(await admin.list_topics()) & {f"{prefix}.{kind}" for kind in KINDS}
        described = await admin.describe_topics(sorted(topics)) if topics else []
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]


async def consume(bootstrap_servers: str, prefix: str) -> MailingHourly:
    partitions = await event_partitions(bootstrap_servers, prefix)
    if not partitions:
        raise NoTopics(f"no topic {prefix}.<kind> at {bootstrap_servers}")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    stats = MailingHourly()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)  # bounded: what is there now
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    headers = {name: value.decode() for name, value in record.headers}
                    event = json.loads(record.value)
                    stats.add(headers["event-type"], headers["event-id"], event, record.timestamp)
    finally:
        await consumer.stop()
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--prefix", default="socketlabs", help="the bridge's BRIDGE_TOPIC_PREFIX")
    args = parser.parse_args()
    try:
        stats = asyncio.run(consume(args.bootstrap_servers, args.prefix))
    except NoTopics as exc:
        print(f"error: {exc}.", file=sys.stderr)
        return 1
    for row in stats.rows():
        print(json.dumps(row))
    print(f"{len(stats.seen)} events counted, {stats.duplicates} duplicates skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
