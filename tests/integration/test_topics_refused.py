"""`topics create` against a real broker when Kafka refuses a topic inside a successful answer.

Kafka's CreateTopics answer succeeds as a whole and carries an error per topic; each case here
was reported as "created" (exit 0) before the bridge read those errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.helpers import KINDS
from tests.integration.bridge_process import RunningBridge

pytestmark = pytest.mark.integration


@pytest.fixture
def bridge(kafka_bootstrap: str) -> Iterator[RunningBridge]:
    """A bridge environment with its own topic prefix; nothing is started."""
    yield RunningBridge(kafka_bootstrap)


async def describe(bootstrap: str, prefix: str) -> dict[str, int]:
    """The partition count of every topic named `<prefix>...` on the broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {
            t["topic"]: len(t["partitions"])
            for t in await admin.describe_topics()
            if t["topic"].startswith(prefix)
        }
    finally:
        await admin.close()


def one_sentence_each(stderr: str) -> list[str]:
    lines = stderr.strip().splitlines()
    assert lines and "Traceback" not in stderr, stderr
    for line in lines:
        assert line.startswith("socketlabs-bridge: ") and line.endswith("."), line
    return lines


def test_replication_factor_above_the_brokers(bridge: RunningBridge, kafka_bootstrap: str) -> None:
    result = bridge.run("topics", "create", "--replication-factor", "3", check=False)
    assert result.returncode == 1, result
    assert "created" not in result.stdout, result.stdout
    lines = one_sentence_each(result.stderr)
    assert all("replication factor" in line.lower() for line in lines), lines
    assert asyncio.run(describe(kafka_bootstrap, bridge.prefix)) == {}


def test_invalid_topic_configuration(bridge: RunningBridge, kafka_bootstrap: str) -> None:
    # A retention beyond a Java long: the tool's parser takes it, Kafka's config check refuses it.
    result = bridge.run("topics", "create", "--retention", "99999999999999999999d", check=False)
    assert result.returncode == 1, result
    assert "created" not in result.stdout, result.stdout
    lines = one_sentence_each(result.stderr)
    assert len(lines) == len(KINDS), lines
    for kind, line in zip(KINDS, lines, strict=True):
        assert f"topic {bridge.prefix}.{kind}: INVALID_CONFIG" in line and "retention.ms" in line, line
    assert asyncio.run(describe(kafka_bootstrap, bridge.prefix)) == {}


def test_topic_name_kafka_rejects(bridge: RunningBridge, kafka_bootstrap: str) -> None:
    """`<prefix>.queued` collides with an existing `<prefix>_queued` ('.' and '_' clash in metric
    names): a name the settings accept and only Kafka can refuse. The other topics are created."""

    async def create_clashing() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(f"{bridge.prefix}_queued", 1, 1)])
        finally:
            await admin.close()

    asyncio.run(create_clashing())
    result = bridge.run("topics", "create", check=False)
    assert result.returncode == 1, result
    (line,) = one_sentence_each(result.stderr)
    assert f"topic {bridge.prefix}.queued: INVALID_TOPIC:" in line and "collides" in line, line
    made = [line.split(" (")[0] for line in result.stdout.splitlines()]
    assert made == [f"{bridge.prefix}.{kind}: created" for kind in KINDS if kind != "queued"], result.stdout
    on_broker = asyncio.run(describe(kafka_bootstrap, bridge.prefix))
    assert f"{bridge.prefix}.queued" not in on_broker and len(on_broker) == len(KINDS)


def test_existing_topic_with_fewer_partitions(bridge: RunningBridge, kafka_bootstrap: str) -> None:
    bridge.run("topics", "create", "--partitions", "1")
    result = bridge.run("topics", "create", "--partitions", "3", check=False)
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == [
        f"{bridge.prefix}.{kind}: exists with 1 partition, fewer than the 3 asked (left unchanged)"
        for kind in KINDS
    ]
    assert set(asyncio.run(describe(kafka_bootstrap, bridge.prefix)).values()) == {1}
