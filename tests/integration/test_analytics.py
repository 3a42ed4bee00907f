"""The analytics examples against the bridge's real records: a Flink SQL job (PyFlink, Flink's local
mini-cluster, the Kafka SQL connector) and a plain Python consumer, both fed by a running bridge on
a real broker, must write exactly the rows this test computes from what it posted.

The event set: every sample (JSON and legacy form, validation posts included), hand-made events of
a second mailing over three hours (every FailureType spelling, DateTime with 0, 1 and 7 fractional
digits and in RFC 1123, one event 7 minutes out of order across an hour, unknown Type and TrackingType, null and
missing MailingId), retried posts, `send-test --type all` (JSON and form) and an unreadable DateTime.

The PyFlink virtualenv and the connector jar come from scripts/flink-env (CI runs it in
.ci/setup.d/60-analytics.sh and passes FLINK_PYTHON and FLINK_KAFKA_CONNECTOR_JAR; run here without
them, the test runs it itself, which takes minutes the first time on a machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bridge.tools.samples import SAMPLE_KINDS, sample_event
from tests.helpers import SAMPLE_SECRET
from tests.integration.analytics_events import Expected, late_posts, posts
from tests.integration.bridge_process import RunningBridge, read_records

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "analytics"
# A small heap on a shared 2-core machine; C1 only and the serial collector: a short job spends
# less CPU compiling and collecting (docs/consuming.md, "Flink SQL").
JVM_ARGS = "-Xmx768m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


@pytest.fixture(scope="module")
def flink_env() -> dict[str, str]:
    names = ("FLINK_PYTHON", "FLINK_KAFKA_CONNECTOR_JAR")
    if all(os.environ.get(name) for name in names):
        return {name: os.environ[name] for name in names}
    result = subprocess.run(
        [str(ROOT / "scripts" / "flink-env")], capture_output=True, text=True, timeout=1200
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/flink-env could not install PyFlink: {result.stderr[-1500:]}", pytrace=False)
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


@pytest.fixture(scope="module")
def posted(kafka_bootstrap: str) -> Iterator[tuple[RunningBridge, Expected]]:
    """A bridge with the event set posted through it, and the rows it must lead to."""
    bridge = RunningBridge(kafka_bootstrap)
    bridge.run("topics", "create", "--partitions", "2")
    bridge.start()
    bridge.wait_ready()
    try:
        expected = Expected()
        replies = asyncio.run(_post(bridge, posts(), expected))
        # send-test stamps its events with the moment of the post, and an unreadable DateTime counts
        # at the moment the bridge received it: keep them all in one clock hour.
        now = datetime.now(UTC)
        next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if next_hour - now < timedelta(seconds=120):  # posting them takes seconds, more under load
            time.sleep((next_hour - now).total_seconds() + 1)
        hour = datetime.now(UTC)
        kinds = list(SAMPLE_KINDS)
        for form in ([], ["--form"]):
            url = bridge.url + "/webhook"
            sent = bridge.run("send-test", "--url", url, "--secret", SAMPLE_SECRET, "--type", "all", *form)
            assert sent.stdout.count(" 200 ") == len(kinds), sent.stdout
            expected.add_send_test(kinds, sample_event("failed", "x")["FailureType"], hour)
        replies += asyncio.run(_post(bridge, late_posts(), expected))
        assert datetime.now(UTC).strftime("%H") == hour.strftime("%H"), "crossed an hour: rerun"
        ids = [reply["event_id"] for reply in replies if "event_id" in reply]  # validations have none
        assert len(ids) - len(set(ids)) == 3  # the three retries: the same event-id again
        yield bridge, expected
    finally:
        code, stderr = bridge.stop()
    assert code == 0, stderr[-2000:]


async def _post(bridge: RunningBridge, bodies: list[tuple[str, bytes, str]], expected: Expected) -> list:
    replies = []
    async with aiohttp.ClientSession() as session:
        for label, body, content_type in bodies:
            headers = {"Content-Type": content_type}
            async with session.post(bridge.url + "/webhook", data=body, headers=headers) as response:
                assert response.status == 200, f"{label}: {await response.text()}"
                replies.append(await response.json())
            expected.add(body, content_type, datetime.now(UTC))
    return replies


def test_the_expected_rows_are_the_event_set_worked_out_by_hand(posted):
    """The test's own arithmetic, checked on a few rows against figures counted by hand."""
    _, expected = posted
    rows = {(r["mailing_id"], r["hour"]): r for r in expected.rows()}
    ten = rows[("Autumn-News", "2026-05-20T10:00:00Z")]
    assert (ten["queued"], ten["delivered"], ten["opens"]) == (3, 2, 1)  # 10:58 late but in time
    assert (ten["failed_permanent"], ten["failed_suppressed"], ten["failed_temporary"]) == (2, 2, 1)
    assert (ten["failed_other"], ten["delivery_rate"], ten["bounce_rate"]) == (1, 2 / 8, 3 / 8)
    eleven = rows[("Autumn-News", "2026-05-20T11:00:00Z")]
    assert (eleven["clicks"], eleven["unsubscribes"], eleven["complaints"], eleven["unknown"]) == (1, 1, 1, 2)
    assert (eleven["delivered"], eleven["failed_temporary"]) == (2, 1)  # 11:05 and a form post sent twice
    spring = rows[("Spring-Promo", "2026-05-18T08:00:00Z")]
    assert (spring["delivered"], spring["failed_permanent"], spring["failed_temporary"]) == (1, 1, 1)
    assert rows[("", "2026-05-20T12:00:00Z")]["delivered"] == 1  # null and missing MailingId: ""
    assert rows[("", "2026-05-20T12:00:00Z")]["queued"] == 1
    now = [r for r in expected.rows() if r["mailing_id"] == "bridge-test"]
    assert len(now) == 1 and now[0]["queued"] == 2 and now[0]["failed_permanent"] == 2


