"""The publisher's pool of producers against a broker a round trip of 200 ms away.

aiokafka sends one produce request at a time per producer and broker: with one producer, a post
that arrives while another's request is out waits for that answer, then for a round trip of its
own. With a pool each finds an idle producer and is answered after one round trip. The delay is
large against a loaded machine's stalls, so the two cases stay far apart.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer

from bridge.core.records import Record
from bridge.core.settings import Settings, load_settings
from bridge.kafka.client import KafkaPublisher
from bridge.kafka.topics import create_topics
from tests.integration.delay import DelayedListenerKafka, delaying_proxy

ROUND_TRIP = 0.2  # seconds, added between the publisher and the broker


@pytest.fixture(scope="module")
def delayed_kafka() -> Iterator[DelayedListenerKafka]:
    broker = DelayedListenerKafka()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def record(topic: str, n: int) -> Record:
    return Record(
        topic=topic,
        key=b"message-%d" % n,
        value=b'{"n": %d}' % n,
        headers=[("event-id", b"%d" % n)],
        timestamp_ms=int(time.time() * 1000),
        event_id=str(n),
    )


def settings(bootstrap: str, prefix: str, producers: int = 1) -> Settings:
    return load_settings(
        environ={
            "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "BRIDGE_SECRET_KEY": "unused",
            "BRIDGE_KAFKA_PRODUCERS": str(producers),
            "BRIDGE_TOPIC_PREFIX": prefix,
        }
    )


async def staggered_posts(kafka: DelayedListenerKafka, topic: str, producers: int, first: int) -> list[float]:
    """One post, then three more a fifth of a round trip later: the seconds each of the three waited."""
    prefix = topic.rpartition(".")[0]
    async with KafkaPublisher(settings(kafka.delayed_bootstrap, prefix, producers)) as publisher:
        try:
            async with asyncio.timeout(60):
                while not publisher.ready:
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pytest.fail(f"the publisher did not get ready: {publisher.not_ready_reason}")
        # Every producer sends once before the measurement (its connection to the partition leader).
        await asyncio.gather(*(publisher.publish(record(topic, first + n)) for n in range(producers)))

        async def timed(n: int) -> float:
            started = time.perf_counter()
            await publisher.publish(record(topic, n))
            return time.perf_counter() - started

        earlier = asyncio.create_task(timed(first + producers))
        await asyncio.sleep(ROUND_TRIP / 5)
        waits = await asyncio.gather(*(timed(first + producers + 1 + n) for n in range(3)))
        await earlier
    return waits


async def test_posts_that_arrive_together_each_take_one_round_trip(delayed_kafka) -> None:
    prefix = f"pool{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}.delivered"
    await create_topics(settings(delayed_kafka.bootstrap_servers, prefix), partitions=3)

    async with delaying_proxy(delayed_kafka, ROUND_TRIP / 2):
        pooled = await staggered_posts(delayed_kafka, topic, producers=4, first=0)
        single = await staggered_posts(delayed_kafka, topic, producers=1, first=100)

    described = (
        f"pool of 4: {[round(w, 3) for w in pooled]} s, one producer: {[round(w, 3) for w in single]} s"
    )
    print(described)
    # One round trip each with the pool; with one producer the rest of the first's, then their own.
    assert max(pooled) < 1.5 * ROUND_TRIP, described
    assert min(single) > 1.5 * ROUND_TRIP, described

    # Every acknowledged post is in Kafka exactly once: 4 + 4 with the pool, 1 + 4 without.
    expected = sorted(b"message-%d" % n for n in [*range(8), *range(100, 105)])
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=delayed_kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        keys: list[bytes] = []
        async with asyncio.timeout(30):
            while len(keys) < len(expected):
                for batch in (await consumer.getmany(timeout_ms=1000)).values():
                    keys.extend(message.key for message in batch)
        keys.extend(
            message.key for batch in (await consumer.getmany(timeout_ms=500)).values() for message in batch
        )
    finally:
        await consumer.stop()
    assert sorted(keys) == expected
