"""The perform-test preview SocketLabs documents is accepted as it is, and `--watch` recognises it."""

from __future__ import annotations

import copy
import json

import pytest
from prometheus_client import CollectorRegistry

from bridge.cli.roundtrip import Expected, match
from bridge.core.settings import load_settings
from bridge.http.app import create_app
from bridge.kafka.client import ConsumedRecord
from tests.helpers import SAMPLE_SECRET, RecordingPublisher
from tests.socketlabs_standin import DOCUMENTED_ANSWER

ENV = {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "BRIDGE_SECRET_KEY": SAMPLE_SECRET}


def documented(wrapped: bool) -> dict:
    answer = copy.deepcopy(DOCUMENTED_ANSWER)
    answer["data"]["SecretKey"] = SAMPLE_SECRET
    return answer if wrapped else answer["data"]


@pytest.mark.parametrize("wrapped", [True, False], ids=["as-documented-under-data", "bare-event"])
async def test_documented_perform_test_body_is_accepted_and_forwarded_unchanged(aiohttp_client, wrapped):
    publisher = RecordingPublisher()
    settings = load_settings(None, ENV)
    client = await aiohttp_client(create_app(settings, publisher=publisher, registry=CollectorRegistry()))
    body = documented(wrapped)
    response = await client.post("/webhook", json=body)
    assert response.status == 200, await response.text()
    [record] = publisher.records
    assert record.topic == "socketlabs.delivered"
    value = json.loads(record.value)
    expected = {k: v for k, v in documented(False).items() if k != "SecretKey"}
    assert value == expected
    assert list(value) == list(expected)  # LocalIP keeps its capitals, fields keep their order
    assert value["Data"]["Meta"] == [{"x-mycustommetadata": "I am custom metadata"}]
    assert record.key == b"SampleMessageId"
    assert dict(record.headers)["server-id"] == b"16332"

    # The id `socketlabs test --watch` computes from the preview is the id the bridge gave it.
    want = Expected("sent", documented(False), requested_at=0.0)
    assert want.event_id == record.event_id == (await response.json())["event_id"]
    consumed = ConsumedRecord(
        record.topic, 0, 0, record.key, record.value, dict(record.headers), record.timestamp_ms
    )
    assert match(want, consumed) == "event-id"
