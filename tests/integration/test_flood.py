"""A flood of hostile posts against a running bridge: the good posts still land, the log stays small.

A hostile client posts the worst bodies of tests/hostile.py (wrong secret, 69-240 KB) as fast as
it can on a few connections, while a well-behaved client posts real events one after the other.
Every good post must be answered 200 and be in Kafka; the good client's p99 is printed beside the
quiet p99 (the assertion is generous: this runs on 2 shared cores); the bridge's log stays under
LOG_BOUND for the whole run, refusal lines being rate-limited per error code.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import aiohttp
import orjson
import pytest

from tests.helpers import SAMPLE_SECRET, read_sample
from tests.hostile import SHAPES
from tests.integration.bridge_process import RunningBridge, read_records
from tests.integration.probes import create_bridge_topics

pytestmark = pytest.mark.integration
FLOOD_SECONDS = 10.0
HOSTILE_CONNECTIONS = 4
QUIET_POSTS = 200
LOG_BOUND = 64 * 1024  # bytes of stderr for the whole run, flood included
P99_BOUND = 1.0  # seconds: generous, a loaded 2-core machine must not make it flake


def good_event() -> bytes:
    event = orjson.loads(read_sample("delivered.json"))
    event["SecretKey"] = SAMPLE_SECRET
    event["MessageId"] = f"flood-{uuid.uuid4().hex}"
    return orjson.dumps(event)


async def post_good(session: aiohttp.ClientSession, url: str, ids: list[str]) -> float:
    body = good_event()
    started = time.perf_counter()
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 200, await response.text()
        await response.read()
    ids.append(orjson.loads(body)["MessageId"])
    return time.perf_counter() - started


async def hostile(url: str, stop: asyncio.Event, answers: dict[int, int]) -> None:
    bodies = [(shape.body(), shape.content_type) for shape in SHAPES]
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            for body, content_type in bodies:
                async with session.post(url, data=body, headers={"Content-Type": content_type}) as r:
                    await r.read()
                    answers[r.status] = answers.get(r.status, 0) + 1


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


async def test_good_posts_land_and_the_log_stays_small_under_a_flood(kafka_bootstrap) -> None:
    bridge = RunningBridge(kafka_bootstrap)
    await create_bridge_topics(bridge.env)
    bridge.start()
    url = bridge.url + "/webhook"
    ids: list[str] = []
    answers: dict[int, int] = {}
    try:
        bridge.wait_ready()
        async with aiohttp.ClientSession() as session:
            quiet = [await post_good(session, url, ids) for _ in range(QUIET_POSTS)]
            stop = asyncio.Event()
            flood = [asyncio.create_task(hostile(url, stop, answers)) for _ in range(HOSTILE_CONNECTIONS)]
            flooded: list[float] = []
            deadline = time.monotonic() + FLOOD_SECONDS
            while time.monotonic() < deadline:
                flooded.append(await post_good(session, url, ids))
            stop.set()
            await asyncio.gather(*flood)
    finally:
        code, stderr = bridge.stop()
    assert code == 0, stderr[-2000:]

    records = await read_records(kafka_bootstrap, [f"{bridge.prefix}.delivered"], len(ids))
    assert {r.key.decode() for r in records} == set(ids)
    hostile_posts = sum(answers.values())
    print(
        f"\nflood: {hostile_posts} hostile posts in {FLOOD_SECONDS:.0f} s ({answers}); good posts: "
        f"quiet p99 {p99(quiet) * 1000:.1f} ms (median {statistics.median(quiet) * 1000:.1f}), "
        f"flooded p99 {p99(flooded) * 1000:.1f} ms (median {statistics.median(flooded) * 1000:.1f}, "
        f"{len(flooded)} posts); log {len(stderr.encode())} bytes"
    )
    assert set(answers) <= {400, 401} and hostile_posts >= 10 * len(SHAPES)
    assert p99(flooded) < P99_BOUND
    assert len(stderr.encode()) < LOG_BOUND, stderr[-2000:]
    assert "requests refused, not logged" in stderr  # the flood was summed up, not written out
    assert SAMPLE_SECRET not in stderr
