"""The public app through aiohttp's test client, with a recording publisher: every answer."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging

import orjson
import pytest
from prometheus_client import CollectorRegistry

from bridge.core.errors import Unavailable
from bridge.core.settings import load_settings
from bridge.http.app import create_app
from bridge.http.state import BRIDGE
from bridge.telemetry.refusals import RefusalLog
from tests.helpers import SAMPLE_KINDS, SAMPLE_SECRET, RecordingPublisher, sample

BASE_ENV = {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "BRIDGE_SECRET_KEY": SAMPLE_SECRET}


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def make_client(aiohttp_client, publisher, registry):
    async def make(**env: str):
        settings = load_settings(None, {**BASE_ENV, **env})
        return await aiohttp_client(create_app(settings, publisher=publisher, registry=registry))

    return make


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return value or 0.0


def assert_error(body: bytes, code: str) -> None:
    data = json.loads(body)
    assert set(data) == {"error", "message"}
    assert data["error"] == code
    assert data["message"].endswith(".")
    assert SAMPLE_SECRET not in data["message"]


@pytest.mark.parametrize("name", sorted(SAMPLE_KINDS))
async def test_every_sample_is_answered_200_and_recorded(make_client, publisher, registry, name):
    client = await make_client()
    body, content_type = sample(name)
    response = await client.post("/webhook", data=body, headers={"Content-Type": content_type})
    assert response.status == 200, await response.text()
    kind = SAMPLE_KINDS[name]
    if kind is None:
        assert publisher.records == []
        assert SAMPLE_SECRET in await response.text()  # the validation handshake echoes the secret
        return
    [record] = publisher.records
    assert record.topic == f"socketlabs.{kind}"
    assert SAMPLE_SECRET.encode() not in record.value
    reply = await response.json()
    assert (
        reply["event_id"]
        == hashlib.sha256(
            json.dumps(
                json.loads(record.value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        ).hexdigest()
    )
    assert metric(registry, "bridge_events_received_total", webhook="default", kind=kind) == 1
    assert metric(registry, "bridge_events_produced_total", topic=f"socketlabs.{kind}") == 1
    assert metric(registry, "bridge_http_requests_total", code="200") == 1


async def test_named_webhook_only_accepts_its_own_secret(make_client, publisher, tmp_path):
    config = tmp_path / "bridge.toml"
    config.write_text(
        '[[webhooks]]\nname = "sub"\nsecret_keys = ["sub-secret"]\n'
        '[[webhooks]]\nname = "account"\nsecret_keys = ["account-secret"]\n'
    )
    client = await make_client(BRIDGE_CONFIG=str(config))
    event = {"Type": "Delivered", "SecretKey": "account-secret", "MessageId": "m1", "ServerId": 1}
    assert (await client.post("/webhook/sub", json=event)).status == 401
    response = await client.post("/webhook/account", json=event)
    assert response.status == 200
    assert dict(publisher.records[0].headers)["webhook"] == b"account"
    # Without a name in the path, any configured webhook's secret counts.
    assert (await client.post("/webhook", json=event)).status == 200
    response = await client.post("/webhook/nope", json=event)
    assert response.status == 404
    assert_error(await response.read(), "unknown_webhook")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"Type": "Delivered"}, "missing_secret"),
        ({"Type": "Delivered", "SecretKey": ""}, "missing_secret"),
        ({"Type": "Delivered", "SecretKey": "wrong"}, "wrong_secret"),
        ({"Type": "Validation", "SecretKey": "wrong"}, "wrong_secret"),
    ],
)
async def test_bad_secret_is_401_and_produces_nothing(make_client, publisher, registry, event, reason):
    client = await make_client()
    response = await client.post("/webhook", json=event)
    assert response.status == 401
    assert_error(await response.read(), "unauthorized")
    assert publisher.records == []
    assert metric(registry, "bridge_auth_failures_total", reason=reason) == 1


async def test_server_id_outside_the_allow_list_is_401(make_client, publisher, registry, tmp_path):
    config = tmp_path / "bridge.toml"
    config.write_text(f'[[webhooks]]\nname = "only"\nsecret_keys = ["{SAMPLE_SECRET}"]\nserver_ids = [1]\n')
    client = await make_client(BRIDGE_CONFIG=str(config), BRIDGE_SECRET_KEY="")
    body, _ = sample("delivered.json")
    response = await client.post("/webhook", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 401
    assert metric(registry, "bridge_auth_failures_total", reason="server_id") == 1
    ok = await client.post("/webhook", json={"Type": "Queued", "SecretKey": SAMPLE_SECRET, "ServerId": "1"})
    assert ok.status == 200
    assert len(publisher.records) == 1


async def test_rotation_accepts_both_secrets(make_client, publisher):
    client = await make_client(BRIDGE_SECRET_KEY="old-secret, new-secret")
    for secret in ("old-secret", "new-secret"):
        response = await client.post("/webhook", json={"Type": "Queued", "SecretKey": secret})
        assert response.status == 200
    assert len(publisher.records) == 2
    assert publisher.records[0].key is None  # no MessageId, no key


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"[1, 2]", "application/json", "invalid_body"),
        (b"{not json", "application/json", "invalid_body"),
        (b"", "application/json", "invalid_body"),
        (b'{"SecretKey": "x"}', "application/json", "missing_type"),
        (b"hello", "text/plain", "missing_type"),
        (b"\xff\xfe", "application/octet-stream", "invalid_body"),
    ],
)
async def test_malformed_bodies_are_400(make_client, publisher, registry, body, content_type, code):
    client = await make_client()
    response = await client.post("/webhook", data=body, headers={"Content-Type": content_type})
    assert response.status == 400
    assert_error(await response.read(), code)
    assert publisher.records == []
    assert metric(registry, "bridge_http_requests_total", code="400") == 1


async def test_body_over_the_limit_is_413(make_client, publisher):
    client = await make_client(BRIDGE_MAX_BODY_BYTES="1000")
    event = {"Type": "Queued", "SecretKey": SAMPLE_SECRET, "Subject": "x" * 2000}
    response = await client.post("/webhook", json=event)
    assert response.status == 413
    assert_error(await response.read(), "payload_too_large")

    async def chunks():  # no Content-Length: the limit must hold while reading too
        yield orjson.dumps(event)

    response = await client.post("/webhook", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status == 413
    assert publisher.records == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(make_client, method):
    client = await make_client()
    response = await client.request(method, "/webhook")
    assert response.status == 405
    assert_error(await response.read(), "method_not_allowed")
    assert "POST" in response.headers["Allow"]


async def test_unknown_path_is_404_json(make_client):
    client = await make_client()
    response = await client.post("/elsewhere", json={})
    assert response.status == 404
    assert_error(await response.read(), "not_found")


async def test_kafka_failure_is_503_with_retry_after(make_client, publisher, registry):
    client = await make_client()
    publisher.fail_with = Unavailable(
        "Kafka did not acknowledge the event within 10 seconds.", reason="timeout"
    )
    body, content_type = sample("delivered.json")
    response = await client.post("/webhook", data=body, headers={"Content-Type": content_type})
    assert response.status == 503
    assert int(response.headers["Retry-After"]) > 0
    assert_error(await response.read(), "unavailable")
    assert metric(registry, "bridge_produce_errors_total", reason="timeout") == 1


async def test_while_draining_every_answer_closes_its_connection(make_client):
    client = await make_client()
    body, content_type = sample("delivered.json")
    before = await client.post("/webhook", data=body, headers={"Content-Type": content_type})
    assert before.status == 200 and "Connection" not in before.headers  # HTTP/1.1 keep-alive
    client.app[BRIDGE].draining = True  # SIGTERM: serve() sets it before the shutdown delay
    for post in ({"data": body, "headers": {"Content-Type": content_type}}, {"json": {"Type": "Queued"}}):
        response = await client.post("/webhook", **post)
        assert response.status in (200, 401)
        assert response.headers["Connection"] == "close"


async def test_overload_is_an_immediate_503(make_client, publisher, registry):
    import asyncio

    client = await make_client(BRIDGE_MAX_INFLIGHT="2")
    publisher.delay = 0.5
    event = {"Type": "Queued", "SecretKey": SAMPLE_SECRET}
    responses = await asyncio.gather(*(client.post("/webhook", json=event) for _ in range(5)))
    statuses = sorted(r.status for r in responses)
    assert statuses == [200, 200, 503, 503, 503]
    assert metric(registry, "bridge_produce_errors_total", reason="overload") == 3


async def test_legacy_webhook_puts_the_validation_key_in_every_200(make_client, publisher):
    client = await make_client(BRIDGE_VALIDATION_KEY="legacy-validation-key")
    body, content_type = sample("legacy-validation.form")
    response = await client.post("/webhook", data=body, headers={"Content-Type": content_type})
    assert response.status == 200
    text = await response.text()
    assert "legacy-validation-key" in text and SAMPLE_SECRET in text
    body, content_type = sample("legacy-delivered.form")
    response = await client.post("/webhook", data=body, headers={"Content-Type": content_type})
    assert response.status == 200
    assert "legacy-validation-key" in await response.text()
    assert publisher.records[0].topic == "socketlabs.delivered"


async def test_validation_echoes_a_received_validation_key(make_client, publisher):
    client = await make_client()
    event = {"Type": "Validation", "SecretKey": SAMPLE_SECRET, "ValidationKey": "vk-123", "ServerId": 5}
    response = await client.post("/webhook", json=event)
    assert response.status == 200
    text = await response.text()
    assert "vk-123" in text and SAMPLE_SECRET in text
    assert publisher.records == []


async def test_source_allow_list_is_403(make_client, publisher, registry):
    client = await make_client(BRIDGE_ALLOWED_SOURCES="socketlabs")
    body, content_type = sample("delivered.json")
    response = await client.post("/webhook", data=body, headers={"Content-Type": content_type})
    assert response.status == 403
    assert_error(await response.read(), "forbidden_source")
    assert metric(registry, "bridge_auth_failures_total", reason="source_ip") == 1
    assert publisher.records == []


async def test_trusted_proxy_forwarded_address_is_believed(make_client, publisher):
    client = await make_client(BRIDGE_ALLOWED_SOURCES="socketlabs", BRIDGE_TRUSTED_PROXIES="127.0.0.0/8")
    body, content_type = sample("delivered.json")
    headers = {"Content-Type": content_type, "X-Forwarded-For": "142.0.180.7"}
    assert (await client.post("/webhook", data=body, headers=headers)).status == 200
    headers["X-Forwarded-For"] = "10.1.2.3"
    assert (await client.post("/webhook", data=body, headers=headers)).status == 403


async def test_a_flood_of_refusals_is_counted_exactly_and_logged_in_few_lines(make_client, registry, caplog):
    client = await make_client()
    now = [0.0]
    bridge = client.app[BRIDGE]
    bridge.refusals = RefusalLog(logging.getLogger("bridge.http.app"), burst=5, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="bridge.http.app"):
        for i in range(41):
            now[0] = 10.0 if i == 40 else i * 0.1  # 40 posts in one 10 s interval, one in the next
            response = await client.post("/webhook", json={"Type": "Delivered", "SecretKey": "wrong"})
            assert response.status == 401
    messages = [r.getMessage() for r in caplog.records if r.name == "bridge.http.app"]
    assert messages == ["request refused"] * 5 + ["requests refused, not logged", "request refused"]
    [summary] = [r for r in caplog.records if r.getMessage() == "requests refused, not logged"]
    assert summary.count == 35
    assert summary.top_sources == {"127.0.0.1": 35}
    assert metric(registry, "bridge_auth_failures_total", reason="wrong_secret") == 41
    assert metric(registry, "bridge_http_requests_total", code="401") == 41


async def test_behind_a_trusted_proxy_refusals_are_summed_up_by_the_posters_address(make_client, caplog):
    client = await make_client(BRIDGE_TRUSTED_PROXIES="127.0.0.0/8")
    bridge = client.app[BRIDGE]
    bridge.refusals = RefusalLog(logging.getLogger("bridge.http.app"), burst=1, clock=lambda: 0.0)
    with caplog.at_level(logging.WARNING, logger="bridge.http.app"):
        for poster in ["198.51.100.7"] * 3 + ["203.0.113.9"] * 2:
            headers = {"X-Forwarded-For": poster}
            response = await client.post(
                "/webhook", json={"Type": "Open", "SecretKey": "wrong"}, headers=headers
            )
            assert response.status == 401
        bridge.refusals.flush()
    [first] = [r for r in caplog.records if r.getMessage() == "request refused"]
    assert first.remote == "198.51.100.7"
    [summary] = [r for r in caplog.records if r.getMessage() == "requests refused, not logged"]
    assert summary.top_sources == {"198.51.100.7": 2, "203.0.113.9": 2}


async def test_a_summary_is_written_when_its_interval_is_over(make_client, caplog):
    client = await make_client()
    bridge = client.app[BRIDGE]
    bridge.refusals = RefusalLog(logging.getLogger("bridge.http.app"), burst=1, interval=0.05)
    with caplog.at_level(logging.WARNING, logger="bridge.http.app"):
        for _ in range(3):
            response = await client.post("/webhook", json={"Type": "Open", "SecretKey": "wrong"})
            assert response.status == 401
        for _ in range(250):  # no other refusal comes: the app's tick (every 1 s) writes the summary
            await asyncio.sleep(0.02)
            if any(r.getMessage() == "requests refused, not logged" for r in caplog.records):
                break
    [summary] = [r for r in caplog.records if r.getMessage() == "requests refused, not logged"]
    assert summary.count == 2
