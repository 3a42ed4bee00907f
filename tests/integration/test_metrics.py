"""Metrics checked for real: two workers, promtool, and a real Prometheus server scraping them.

One `serve --workers 2` bridge serves the module: the shared samples and a few refused posts go
in once, then every test reads the numbers back its own way.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.mmap_dict import MmapedDict

from tests.helpers import SAMPLE_KINDS, SAMPLE_SECRET, free_port, sample
from tests.integration.bridge_process import RunningBridge
from tests.integration.probes import (
    create_bridge_topics,
    get,
    json_lines,
    log_lines,
    metric,
    required_tool,
    wait_for,
)

pytestmark = pytest.mark.integration
PRODUCED = sum(1 for kind in SAMPLE_KINDS.values() if kind is not None)  # 12 of the 14 samples
EXTRA = 30  # more events, each on a new connection, so both workers take some


class Workers(RunningBridge):
    metrics_dir: str
    pids: list[int]


def per_worker(metrics_dir: str, pid: int, prefix: str, name: str) -> float:
    """One worker's own value of `name`, read from its file in the multiprocess directory."""
    total = 0.0
    for path in glob.glob(os.path.join(metrics_dir, f"{prefix}_{pid}.db")):
        for key, value, _, _ in MmapedDict.read_all_values_from_file(path):
            if json.loads(key)[1] == name:
                total += value
    return total


@pytest.fixture(scope="module")
def workers(kafka_bootstrap: str) -> Iterator[Workers]:
    running = Workers(kafka_bootstrap)
    asyncio.run(create_bridge_topics(running.env))
    running.start("--workers", "2")
    started = wait_for(
        lambda: [e for e in json_lines(log_lines(running.log)) if e["message"] == "workers started"],
        30,
        "the parent's 'workers started' line",
    )[0]
    running.metrics_dir, running.pids = started["metrics_dir"], started["workers"]
    assert len(running.pids) == 2 and os.path.isdir(running.metrics_dir)
    running.wait_ready()
    # Ready means every worker's own readiness gauge is 1, not just the one /readyz reached.
    wait_for(
        lambda: all(
            per_worker(running.metrics_dir, pid, "gauge_livemin", "bridge_kafka_ready") == 1
            for pid in running.pids
        ),
        30,
        "both workers ready",
    )
    try:
        yield running
    finally:
        code, stderr = running.stop()
        assert code == 0, stderr[-2000:]
        # The parent created the metrics directory, so it removes it.
        assert not os.path.exists(running.metrics_dir)


@pytest.fixture(scope="module")
def posted(workers: Workers) -> int:
    """Post the shared samples, EXTRA more events and three refusals; return the events produced."""
    asyncio.run(post_everything(workers))
    return PRODUCED + EXTRA


