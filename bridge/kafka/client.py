"""The Kafka client side: a publisher that awaits the broker's acknowledgement, readiness, and a
consumer for the tools (topic creation is `bridge/kafka/topics.py`; aiokafka's internals are
reached only through `bridge/kafka/aiokafka_internals.py`).

The producers (a small pool, `kafka_producers`: aiokafka keeps one produce request in flight per
producer and broker, see `bridge/kafka/routing.py`) are created once per process and started in
the background, so the bridge comes up (not ready) while Kafka is still unreachable and connects
as soon as it can. Every Kafka failure becomes `Unavailable` (503 with Retry-After): SocketLabs
then retries, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    KafkaError,
    SaslAuthenticationFailed,
    UnknownTopicOrPartitionError,
)
from aiokafka.helpers import create_ssl_context

from bridge.core.deadline import Deadlines
from bridge.core.errors import ProduceError, Unavailable
from bridge.core.records import Record
from bridge.core.settings import Settings
from bridge.kafka.aiokafka_internals import connect_once, partition_counts, refresh_metadata
from bridge.kafka.partitioner import partition
from bridge.kafka.routing import Router, watch_load
from bridge.telemetry.metrics import Metrics

log = logging.getLogger(__name__)
READINESS_INTERVAL = 2.0  # seconds between readiness probes of the broker


@dataclass(frozen=True, slots=True)
class Delivery:
    topic: str
    partition: int
    offset: int


class Publisher(Protocol):
    """What the request handler needs from Kafka; tests substitute a recording one."""

    ready: bool
    not_ready_reason: str

    async def publish(self, record: Record) -> Delivery: ...


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options shared by the producer, the admin client and the consumers of tools."""
    options: dict[str, Any] = {
        "bootstrap_servers": list(settings.kafka_bootstrap_servers),
        "security_protocol": settings.kafka_security_protocol,
        "client_id": "socketlabs-kafka-bridge",
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        password = settings.kafka_sasl_password
        options["sasl_plain_password"] = password.reveal() if password else None
    return options


class KafkaPublisher:
    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics
        self._deadlines = Deadlines(settings.produce_timeout)  # .seconds: the produce timeout
        self._producers: list[AIOKafkaProducer] = []  # empty until every one has started
        self._router = Router(settings.kafka_producers)
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = False
        self.not_ready_reason = "not connected to Kafka yet"
        # Seconds the final flush may take; serve() lowers it to what is left of the drain time.
        self.flush_timeout = settings.drain_timeout
        # Topics the last readiness probe did not find. aiokafka retries a send to a missing topic
        # until the produce timeout; knowing it is gone answers at once, with the right reason.
        self._missing_topics: frozenset[str] = frozenset()
        # The event topics' partition counts at the last readiness probe (see _check_ready).
        self._partitions: dict[str, int] = {}

    async def __aenter__(self) -> KafkaPublisher:
        self._tasks.append(asyncio.create_task(self._connect_and_watch(), name="kafka-readiness"))
        if self._settings.kafka_producers > 1:
            self._tasks.append(asyncio.create_task(watch_load(self._router), name="kafka-pool-load"))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.ready = False
        if self._metrics is not None:
            self._metrics.kafka_ready.set(0)
        self.not_ready_reason = "shutting down"
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._producers:
            await self._stop_producers()

    async def _stop_producers(self) -> None:
        """Flush and stop, but never past `flush_timeout`.

        What is still unsent here belongs to requests that were answered 503 or not at all (a 200
        waits for its acknowledgement), so SocketLabs retries those events: a broker that does
        not answer must not hold the process past its drain time.
        """
        try:
            async with asyncio.timeout(max(self.flush_timeout, 0.5)):
                await asyncio.gather(*(producer.stop() for producer in self._producers))
        except TimeoutError:
            log.warning(
                "Kafka did not take the last records before shutdown; none of them was answered 200",
                extra={"flush_timeout": self.flush_timeout},
            )

    async def publish(self, record: Record) -> Delivery:
        producers = self._producers
        if not producers:
            raise Unavailable("Kafka is not reachable yet; try again later.", reason="not_connected")
        if record.topic in self._missing_topics:
            raise Unavailable(f"Topic {record.topic} does not exist.", reason="topic_missing")
        router = self._router
        try:
            with self._deadlines.limit():
                slot = router.pick(record.key)
                try:
                    future = await producers[slot].send(
                        record.topic,
                        value=record.value,
                        key=record.key,
                        headers=record.headers,
                        timestamp_ms=record.timestamp_ms,
                    )
                except BaseException:
                    router.release(slot)
                    raise
                router.hold(slot, future)
                # shield: a timeout must not cancel the producer's own delivery future; it also
                # batches better than a direct await (docs/performance.md, "Second round").
                metadata = await asyncio.shield(future)
        except TimeoutError:
            raise Unavailable(
                f"Kafka did not acknowledge the event within {self._deadlines.seconds:g} seconds.",
                reason="timeout",
            ) from None
        except UnknownTopicOrPartitionError:
            raise Unavailable(f"Topic {record.topic} does not exist.", reason="topic_missing") from None
        except KafkaError as exc:
            reason: ProduceError = "unavailable" if exc.retriable else "rejected"
            raise Unavailable(
                f"Kafka did not take the event ({type(exc).__name__}).", reason=reason
            ) from None
        return Delivery(metadata.topic, metadata.partition, metadata.offset)

    async def _connect_and_watch(self) -> None:
        backoff = 0.5
        while not self._producers:
            producers: list[AIOKafkaProducer] = []
            try:
                # One after another: a failed start leaves no other start running to stop.
                for _ in range(self._settings.kafka_producers):
                    producers.append(self._new_producer())
                    await producers[-1].start()
                self._producers = producers
            except asyncio.CancelledError:  # shutdown while connecting: close what start() opened
                await asyncio.gather(*(producer.stop() for producer in producers))
                raise
            except KafkaError as exc:
                await asyncio.gather(*(producer.stop() for producer in producers))
                cause = await connection_problem(self._settings) or type(exc).__name__
                self.not_ready_reason = f"cannot connect to Kafka ({cause})"
                log.warning("kafka connection failed", extra={"reason": self.not_ready_reason})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        while True:
            await self._check_ready()
            await asyncio.sleep(READINESS_INTERVAL)

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **client_options(self._settings),
            acks="all",
            enable_idempotence=True,
            linger_ms=self._settings.kafka_linger_ms,
            # aiokafka's 16 KiB default gives a 16 KB event a produce round trip of its own
            # (docs/performance.md, "Second round").
            max_batch_size=self._settings.kafka_max_batch_bytes,
            compression_type=(self._settings.kafka_compression or "").lower() or None,
            partitioner=partition,  # the Java client's murmur2, computed twice as fast
            request_timeout_ms=int(max(self._deadlines.seconds * 1000, 5000)),
        )

    async def _check_ready(self) -> None:
        try:
            async with asyncio.timeout(5):
                # Every producer talks to the same cluster: one metadata request answers for all.
                counts = await partition_counts(self._producers[0])
                topics = set(self._settings.topics.values())
                partitions = {topic: counts[topic] for topic in topics & counts.keys()}
                if self._partitions and partitions != self._partitions:
                    # Partitions were added: every producer learns it now, together, so that a
                    # MessageId's partition does not depend on which producer of the pool sends
                    # it (each would otherwise refresh on its own 5-minute schedule).
                    await asyncio.gather(*(refresh_metadata(p) for p in self._producers))
                    log.info("topic partitions changed", extra={"partitions": partitions})
                self._partitions = partitions
            missing = sorted(topics - counts.keys())
            self._missing_topics = frozenset(missing)
            reason = f"topics missing: {', '.join(missing)}" if missing else ""
        except (KafkaError, TimeoutError) as exc:
            reason = f"Kafka unreachable ({type(exc).__name__})"
        if reason != self.not_ready_reason or self.ready != (not reason):
            if reason:
                log.warning("not ready", extra={"reason": reason})
            else:
                log.info("ready: Kafka reachable and every event topic exists")
        self.ready, self.not_ready_reason = not reason, reason
        if self._metrics is not None:
            self._metrics.kafka_ready.set(1 if self.ready else 0)


