"""Readiness in both directions: 503 (with the reason) when an event topic goes, 200 again once it
is back, and `bridge_kafka_ready` following. Readiness is probed every 2 s. (Losing the broker:
test_end_to_end's broker-kill test, which checks readiness with the same broker restart.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.bridge_process import RunningBridge
from tests.integration.probes import create_bridge_topics, readiness, wait_for

pytestmark = pytest.mark.integration
WITHIN = 15  # seconds: the 2 s probe, a 5 s metadata timeout, and a loaded machine


@pytest.fixture
def started() -> Iterator[list[RunningBridge]]:
    bridges: list[RunningBridge] = []
    yield bridges
    for bridge in bridges:
        code, stderr = bridge.stop()
        assert code == 0, stderr[-2000:]


async def test_a_deleted_topic_makes_it_not_ready_until_created_again(kafka_bootstrap, started) -> None:
    bridge = RunningBridge(kafka_bootstrap)
    await create_bridge_topics(bridge.env)
    bridge.start()
    started.append(bridge)
    bridge.wait_ready()
    assert readiness(bridge) == (200, '{"status": "ready"}', 1)

    topic = f"{bridge.prefix}.click"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()
    began = time.monotonic()
    _, body, ready = wait_for(
        lambda: (r := readiness(bridge))[0] == 503 and r, WITHIN, "503 after the topic was deleted"
    )
    print(f"not ready {time.monotonic() - began:.1f} s after the topic was deleted")
    assert json.loads(body) == {"error": "not_ready", "message": f"Not ready: topics missing: {topic}."}
    assert ready == 0

    await create_bridge_topics(bridge.env)
    wait_for(lambda: readiness(bridge) == (200, '{"status": "ready"}', 1), WITHIN, "ready again")