async def post_delivered(workers: Workers, count: int, tag: str) -> None:
    """`count` Delivered events, each on a new connection, which SO_REUSEPORT hands to either worker."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        for i in range(count):
            event = {
                "Type": "Delivered",
                "SecretKey": SAMPLE_SECRET,
                "MessageId": f"{tag}-{i}",
                "ServerId": 1,
            }
            async with session.post(workers.url + "/webhook", json=event) as response:
                assert response.status == 200, await response.text()


async def post_everything(workers: Workers) -> None:
    # force_close: a new connection per post, which SO_REUSEPORT hands to either worker.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        for name in sorted(SAMPLE_KINDS):
            body, content_type = sample(name)
            headers = {"Content-Type": content_type}
            async with session.post(workers.url + "/webhook", data=body, headers=headers) as response:
                assert response.status == 200, await response.text()
    await post_delivered(workers, EXTRA, "w")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        for event in ({"Type": "Delivered", "SecretKey": "wrong"}, {"Type": "Delivered"}):
            async with session.post(workers.url + "/webhook", json=event) as response:
                assert response.status == 401
        async with session.post(workers.url + "/webhook", data=b"[not json") as response:
            assert response.status == 400


def test_every_scrape_counts_every_workers_events(workers: Workers, posted: int) -> None:
    # Both workers took events, so one worker's own numbers would be short of the total.
    own = [
        per_worker(workers.metrics_dir, pid, "counter", "bridge_events_produced_total")
        for pid in workers.pids
    ]
    assert sum(own) == posted and all(n > 0 for n in own), own
    for _ in range(8):  # a fresh connection each: any worker may answer
        status, text = get(workers.admin_url + "/metrics")
        assert status == 200
        assert metric(text, "bridge_events_produced_total") == posted
        assert metric(text, "bridge_events_produced_total", topic=f"{workers.prefix}.delivered") == 2 + EXTRA
        assert metric(text, "bridge_events_received_total", webhook="default", kind="click") == 2
        assert metric(text, "bridge_http_requests_total", code="200") == posted + 2  # + 2 validations
        assert metric(text, "bridge_http_requests_total", code="401") == 2
        assert metric(text, "bridge_auth_failures_total", reason="wrong_secret") == 1
        assert metric(text, "bridge_auth_failures_total", reason="missing_secret") == 1
        assert metric(text, "bridge_produce_latency_seconds_count") == posted
        assert metric(text, "bridge_request_duration_seconds_count") == posted + 5
        assert metric(text, "bridge_inflight_requests") == 0
        assert metric(text, "bridge_kafka_ready") == 1
        assert metric(text, "bridge_build_info") == 1
        # Label values known in advance exist from the start, at zero.
        assert metric(text, "bridge_produce_errors_total", reason="timeout") == 0


def test_promtool_accepts_the_live_metrics(workers: Workers, posted: int) -> None:
    promtool = required_tool("promtool")
    _, text = get(workers.admin_url + "/metrics")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""  # no lint remarks either


def test_a_real_prometheus_scrapes_the_bridge(workers: Workers, posted: int, tmp_path: Path) -> None:
    binary = required_tool("prometheus")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: socketlabs-kafka-bridge\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{workers.admin_port}']}}]\n"
    )
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            api = f"http://127.0.0.1:{port}/api/v1/query?query="

            def query(promql: str) -> list[dict]:
                assert server.poll() is None, "prometheus exited: " + "\n".join(log_lines(log)[-20:])
                status, body = get(api + urllib.parse.quote(promql))
                return json.loads(body)["data"]["result"] if status == 200 else []

            started = time.monotonic()
            result = wait_for(
                lambda: [r for r in query("sum(bridge_events_produced_total)") if float(r["value"][1])],
                30,
                "Prometheus reading bridge_events_produced_total",
            )
            assert float(result[0]["value"][1]) == posted
            by_topic = query(f'bridge_events_produced_total{{topic="{workers.prefix}.delivered"}}')
            assert [float(r["value"][1]) for r in by_topic] == [2 + EXTRA]
            up = query('up{job="socketlabs-kafka-bridge"}')
            assert [r["value"][1] for r in up] == ["1"]
            print(f"Prometheus had the first sample after {time.monotonic() - started:.1f} s")
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_metrics_are_never_on_the_public_listener(workers: Workers) -> None:
    status, _ = get(workers.url + "/metrics")
    assert status in (404, 405)


def test_a_dead_workers_counts_stay_and_its_live_gauges_go(workers: Workers, posted: int) -> None:
    """Last in this module: it kills a worker. Its counts must stay in the totals (counters never
    go backwards), while its in-flight and readiness gauges must stop counting. The parent starts
    a worker in its place, which serves and counts like the others."""
    victim = workers.pids[1]
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: not glob.glob(os.path.join(workers.metrics_dir, f"gauge_live*_{victim}.db")),
        10,
        "the parent dropping the dead worker's live gauges",
    )
    assert os.path.exists(os.path.join(workers.metrics_dir, f"counter_{victim}.db"))
    _, text = get(workers.admin_url + "/metrics")
    assert metric(text, "bridge_events_produced_total") == posted
    died = [e for e in json_lines(log_lines(workers.log)) if e["message"] == "a worker exited on its own"]
    assert [(e["level"], e["pid"], e["exit_code"]) for e in died] == [("ERROR", victim, -9)]

    [replacement] = wait_for(
        lambda: [e["pid"] for e in json_lines(log_lines(workers.log)) if e["message"] == "worker restarted"],
        10,
        "the parent starting a worker in the dead one's place",
    )
    assert replacement not in workers.pids
    wait_for(
        lambda: per_worker(workers.metrics_dir, replacement, "gauge_livemin", "bridge_kafka_ready") == 1,
        30,
        "the new worker ready",
    )
    _, text = get(workers.admin_url + "/metrics")
    assert metric(text, "bridge_kafka_ready") == 1
    asyncio.run(post_delivered(workers, EXTRA, "r"))
    _, text = get(workers.admin_url + "/metrics")
    assert metric(text, "bridge_events_produced_total") == posted + EXTRA
    assert per_worker(workers.metrics_dir, replacement, "counter", "bridge_events_produced_total") > 0
