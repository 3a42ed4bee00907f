"""A `socketlabs-bridge serve` subprocess for integration tests, and a reader of its topics.

Shared by every integration test that needs a running bridge: `RunningBridge(bootstrap)` gives
a unique topic prefix and free ports; `run(...)` runs any other subcommand with the same
environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid

from aiokafka import AIOKafkaConsumer

from tests.helpers import SAMPLE_SECRET, free_port


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
