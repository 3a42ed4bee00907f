"""Every sample through a running `socketlabs-bridge serve` into a real Kafka broker, read back."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.helpers import KINDS, SAMPLE_KINDS, SAMPLE_SECRET, expected_value, sample
from tests.integration.bridge_process import RunningBridge, read_records

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bridge(kafka_bootstrap: str) -> Iterator[RunningBridge]:
    running = RunningBridge(kafka_bootstrap, BRIDGE_LOG_LEVEL="DEBUG")
    created = running.run("topics", "create", "--partitions", "2")
    assert f"{running.prefix}.delivered: created" in created.stdout
    again = running.run("topics", "create")
    assert f"{running.prefix}.delivered: exists" in again.stdout  # safe to run twice
    running.start()
    running.wait_ready()
    yield running
    code, stderr = running.stop()
    running.stderr = stderr  # type: ignore[attr-defined]
    assert code == 0, stderr[-2000:]
    assert SAMPLE_SECRET not in stderr, "the secret key reached a log line"
    assert "ana.lima@example.net" not in stderr, "an email address reached a log line unmasked"


async def test_every_sample_lands_in_its_topic_with_the_contract_record(bridge, kafka_bootstrap):
    before = datetime.now(UTC)
    replies = {}
    async with aiohttp.ClientSession() as session:
        for name in sorted(SAMPLE_KINDS):
            body, content_type = sample(name)
            async with session.post(
                bridge.url + "/webhook", data=body, headers={"Content-Type": content_type}
            ) as response:
                assert response.status == 200, await response.text()
                replies[name] = await response.json()
    produced = {n: k for n, k in SAMPLE_KINDS.items() if k is not None}
    topics = [f"{bridge.prefix}.{kind}" for kind in KINDS]
    records = await read_records(kafka_bootstrap, topics, len(produced))
    assert len(records) == len(produced)  # validation posts produce nothing
    after = datetime.now(UTC)

    by_id = {dict(r.headers)["event-id"].decode(): r for r in records}
    for name, kind in produced.items():
        record = by_id[replies[name]["event_id"]]
        value = json.loads(record.value)
        assert record.topic == f"{bridge.prefix}.{kind}"
        assert value == expected_value(name)
        assert list(value) == list(expected_value(name))  # field order kept too
        assert SAMPLE_SECRET.encode() not in record.value
        assert record.key == value["MessageId"].encode()
        headers = dict(record.headers)
        assert set(headers) == {
            "event-type",
            "event-id",
            "webhook",
            "server-id",
            "received-at",
            "content-type",
        }
        assert headers["event-type"] == kind.encode()
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert headers["event-id"].decode() == hashlib.sha256(canonical).hexdigest()
        assert headers["webhook"] == b"default"
        assert headers["server-id"] == b"30117"
        assert headers["content-type"] == b"application/json"
        received_at = datetime.fromisoformat(headers["received-at"].decode())
        assert before - timedelta(seconds=1) <= received_at <= after
        assert abs(record.timestamp - received_at.timestamp() * 1000) < 2


async def test_unknown_type_goes_to_the_unknown_topic_and_empty_message_id_has_no_key(
    bridge, kafka_bootstrap
):
    event = {"Type": "Bounced", "SecretKey": SAMPLE_SECRET, "MessageId": "", "ServerId": 7, "Extra": {"a": 1}}
    async with (
        aiohttp.ClientSession() as session,
        session.post(bridge.url + "/webhook", json=event) as response,
    ):
        assert response.status == 200
        event_id = (await response.json())["event_id"]
    records = await read_records(kafka_bootstrap, [f"{bridge.prefix}.unknown"], 1)
    [record] = [r for r in records if dict(r.headers)["event-id"].decode() == event_id]
    assert record.key is None
    assert json.loads(record.value) == {"Type": "Bounced", "MessageId": "", "ServerId": 7, "Extra": {"a": 1}}


async def test_rejected_posts_produce_nothing(bridge, kafka_bootstrap):
    marker = uuid.uuid4().hex
    bad = [
        ({"Type": "Delivered", "SecretKey": "wrong", "MessageId": marker}, 401),
        ({"Type": "Delivered", "MessageId": marker}, 401),
        ({"MessageId": marker, "SecretKey": SAMPLE_SECRET}, 400),
    ]
    async with aiohttp.ClientSession() as session:
        for event, status in bad:
            async with session.post(bridge.url + "/webhook", json=event) as response:
                assert response.status == status
    records = await read_records(kafka_bootstrap, [f"{bridge.prefix}.{k}" for k in KINDS], 10**6, timeout=3)
    assert all(r.key != marker.encode() for r in records)


async def test_admin_listener_serves_health_and_metrics(bridge):
    async with aiohttp.ClientSession() as session:
        async with session.get(bridge.admin_url + "/healthz") as response:
            assert response.status == 200
        async with session.get(bridge.admin_url + "/readyz") as response:
            assert response.status == 200
        async with session.get(bridge.admin_url + "/metrics") as response:
            text = await response.text()
        async with session.get(bridge.url + "/metrics") as response:
            assert response.status in (404, 405)  # never on the public listener
    assert f'bridge_events_produced_total{{topic="{bridge.prefix}.delivered"}}' in text
    assert "bridge_kafka_ready 1.0" in text
