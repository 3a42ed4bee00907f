"""The benchmark's moving parts: event templates, the servers under test, wrk, /proc sampling,
and the check that every event answered 200 is in Kafka exactly once.

Each scenario gets its own topic prefix, so the records of one cannot be mistaken for another's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bridge.core.events import EVENT_KINDS
from bridge.tools.localkafka import free_ports
from bridge.tools.samples import SAMPLE_KINDS, sample_event

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret-key-0123456789"
MARKER = "\x00MESSAGEID\x00"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def topics(prefix: str) -> list[str]:
    return [f"{prefix}.{kind.value}" for kind in EVENT_KINDS]


async def create_topics(bootstrap: str, prefix: str, partitions: int, replication_factor: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        answer = await admin.create_topics(
            [NewTopic(t, partitions, replication_factor) for t in topics(prefix)]
        )
    finally:
        await admin.close()
    # Kafka refuses a topic inside a successful answer (error code per topic).
    refused = [f"{topic} (error {code})" for topic, code, *_ in answer.topic_errors if code]
    if refused:
        raise SystemExit(f"Kafka refused to create {', '.join(refused)}.")


def write_templates(path: Path, body_bytes: int) -> int:
    """A Lua file of {prefix, suffix} pairs, one per kind, padded to about `body_bytes` with
    realistic `Data.Meta` key/value pairs (what a sender attaches to its messages). Returns the
    mean body size."""
    sizes = []
    lines = ["return {"]
    for kind in SAMPLE_KINDS:
        event = sample_event(kind, SECRET, message_id=MARKER)
        data = event.setdefault("Data", {"Meta": [], "Tags": ["bench"]})
        data["Meta"] = list(data["Meta"])
        n = 0
        while len(json.dumps(event)) + 24 < body_bytes:  # 24: the MessageId wrk fills in
            n += 1
            data["Meta"].append({"Key": f"Attribute{n:03d}", "Value": f"value-{n:03d}-" + "x" * 40})
        text = json.dumps(event, separators=(",", ":"))
        prefix, suffix = text.split(json.dumps(MARKER)[1:-1])
        sizes.append(len(text) + 16)
        lines.append(f"  {{{lua_string(prefix)}, {lua_string(suffix)}}},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
    return sum(sizes) // len(sizes)


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- processes -----------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the bridge's `--workers` children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                queue.extend(int(c) for c in children)
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size in MB."""
    rss = hwm = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, hwm


@dataclass
class Sampler:
    """Samples CPU and memory of a process tree every `interval` seconds in a thread."""

    root: int
    interval: float = 0.5
    samples: list[tuple[float, dict[int, float]]] = field(default_factory=list)  # (t, {pid: rss})
    peak: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in descendants(self.root))

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now: dict[int, float] = {}
            for pid in self.workers():
                rss, hwm = rss_mb(pid)
                now[pid] = rss
                self.peak[pid] = max(self.peak.get(pid, 0.0), hwm)
            self.samples.append((time.monotonic(), now))

    def workers(self) -> list[int]:
        """The processes that serve requests: the children when there are any, else the root."""
        tree = descendants(self.root)
        return tree[1:] or tree


@dataclass
class Target:
    """A server under test: the bridge (`workers` processes), the baseline, or the Go stand-in for
    Redpanda Connect (bench/connect/)."""

    name: str
    kind: str  # "bridge", "baseline" or "connect"
    workers: int = 1
    body_bytes: int = 1024
    env: dict[str, str] = field(default_factory=dict)

    def command(self, port: int, bootstrap: str, prefix: str) -> list[str]:
        if self.kind == "baseline":
            workers = [] if self.workers == 1 else [str(self.workers)]
            return [
                sys.executable,
                "-m",
                "bench.baseline",
                str(port),
                bootstrap,
                prefix,
                "0",
                *workers,
            ]  # linger 0
        if self.kind == "connect":
            return [str(built_binary("connect")), str(port), bootstrap, prefix]
        return [sys.executable, "-m", "bridge", "serve", "--workers", str(self.workers)]