def test_the_python_consumer_job_writes_exactly_the_expected_rows(posted):
    bridge, expected = posted
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "mailing_stats.py"), "--bootstrap-servers",
         bridge.env["BRIDGE_KAFKA_BOOTSTRAP_SERVERS"], "--prefix", bridge.prefix],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == expected.rows()
    assert f"{expected.events} events counted, 3 duplicates skipped" in result.stderr


def test_the_flink_sql_job_writes_exactly_the_expected_rows(posted, flink_env, kafka_bootstrap):
    bridge, expected = posted
    output = f"{bridge.prefix}.mailing-hourly"
    asyncio.run(_create_topic(kafka_bootstrap, output))
    started = time.monotonic()
    result = subprocess.run(
        [flink_env["FLINK_PYTHON"], str(EXAMPLES / "flink_mailing_stats.py"),
         "--bootstrap-servers", kafka_bootstrap, "--prefix", bridge.prefix, "--output-topic", output,
         "--connector-jar", flink_env["FLINK_KAFKA_CONNECTOR_JAR"], "--bounded"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "JVM_ARGS": JVM_ARGS},
    )  # fmt: skip
    print(f"Flink job: {time.monotonic() - started:.1f} s; {result.stderr.strip().splitlines()[-1:]}")
    assert result.returncode == 0, result.stderr[-4000:]
    records = asyncio.run(read_records(kafka_bootstrap, [output], len(expected.rows()), timeout=30))
    rows = sorted((json.loads(r.value) for r in records), key=_row_order)
    print("\n".join(json.dumps(row) for row in rows))  # quoted in docs/consuming.md
    assert rows == expected.rows()
    assert all(r.key == json.loads(r.value)["mailing_id"].encode() for r in records)  # keyed by mailing


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


def _row_order(row: dict[str, Any]) -> tuple[str, str]:
    return row["mailing_id"], row["hour"]
