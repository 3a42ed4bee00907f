"""The brokers from conftest (and LocalKafka's restart/kill) really work with aiokafka."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from bridge.tools.localkafka import LocalKafka

pytestmark = pytest.mark.integration

HEADERS = [("event-type", b"Delivered"), ("x-trace", b"\x00\x01")]


async def create_topic(bootstrap: str) -> str:
    topic = f"test-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        assert topic in await admin.list_topics()
    finally:
        await admin.close()
    return topic


async def produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=HEADERS)
    finally:
        await producer.stop()


async def consume_one(bootstrap: str, topic: str) -> ConsumerRecord[bytes, bytes]:
    # A real consumer group, so the group coordinator / __consumer_offsets path is exercised too.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        return await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()


def assert_record(record: ConsumerRecord[bytes, bytes], key: bytes, value: bytes) -> None:
    assert record.key == key
    assert record.value == value
    assert list(record.headers) == HEADERS


@pytest.mark.asyncio
async def test_roundtrip_key_value_headers(kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap)
    await produce(kafka_bootstrap, topic, b"msg-1", b'{"Type":"Delivered"}')
    assert_record(await consume_one(kafka_bootstrap, topic), b"msg-1", b'{"Type":"Delivered"}')


@pytest.mark.asyncio
async def test_restart_keeps_topics_and_records(local_kafka: LocalKafka) -> None:
    bootstrap = local_kafka.bootstrap_servers
    topic = await create_topic(bootstrap)
    await produce(bootstrap, topic, b"k", b"survives")
    await asyncio.to_thread(local_kafka.restart)
    assert local_kafka.bootstrap_servers == bootstrap  # same port after restart
    assert_record(await consume_one(bootstrap, topic), b"k", b"survives")


@pytest.mark.asyncio
async def test_send_fails_while_broker_is_killed(local_kafka: LocalKafka) -> None:
    topic = await create_topic(local_kafka.bootstrap_servers)
    producer = AIOKafkaProducer(
        bootstrap_servers=local_kafka.bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before")  # warm: metadata + connection exist
        local_kafka.kill()
        assert not local_kafka.is_running
        with pytest.raises((asyncio.TimeoutError, KafkaError)):
            await asyncio.wait_for(producer.send_and_wait(topic, b"during"), 3)
    finally:
        # Bring the broker back before stop(): stop() flushes the pending batch and would
        # otherwise wait for the request timeout.
        await asyncio.to_thread(local_kafka.restart)
        await producer.stop()