GO_SOURCES = {
    "connect": ("go.mod", "go.sum", "main.go", "config.yaml"),  # the Redpanda Connect stand-in
    "delay": ("go.mod", "main.go"),  # the delaying TCP proxy of bench/sweep.py
}


def built_binary(name: str) -> Path:
    """bench/<name>/ built with `go build`, once per version of its sources: the binary's name
    carries a hash of them, so an edit makes a new build and an unchanged tree reuses the last."""
    source = HERE / name
    digest = hashlib.sha256()
    for file in GO_SOURCES[name]:
        digest.update(file.encode() + b"\0" + (source / file).read_bytes() + b"\0")
    cache = Path.home() / ".cache" / "socketlabs-kafka-bridge" / "bin"
    binary = cache / f"bench-{name}-{digest.hexdigest()[:12]}"
    if binary.exists():
        return binary
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(f"bench/{name}/ is built with Go (>= 1.26): `go` is not on PATH")
    cache.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"{binary.name}.tmp{os.getpid()}")
    result = subprocess.run(
        [go, "build", "-trimpath", "-buildvcs=false", "-o", str(partial), "."],
        cwd=source, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"go build of bench/{name} failed:\n{result.stderr.strip()}")
    partial.replace(binary)  # atomic: a concurrent run never starts a half-written binary
    return binary


class Server:
    def __init__(self, target: Target, bootstrap: str, prefix: str, logdir: Path) -> None:
        self.target = target
        self.port, self.admin_port = free_ports(2)
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        env = {
            **os.environ,
            "PYTHONPATH": str(HERE.parent),  # a target's env may point it at another checkout
            "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "BRIDGE_SECRET_KEY": SECRET,
            "BRIDGE_TOPIC_PREFIX": prefix,
            "BRIDGE_LISTEN": f"127.0.0.1:{self.port}",
            "BRIDGE_ADMIN_LISTEN": f"127.0.0.1:{self.admin_port}",
            "BRIDGE_LOG_LEVEL": "WARNING",
            **target.env,
        }
        self.log = (logdir / f"{target.name}.log").open("wb")
        # Run from the source directory: `python -m` puts the working directory first on sys.path,
        # ahead of PYTHONPATH, so from elsewhere a reference checkout would run this one's code.
        self.process = subprocess.Popen(
            target.command(self.port, bootstrap, prefix),
            env=env,
            cwd=env["PYTHONPATH"],
            stdout=self.log,
            stderr=self.log,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        url = (
            f"http://127.0.0.1:{self.admin_port}/readyz"
            if self.target.kind == "bridge"
            else f"http://127.0.0.1:{self.port}/webhook"  # baseline, connect: POST only
        )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.target.name} exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                if self.target.kind != "bridge" and exc.code == 405:  # listening: GET not allowed
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.target.name} did not become ready in {timeout:g}s")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log.close()
        return code


# --- load ----------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    statuses: Counter[int]
    ids_200: list[str]
    errors: dict[str, int]
    latency_ms: dict[str, float]


def wrk(url: str, templates: Path, tag: str, *, seconds: float, connections: int, threads: int) -> Load:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError(
            "wrk is not installed (Debian package `wrk`; CI installs it from .ci/apt-packages)"
        )
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as out:
        summary_path = Path(out) / "summary.json"
        env = {**os.environ, "BENCH_RUN_TAG": tag, "BENCH_SUMMARY": str(summary_path)}
        command = [
            binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s",
            "-s", str(HERE / "webhook.lua"), url, "--", str(templates), out,
        ]  # fmt: skip
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120)
        if result.returncode != 0 or not summary_path.exists():
            raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout}")
        summary = json.loads(summary_path.read_text())
        statuses: Counter[int] = Counter()
        ids: list[str] = []
        for path in Path(out).glob("responses-*.txt"):
            for line in path.read_text().splitlines():
                status, _, event_id = line.partition(" ")
                statuses[int(status)] += 1
                if status == "200":
                    ids.append(event_id)
    answered = sum(statuses.values())
    if answered != summary["requests"]:
        raise RuntimeError(f"wrk counted {summary['requests']} responses, the script recorded {answered}")
    latency = {k: v / 1000 for k, v in summary["latency_us"].items()}
    return Load(answered, summary["duration_us"] / 1e6, statuses, ids, summary["errors"], latency)


