"""Read SocketLabs events from the bridge's topics, once each: deduplicate on the `event-id` header.

SocketLabs retries a post it did not see answered, and an account-level and a subaccount-level
webhook may both send the same event: the same event then lands in Kafka twice, with the same
`event-id` (the SHA-256 of its canonical JSON). This consumer remembers the ids it has handled
(in memory, bounded; a real job would keep them in its state store or as a unique key in its
sink) and skips repeats. It commits offsets only after handling, so a crash repeats rather than
loses events, and the dedup makes that repeat harmless.

Run:  python examples/consume_dedup.py --bootstrap-servers 127.0.0.1:9092 [--prefix socketlabs]
      [--group analytics] [--kind delivered --kind failed] [--max-events N] [--idle-timeout S]
Prints one JSON line per new event: {"kind", "event_id", "message_id", "type", "datetime", "address"}.
Needs only `aiokafka` (pip install aiokafka).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import OrderedDict

from aiokafka import AIOKafkaConsumer

KINDS = ("queued", "deferred", "delivered", "failed", "complaint", "click", "open", "unsubscribe", "unknown")


class SeenIds:
    """The last `capacity` event ids: retries arrive within hours, so a bounded window suffices."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def first_time(self, event_id: str) -> bool:
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


async def consume(args: argparse.Namespace) -> int:
    topics = [f"{args.prefix}.{kind}" for kind in (args.kind or KINDS)]
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=args.bootstrap_servers,
        group_id=args.group,
        enable_auto_commit=False,  # commit after handling: at-least-once, and dedup absorbs repeats
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen, handled, skipped = SeenIds(), 0, 0
    try:
        while args.max_events is None or handled < args.max_events:
            batch = await consumer.getmany(timeout_ms=int(args.idle_timeout * 1000))
            if not batch:
                break  # nothing new for idle-timeout seconds
            for records in batch.values():
                for record in records:
                    headers = {name: value.decode() for name, value in record.headers}
                    if not seen.first_time(headers["event-id"]):
                        skipped += 1
                        continue
                    event = json.loads(record.value)
                    handle(headers, event)
                    handled += 1
            await consumer.commit()
    finally:
        await consumer.stop()
    print(f"{handled} events handled, {skipped} duplicates skipped", file=sys.stderr)
    return 0


def handle(headers: dict[str, str], event: dict[str, object]) -> None:
    """Your analytics goes here; this prints a summary line per event."""
    line = {
        "kind": headers["event-type"],
        "event_id": headers["event-id"],
        "message_id": event.get("MessageId"),
        "type": event.get("Type"),
        "datetime": event.get("DateTime"),  # order by this, not by arrival (docs/architecture.md, Ordering)
        "address": event.get("Address"),
    }
    print(json.dumps(line), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--prefix", default="socketlabs", help="the bridge's BRIDGE_TOPIC_PREFIX")
    parser.add_argument("--group", default="socketlabs-analytics", help="consumer group id")
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeat)")
    parser.add_argument("--max-events", type=int, help="stop after this many new events")
    parser.add_argument(
        "--idle-timeout", type=float, default=10.0, help="stop after this long without records"
    )
    try:
        return asyncio.run(consume(parser.parse_args()))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
