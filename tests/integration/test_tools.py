"""The operator's tools against a real broker and a running bridge: `topics create --retention`,
`send-test` (JSON and form, concurrent), `tail` reading the events back, the JSON Schemas on
what the bridge actually produced, and the `examples/consume_dedup.py` consumer.

Time: one bridge for the module (start-up ~3 s), each tool a subprocess (~1 s of imports each).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import jsonschema
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from bridge.tools.samples import SAMPLE_KINDS
from tests.helpers import SAMPLE_SECRET
from tests.integration.bridge_process import CTRL_C_BOUND, RunningBridge, read_records, running_tail

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]
SCHEMAS = ROOT / "docs" / "schemas"


@pytest.fixture(scope="module")
def bridge(kafka_bootstrap: str) -> Iterator[RunningBridge]:
    running = RunningBridge(kafka_bootstrap)
    created = running.run("topics", "create", "--partitions", "2", "--retention", "3d")
    assert (
        f"{running.prefix}.failed: created (2 partitions, replication factor 1, min.insync.replicas 1, retention 3d)"
        in (created.stdout)
    )
    again = running.run("topics", "create", "--partitions", "2", "--retention", "1h")
    assert f"{running.prefix}.failed: exists (left unchanged)" in again.stdout
    running.start()
    running.wait_ready()
    yield running
    code, stderr = running.stop()
    assert code == 0, stderr[-2000:]


def tool(bridge: RunningBridge, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    result = bridge.run(*args, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


async def test_topics_create_sets_the_retention_and_a_second_run_keeps_it(bridge, kafka_bootstrap):
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, f"{bridge.prefix}.failed")]
        )
    finally:
        await admin.close()
    [(_, _, _, _, configs)] = response.resources
    values = {entry[0]: entry[1] for entry in configs}
    assert values["retention.ms"] == str(3 * 24 * 3600 * 1000)  # the first run's, not the second's 1h


def test_send_test_posts_every_kind_and_tail_reads_them_back_matching_the_schemas(bridge):
    json_run = tool(
        bridge,
        "send-test",
        "--url",
        bridge.url,
        "--secret",
        SAMPLE_SECRET,
        "--count",
        "2",
        "--concurrency",
        "4",
    )
    assert json_run.returncode == 0, json_run.stdout + json_run.stderr
    assert "posted 16 events" in json_run.stdout
    assert "status 200: 16" in json_run.stdout
    assert "latency p50" in json_run.stdout and "p99" in json_run.stdout
    form_run = tool(
        bridge, "send-test", "--url", bridge.url + "/webhook", "--secret", SAMPLE_SECRET, "--form"
    )
    assert form_run.returncode == 0, form_run.stdout
    assert form_run.stdout.count(" 200 ") == 8  # one line per post when there are few

    tail = tool(
        bridge, "tail", "--json", "--from-beginning", "--max-events", "24", "--timeout", "60", check=True
    )
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert len(lines) == 24
    assert Counter(line["headers"]["event-type"] for line in lines) == {kind: 3 for kind in SAMPLE_KINDS}
    for line in lines:
        kind = line["headers"]["event-type"]
        assert line["topic"] == f"{bridge.prefix}.{kind}"
        assert line["key"] == line["value"]["MessageId"]
        assert set(line["headers"]) == {
            "event-type",
            "event-id",
            "webhook",
            "server-id",
            "received-at",
            "content-type",
        }
        schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
        jsonschema.validate(line["value"], schema, cls=jsonschema.Draft202012Validator)
    form_dates = [line["value"]["DateTime"] for line in lines if line["value"]["ServerId"] == "30117"]
    assert len(form_dates) == 8 and all(d.endswith(" GMT") for d in form_dates)  # RFC 1123 in form posts

    readable = tool(
        bridge, "tail", "--kind", "failed", "--from-beginning", "--max-events", "3", "--timeout", "60"
    )
    assert readable.returncode == 0
    assert readable.stdout.count(f"{bridge.prefix}.failed  partition") == 3
    assert "event-type: failed  event-id: " in readable.stdout
    assert "received-at: " in readable.stdout


def test_send_test_exits_1_and_counts_the_statuses_when_a_post_is_refused(bridge):
    result = tool(bridge, "send-test", "--url", bridge.url, "--secret", "not-the-secret", "--type", "sent")
    assert result.returncode == 1
    assert "status 401: 1" in result.stdout
    assert "unauthorized" in result.stdout


def test_send_test_validation_handshake_is_answered(bridge):
    result = tool(bridge, "send-test", "--url", bridge.url, "--secret", SAMPLE_SECRET, "--type", "validation")
    assert result.returncode == 0 and "validated" in result.stdout


def test_tail_prints_new_events_as_they_arrive_and_ctrl_c_stops_it_within_2s_on_busy_cpus(bridge, busy_cpus):
    with running_tail(bridge.env, "--kind", "complaint") as tail:
        sent = tool(
            bridge, "send-test", "--url", bridge.url, "--secret", SAMPLE_SECRET, "--type", "complaint"
        )
        assert sent.returncode == 0
        tail.wait_for(tail.out, "complaint  partition")
        took = tail.ctrl_c()
        assert tail.process.returncode == 0, tail.read(tail.err)
        assert took <= CTRL_C_BOUND, f"tail took {took:.2f}s to stop after Ctrl-C"
        assert tail.read(tail.out).count("complaint  partition") == 1  # only the new one, not older records
        assert "Traceback" not in tail.read(tail.err)
        assert "stopped." in tail.read(tail.err)


async def test_the_dedup_example_consumer_skips_a_retried_event(bridge, kafka_bootstrap):
    event = {"Type": "Deferred", "SecretKey": SAMPLE_SECRET, "ServerId": 30117, "MessageId": "retry-me"}
    async with aiohttp.ClientSession() as session:
        for _ in range(2):  # SocketLabs retrying the same post: same event, same event-id
            async with session.post(bridge.url + "/webhook", json=event) as response:
                assert response.status == 200
    records = await read_records(kafka_bootstrap, [f"{bridge.prefix}.deferred"], 10**6, timeout=5)
    ids = [dict(r.headers)["event-id"].decode() for r in records]
    assert len(ids) - len(set(ids)) >= 1

    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "consume_dedup.py"),
            "--bootstrap-servers",
            kafka_bootstrap,
            "--prefix",
            bridge.prefix,
            "--kind",
            "deferred",
            "--group",
            f"{bridge.prefix}-example",
            "--idle-timeout",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(p["event_id"] for p in printed) == sorted(set(ids))
    assert f"{len(set(ids))} events handled, {len(ids) - len(set(ids))} duplicates skipped" in result.stderr