# --- verification --------------------------------------------------------------------------


@dataclass
class Verdict:
    answered_200: int
    found_once: int
    missing: int
    duplicated: int  # ids answered 200 that have more than one record
    records_of_run: int  # records whose MessageId came from this run
    unanswered_records: int  # records of this run whose post was not answered 200 (allowed)
    records_read: int = 0  # every record of the scenario's topics, warm-up included
    missing_examples: list[str] = field(default_factory=list)  # a few, to tell a real loss from a misread

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.duplicated == 0 and self.found_once == self.answered_200


async def read_records(bootstrap: str, prefix: str) -> list[tuple[bytes | None, dict[str, bytes]]]:
    """Every record of the scenario's topics: (key, headers)."""
    # "earliest" as the reset policy too: with the default ("latest") the fetcher may reset a
    # freshly assigned partition to its end after seek_to_beginning, and read nothing.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p) for topic in topics(prefix) for p in await _partitions(consumer, topic)
        ]
        begin = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[tuple[bytes | None, dict[str, bytes]]] = []
        remaining = {tp for tp in partitions if end[tp] > 0}
        deadline = time.monotonic() + 120
        while remaining:
            if time.monotonic() > deadline:
                stalled = {
                    f"{tp.topic}-{tp.partition}": (await consumer.position(tp), end[tp]) for tp in remaining
                }
                raise RuntimeError(f"reading the topics back stalled at (position, end): {stalled}")
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for messages in batch.values():
                for message in messages:
                    records.append((message.key, dict(message.headers)))
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        expected = sum(end[tp] - begin[tp] for tp in partitions)
        if len(records) != expected:  # the producers write no transaction markers: one offset, one record
            raise RuntimeError(f"read back {len(records)} records where the topics hold {expected}")
        return records
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The topic's partitions. A fresh consumer may not have the metadata of a topic created
    moments ago: an empty answer would read nothing and report every 200 as missing."""
    deadline = time.monotonic() + 30
    while not (found := consumer.partitions_for_topic(topic)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {topic} has no partitions in the broker's metadata")
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.2)
    return sorted(found)


def verify(load: Load, records: list[tuple[bytes | None, dict[str, bytes]]], tag: str, by: str) -> Verdict:
    """Each id answered 200 must name exactly one record of this run.

    The bridge's 200 body carries the record's `event-id` header; the baseline's carries the
    MessageId, which is the record key. MessageIds are unique per request (tag-thread-counter),
    so an event-id is unique per request too.
    """
    prefix = f"{tag}-".encode()
    mine = [(key, headers) for key, headers in records if key is not None and key.startswith(prefix)]
    if by == "event-id":
        seen = Counter(headers.get("event-id", b"").decode() for _, headers in mine)
    else:
        seen = Counter((key or b"").decode() for key, _ in mine)
    answered = Counter(load.ids_200)
    found_once = sum(1 for i in answered if seen.get(i) == 1 and answered[i] == 1)
    missing = sum(1 for i in answered if i not in seen)
    duplicated = sum(1 for i in answered if seen.get(i, 0) > 1 or answered[i] > 1)
    unanswered = sum(1 for i in seen if i not in answered)
    examples = [i for i in answered if i not in seen][:3]
    return Verdict(
        len(load.ids_200), found_once, missing, duplicated, len(mine), unanswered, len(records), examples
    )


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)
