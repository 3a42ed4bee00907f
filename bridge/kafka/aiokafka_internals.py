"""The one module that reaches into aiokafka's undocumented internals (checked on aiokafka 0.14.0).

aiokafka's public API has no call for "which topics exist" on a producer, nor for "refresh your
metadata now", and its clients only log why a bootstrap server refused them (raising a bare
KafkaConnectionError). Readiness, the pool's shared view of partitions and the "cannot connect"
sentence need them, so this module uses the producer's `client` (an `AIOKafkaClient`, not
documented) and `aiokafka.conn.create_conn`.
"""

from __future__ import annotations

import ssl

import aiokafka
from aiokafka import AIOKafkaProducer
from aiokafka.conn import create_conn

from bridge.core.versions import require

require("aiokafka", aiokafka.__version__, ("0.14.0",), __name__)


async def partition_counts(producer: AIOKafkaProducer) -> dict[str, int]:
    """Every topic of the cluster and its number of partitions, from one metadata request on the
    producer's connections (the producer's own view is not changed)."""
    cluster = await producer.client.fetch_all_metadata()
    return {topic: len(cluster.partitions_for_topic(topic) or ()) for topic in cluster.topics()}


async def refresh_metadata(producer: AIOKafkaProducer) -> None:
    """Have the producer fetch the cluster's metadata now, not at its next periodic refresh."""
    await producer.client.force_metadata_update()


async def connect_once(
    host: str,
    port: int,
    *,
    client_id: str,
    ssl_context: ssl.SSLContext | None,
    security_protocol: str,
    sasl_mechanism: str | None,
    sasl_plain_username: str | None,
    sasl_plain_password: str | None,
) -> None:
    """Open and close one connection, so that a refusal raises its real cause (SASL, TLS, socket)."""
    connection = await create_conn(
        host,
        port,
        client_id=client_id,
        ssl_context=ssl_context,
        security_protocol=security_protocol,
        sasl_mechanism=sasl_mechanism,
        sasl_plain_username=sasl_plain_username,
        sasl_plain_password=sasl_plain_password,
    )
    connection.close()
