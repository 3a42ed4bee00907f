"""A `socketlabs-bridge serve` subprocess for integration tests, and a reader of its topics.

Shared by every integration test that needs a running bridge: `RunningBridge(bootstrap)` gives
a unique topic prefix and free ports; `run(...)` runs any other subcommand with the same
environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import aiohttp
from aiokafka import AIOKafkaConsumer

from tests.helpers import KINDS, SAMPLE_KINDS, SAMPLE_SECRET, expected_value, free_port, sample


class RunningBridge:
    def __init__(self, bootstrap: str, **env: str) -> None:
        self.prefix = f"it{uuid.uuid4().hex[:8]}"
        self.port, self.admin_port = free_port(), free_port()
        self.env = {
            "PATH": os.environ["PATH"],
            "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "BRIDGE_SECRET_KEY": SAMPLE_SECRET,
            "BRIDGE_TOPIC_PREFIX": self.prefix,
            "BRIDGE_LISTEN": f"127.0.0.1:{self.port}",
            "BRIDGE_ADMIN_LISTEN": f"127.0.0.1:{self.admin_port}",
            **env,
        }
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a pipe nobody reads fills up and blocks the bridge's logging.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the object)

    def topics(self) -> list[str]:
        """The bridge's event topics (read at call time: a test may set `prefix` after start-up)."""
        return [f"{self.prefix}.{kind}" for kind in KINDS]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def start(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", *args], env=self.env, stderr=self.log
        )

    def wait_ready(self, timeout: float = 60) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, "the bridge exited"
            try:
                with urllib.request.urlopen(self.admin_url + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except Exception as exc:  # not listening yet, or 503 not ready
                last = str(exc)
            time.sleep(0.3)
        raise AssertionError(f"the bridge did not become ready in {timeout}s: {last}")

    def stop(self) -> tuple[int, str]:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.seek(0)
        return self.process.returncode, self.log.read().decode()


CTRL_C_BOUND = 2.0  # seconds from SIGINT to exit that `tail` promises, loaded machine or not


class Tail:
    """`socketlabs-bridge tail` as a user runs it; stdout and stderr in files a test can read."""

    def __init__(self, process: subprocess.Popen[str], out: TextIO, err: TextIO) -> None:
        self.process, self.out, self.err = process, out, err

    def read(self, handle: TextIO) -> str:
        handle.seek(0)
        return handle.read()

    def wait_for(self, handle: TextIO, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.read(handle):
            assert self.process.poll() is None, self.read(self.err)
            assert time.monotonic() < deadline, f"no {text!r} from tail in {timeout}s: {self.read(self.err)}"
            time.sleep(0.05)

    def ctrl_c(self) -> float:
        """Press Ctrl-C; the seconds until tail exited (it is killed after 30)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        return time.monotonic() - started


@contextmanager
def running_tail(env: dict[str, str], *args: str) -> Iterator[Tail]:
    """Start tail, wait until it reads (its "Ctrl-C stops." line), kill it after the test if needed."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "tail", *args], env=env, stdout=out, stderr=err, text=True
        )
        tail = Tail(process, out, err)
        try:
            tail.wait_for(err, "Ctrl-C stops")
            yield tail
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def read_records(bootstrap: str, topics: list[str], count: int, timeout: float = 30) -> list:
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records.extend(messages)
    finally:
        await consumer.stop()
    return records


async def post_every_sample(url: str) -> dict[str, dict]:
    """Every shared sample posted to `url` + /webhook, each answered 200; the replies by sample."""
    replies = {}
    async with aiohttp.ClientSession() as session:
        for name in sorted(SAMPLE_KINDS):
            body, content_type = sample(name)
            async with session.post(
                url + "/webhook", data=body, headers={"Content-Type": content_type}
            ) as answer:
                assert answer.status == 200, await answer.text()
                replies[name] = await answer.json()
    return replies


async def assert_samples_in_kafka(bootstrap: str, prefix: str, replies: dict[str, dict]) -> None:
    """Each sample that is an event is in Kafka as the contract says, found by its reply's event id."""
    produced = {n: k for n, k in SAMPLE_KINDS.items() if k is not None}
    records = await read_records(bootstrap, [f"{prefix}.{kind}" for kind in KINDS], len(produced))
    assert len(records) == len(produced)  # Validation posts produce nothing
    by_id = {dict(r.headers)["event-id"].decode(): r for r in records}
    for name, kind in produced.items():
        record = by_id[replies[name]["event_id"]]
        assert record.topic == f"{prefix}.{kind}"
        assert json.loads(record.value) == expected_value(name)
        assert SAMPLE_SECRET.encode() not in record.value
