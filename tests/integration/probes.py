"""Small probes for the observability tests: HTTP gets, /metrics parsing, waiting, real tools."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypeVar

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.core.settings import load_settings
from bridge.kafka.topics import CREATED, REFUSED, create_topics
from tests.integration.bridge_process import RunningBridge

T = TypeVar("T")


def required_tool(name: str, package: str = "prometheus") -> str:
    """The path of a tool the test needs; a missing tool fails the test (CI installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: this test needs Debian's `{package}` package "
            "(listed in .ci/apt-packages; `apt-get install prometheus`).",
            pytrace=False,
        )
    return path


def get(url: str, timeout: float = 5) -> tuple[int, str]:
    """GET on a fresh connection (so with several workers, any worker may answer).

    Status 0 when nothing answers (not listening yet, or any more).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels`, from exposition text."""
    total, found = 0.0, False
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
                found = True
    assert found, f"{name}{labels or ''} is not in the /metrics output"
    return total


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2) -> T:
    """Call `check` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


def log_lines(log_file: object) -> list[str]:
    """What a running process has logged so far (pread: the writer's file offset stays put)."""
    fd = log_file.fileno()  # type: ignore[attr-defined]
    return os.pread(fd, os.fstat(fd).st_size, 0).decode().splitlines()


def json_lines(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


async def create_bridge_topics(env: dict[str, str]) -> list[str]:
    """What `topics create` does for a bridge with this environment, without a process start
    (a Python start with aiokafka costs seconds on a loaded machine; the CLI has its own tests).
    Returns the topics created; fails the test if Kafka refused one."""
    outcomes = await create_topics(load_settings(environ=env), partitions=1, replication_factor=1)
    assert all(o.outcome != REFUSED for o in outcomes), outcomes
    return [o.topic for o in outcomes if o.outcome == CREATED]


def readiness(bridge: RunningBridge) -> tuple[int, str, float]:
    """/readyz's status and body, and the bridge_kafka_ready gauge."""
    status, body = get(bridge.admin_url + "/readyz")
    _, text = get(bridge.admin_url + "/metrics")
    return status, body, metric(text, "bridge_kafka_ready")
