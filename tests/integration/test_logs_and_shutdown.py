"""What a running bridge writes to stderr, and how it stops on SIGTERM under load."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid

import aiohttp
import pytest

from tests.helpers import SAMPLE_KINDS, SAMPLE_SECRET, sample
from tests.integration.bridge_process import RunningBridge, read_records
from tests.integration.probes import create_bridge_topics

pytestmark = pytest.mark.integration
EMAIL = "ana.lima@example.net"  # in the complaint and click samples
INFO_MESSAGES = {  # every INFO line a bridge writes in its life: none per request
    "socketlabs-kafka-bridge started",
    "ready: Kafka reachable and every event topic exists",
    "shutting down: readiness 503, then draining requests in flight",
    "stopped",
}


async def post_samples_and_refusals(url: str, extra: int = 0) -> None:
    async with aiohttp.ClientSession() as session:
        for name in sorted(SAMPLE_KINDS):
            body, content_type = sample(name)
            async with session.post(url + "/webhook", data=body, headers={"Content-Type": content_type}) as r:
                assert r.status == 200
        for i in range(extra):
            event = {"Type": "Open", "SecretKey": SAMPLE_SECRET, "MessageId": f"x-{i}", "Address": EMAIL}
            async with session.post(url + "/webhook", json=event) as r:
                assert r.status == 200
        async with session.post(url + "/webhook", json={"Type": "Open", "SecretKey": "wrong"}) as r:
            assert r.status == 401
        # A mistyped webhook name can carry anything, an address included, into the log.
        async with session.post(f"{url}/webhook/{EMAIL}", json={"Type": "Open"}) as r:
            assert r.status == 404
        async with session.get(url + "/webhook") as r:  # refused by aiohttp's router, logged too
            assert r.status == 405


async def run_and_stop(kafka_bootstrap: str, extra: int = 0, **env: str) -> str:
    bridge = RunningBridge(kafka_bootstrap, **env)
    await create_bridge_topics(bridge.env)
    bridge.start()
    try:
        bridge.wait_ready()
        await post_samples_and_refusals(bridge.url, extra)
    finally:
        code, stderr = bridge.stop()
    assert code == 0, stderr[-2000:]
    assert SAMPLE_SECRET not in stderr, "the secret key reached a log line"
    assert EMAIL not in stderr, "an email address reached a log line unmasked"
    return stderr


async def test_json_logs_say_what_matters_and_nothing_per_request(kafka_bootstrap) -> None:
    stderr = await run_and_stop(kafka_bootstrap, extra=20)
    entries = [json.loads(line) for line in stderr.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)

    [start] = [e for e in entries if e["message"] == "socketlabs-kafka-bridge started"]
    configuration = start["configuration"]
    assert configuration["kafka_bootstrap_servers"] == [kafka_bootstrap]
    assert configuration["webhooks"] == [
        {"name": "default", "secret_keys": ["**********"], "validation_key": None, "server_ids": None}
    ]
    assert configuration["log_format"] == "json" and configuration["shutdown_delay"] == 0.0

    refused = [e for e in entries if e["message"] == "request refused"]
    assert [(e["level"], e["status"], e["error"]) for e in refused] == [
        ("WARNING", 401, "unauthorized"),
        ("WARNING", 404, "unknown_webhook"),
        ("WARNING", 405, "method_not_allowed"),
    ]
    assert refused[0]["reason"]  # the sentence the poster got
    assert refused[1]["path"] == "/webhook/a***@example.net"
    # 34 events answered 200 and not one line for them at INFO: request lines are DEBUG only.
    assert {e["message"] for e in entries if e["level"] == "INFO"} <= INFO_MESSAGES
    assert not [e for e in entries if e["level"] == "DEBUG"]


async def test_text_logs_at_debug_have_a_line_per_event(kafka_bootstrap) -> None:
    stderr = await run_and_stop(kafka_bootstrap, BRIDGE_LOG_FORMAT="text", BRIDGE_LOG_LEVEL="DEBUG")
    lines = stderr.splitlines()
    assert not [line for line in lines if line.startswith("{")]
    [start] = [
        line for line in lines if "INFO bridge.process.server: socketlabs-kafka-bridge started" in line
    ]
    assert "'secret_keys': ['**********']" in start
    produced = [line for line in lines if "DEBUG bridge.http.handlers: event produced" in line]
    assert len(produced) == sum(1 for kind in SAMPLE_KINDS.values() if kind is not None)
    assert any(
        "WARNING bridge.http.app: request refused" in line and "/webhook/a***@example.net" in line
        for line in lines
    )


async def test_sigterm_under_load_answers_200_only_for_records_in_kafka(kafka_bootstrap) -> None:
    bridge = RunningBridge(kafka_bootstrap, BRIDGE_SHUTDOWN_DELAY="1.5", BRIDGE_DRAIN_TIMEOUT="10")
    await create_bridge_topics(bridge.env)
    bridge.start()
    assert bridge.process is not None
    try:
        bridge.wait_ready()
    except BaseException:
        bridge.stop()
        raise
    marker = uuid.uuid4().hex[:8]
    answers: list[tuple[float, int, str]] = []  # (time, status, event id); status 0: no answer
    readyz: list[tuple[float, int, str]] = []
    sigterm_at = 0.0
    exited = asyncio.Event()

    async def poster(session: aiohttp.ClientSession, worker: int) -> None:
        n = 0
        while not exited.is_set():
            n += 1
            event = {"Type": "Delivered", "SecretKey": SAMPLE_SECRET, "MessageId": f"{marker}-{worker}-{n}"}
            try:
                async with session.post(bridge.url + "/webhook", json=event) as response:
                    body = await response.json()
                    answers.append((time.monotonic(), response.status, body.get("event_id", "")))
            except aiohttp.ClientError:
                answers.append((time.monotonic(), 0, ""))
                await asyncio.sleep(0.05)

    async def probe_readiness(session: aiohttp.ClientSession) -> None:
        while not exited.is_set():
            try:
                async with session.get(bridge.admin_url + "/readyz") as response:
                    readyz.append((time.monotonic(), response.status, await response.text()))
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)

    async def terminate_under_load() -> None:
        nonlocal sigterm_at
        while sum(1 for a in answers if a[1] == 200) < 150:
            await asyncio.sleep(0.02)
        sigterm_at = time.monotonic()
        bridge.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        await asyncio.to_thread(bridge.process.wait, 60)  # type: ignore[union-attr]
        exited.set()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40)) as session:
        async with asyncio.timeout(90):
            await asyncio.gather(
                terminate_under_load(), probe_readiness(session), *(poster(session, w) for w in range(40))
            )
    stopped_after = time.monotonic() - sigterm_at
    code, stderr = bridge.stop()
    assert code == 0, stderr[-2000:]

    statuses = {status for _, status, _ in answers}
    assert statuses <= {200, 503, 0}, statuses  # 503 or no answer: SocketLabs retries
    during_delay = [a for a in answers if a[1] == 200 and a[0] > sigterm_at]
    assert during_delay, "no post was answered 200 after SIGTERM: the shutdown delay did not serve"
    assert any(s == 503 and "shutting down" in body for t, s, body in readyz if t > sigterm_at)
    assert all(s == 200 for t, s, _ in readyz if t < sigterm_at)
    assert stopped_after < 1.5 + 10 + 5

    ok = {event_id for _, status, event_id in answers if status == 200}
    records = await read_records(kafka_bootstrap, [f"{bridge.prefix}.delivered"], len(ok))
    in_kafka = {dict(r.headers)["event-id"].decode() for r in records}
    assert ok <= in_kafka, f"{len(ok - in_kafka)} events answered 200 are not in Kafka"
    print(
        f"SIGTERM after {len(ok) - len(during_delay)} 200s; {len(during_delay)} more 200s after it; "
        f"{sum(1 for a in answers if a[1] != 200)} other answers; {len(records)} records; "
        f"exit {stopped_after:.1f} s after SIGTERM"
    )