async def connection_problem(settings: Settings) -> str | None:
    """Why the bootstrap servers refuse us, in words: aiokafka's client only logs the cause and
    raises a bare KafkaConnectionError, so one direct connection is tried to learn it."""
    options = client_options(settings)
    problems = []
    for server in settings.kafka_bootstrap_servers:
        host, _, port = server.rpartition(":")
        try:
            async with asyncio.timeout(5):
                await connect_once(
                    host,
                    int(port),
                    client_id=options["client_id"],
                    ssl_context=options.get("ssl_context"),
                    security_protocol=options["security_protocol"],
                    sasl_mechanism=options.get("sasl_mechanism"),
                    sasl_plain_username=options.get("sasl_plain_username"),
                    sasl_plain_password=options.get("sasl_plain_password"),
                )
            return None
        except SaslAuthenticationFailed as exc:
            # The broker's own sentence, e.g. "... invalid credentials with SASL mechanism ...".
            return f"authentication failed for user {settings.kafka_sasl_username!r}: {exc.args[0] if exc.args else exc}"
        except ssl.SSLCertVerificationError as exc:
            return f"TLS handshake failed: the broker's certificate is not trusted ({exc.verify_message})"
        except ssl.SSLError as exc:
            return f"TLS handshake failed: {exc.reason or exc}"
        except (KafkaError, OSError, TimeoutError) as exc:
            problems.append(f"{server}: {type(exc).__name__}")
    return f"unreachable: {', '.join(problems)}" if problems else None


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    timestamp_ms: int


CONSUMER_START_TIMEOUT = 20.0  # seconds to connect and fix the start positions


@contextlib.asynccontextmanager
async def consume(
    settings: Settings, topics: Sequence[str], *, from_beginning: bool = False
) -> AsyncIterator[AsyncGenerator[ConsumedRecord, None]]:
    """`async with consume(settings, topics) as records: async for record in records: ...`

    Reads every partition of the topics that exist, without a consumer group (nothing committed,
    nothing left behind on the broker). Entering returns only once each partition's start
    position is fixed, so a caller may trigger an event right after and is sure to see it.
    Raises `Unavailable` when Kafka cannot be reached or none of the topics exists.
    """
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    servers = ",".join(settings.kafka_bootstrap_servers)
    try:
        try:
            async with asyncio.timeout(CONSUMER_START_TIMEOUT):
                await consumer.start()
                if not set(topics) & await consumer.topics():
                    raise Unavailable(
                        f"None of the topics {', '.join(topics)} exists on Kafka at {servers}.",
                        reason="topic_missing",
                    )
                # Without a group, a subscription is assigned every partition of the topics that
                # exist, as soon as the consumer has their metadata.
                consumer.subscribe(topics=list(topics))
                while not consumer.assignment():
                    await asyncio.sleep(0.05)
                await asyncio.gather(*(consumer.position(tp) for tp in consumer.assignment()))
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(
                f"Cannot read from Kafka at {servers} ({type(exc).__name__}): check "
                "BRIDGE_KAFKA_BOOTSTRAP_SERVERS and the Kafka security settings.",
                reason="unavailable",
            ) from None
        yield _records(consumer)
    finally:
        await consumer.stop()


async def _records(consumer: AIOKafkaConsumer) -> AsyncGenerator[ConsumedRecord, None]:
    async for message in consumer:
        yield ConsumedRecord(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            headers=dict(message.headers or ()),
            timestamp_ms=message.timestamp,
        )
