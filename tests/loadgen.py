"""A small load generator and a Kafka reader for the fault tests.

`Load` keeps `concurrency` clients posting events with unique `MessageId`s to a running bridge and
records, for every request, when it started, how long it took, the status (0 when the connection
failed or the client gave up) and the `event_id` of a 200. `read_event_ids` reads every record of
some topics up to their end offsets, so a test can check that each 200 has its record.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer

from tests.helpers import SAMPLE_SECRET

# Event types the load rotates through, so several topics (and partitions) take part.
TYPES = ("Queued", "Delivered", "Failed", "Deferred")


@dataclass(frozen=True, slots=True)
class Answer:
    message_id: str
    started: float  # time.monotonic() when the request was sent
    elapsed: float  # seconds until the whole answer was read (or the client gave up)
    status: int  # HTTP status; 0 = no answer (connection refused or reset, client timeout)
    event_id: str | None = None  # from a 200's JSON body
    retry_after: str | None = None
    error: str | None = None  # the error code of a refusal, or the client exception's name
    message: str = ""  # the sentence of a refusal
    kind: str = ""  # the event's Type

    @property
    def finished(self) -> float:
        return self.started + self.elapsed


def event(message_id: str, kind: str = "Queued") -> dict[str, Any]:
    return {
        "Type": kind,
        "SecretKey": SAMPLE_SECRET,
        "MessageId": message_id,
        "ServerId": 30117,
        "Address": "load@example.net",
        "DateTime": "2026-11-26T15:00:00Z",
    }


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Answer:
    started = time.monotonic()
    message_id, kind = body["MessageId"], body["Type"]
    try:
        async with session.post(url, json=body) as response:
            data = await response.json(content_type=None)
            status = response.status
            retry_after = response.headers.get("Retry-After")
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        elapsed = time.monotonic() - started
        return Answer(message_id, started, elapsed, 0, error=type(exc).__name__, kind=kind)
    ok = status == 200
    return Answer(
        message_id,
        started,
        time.monotonic() - started,
        status,
        event_id=data.get("event_id") if ok else None,
        retry_after=retry_after,
        error=None if ok else data.get("error"),
        message="" if ok else data.get("message", ""),
        kind=kind,
    )


@dataclass
class Load:
    """`concurrency` clients posting in a loop, each pausing `pause` seconds between posts."""

    url: str
    concurrency: int = 8
    pause: float = 0.02
    client_timeout: float = 30.0
    types: tuple[str, ...] = TYPES
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._run = uuid.uuid4().hex[:8]
        self._numbers = itertools.count()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Load:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.client_timeout),
            connector=aiohttp.TCPConnector(limit=self.concurrency),
        )
        self._tasks = [asyncio.create_task(self._client()) for _ in range(self.concurrency)]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Let every client finish the request it is in, then stop."""
        self._stop.set()
        await asyncio.gather(*self._tasks)
        self._tasks = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _client(self) -> None:
        assert self._session is not None
        while not self._stop.is_set():
            number = next(self._numbers)
            body = event(f"load-{self._run}-{number}", self.types[number % len(self.types)])
            self.answers.append(await post(self._session, self.url + "/webhook", body))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.pause)

    def statuses(self, answers: Iterable[Answer] | None = None) -> Counter[int]:
        return Counter(a.status for a in (self.answers if answers is None else answers))

    def event_ids(self) -> set[str]:
        """The event ids of every request answered 200."""
        return {a.event_id for a in self.answers if a.status == 200 and a.event_id}


async def read_event_ids(bootstrap: str, topics: Iterable[str], timeout: float = 60) -> Counter[str]:
    """Every record's `event-id` header (with its count) in `topics`, read up to their end offsets."""
    topics = list(topics)
    # Subscribed without a group, the consumer is assigned every partition of the topics.
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    ids: Counter[str] = Counter()
    try:
        async with asyncio.timeout(timeout):
            while {tp.topic for tp in consumer.assignment()} != set(topics):
                await asyncio.sleep(0.1)
        partitions = sorted(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(timeout):
            while any([await consumer.position(tp) < end for tp, end in ends.items()]):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        ids[dict(record.headers)["event-id"].decode()] += 1
    finally:
        await consumer.stop()
    return ids


@dataclass(frozen=True, slots=True)
class SlowAnswer:
    started: float  # time.monotonic() when the headers were sent
    status: int  # 0 = no answer (reset, timeout)
    latency: float  # seconds from sending the headers to the status line
    early: bool  # answered before the client had sent its whole body
    retry_after: str | None = None


async def slow_post(
    host: str,
    port: int,
    body: bytes,
    timeout: float,
    connected: list[int],
    go: asyncio.Event,
    release: asyncio.Event,
    refused: list[int],
) -> SlowAnswer:
    """A slow client: connects, waits for `go`, sends the headers and half the body, then waits
    for `release` (at most `timeout` s) before the rest.

    A bridge that is over its in-flight cap answers before reading the body (`refused` gets a 1);
    one that took the request answers once the body is complete. `connected` gets a 1 once the
    connection is open.
    """
    head = (
        f"POST /webhook HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return SlowAnswer(time.monotonic(), 0, 0.0, early=False)
    connected.append(1)
    await go.wait()
    sent = time.monotonic()
    try:
        writer.write(head + body[: len(body) // 2])
        await writer.drain()
        status_line = asyncio.ensure_future(reader.readline())
        released = asyncio.ensure_future(release.wait())
        await asyncio.wait({status_line, released}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        released.cancel()
        early = status_line.done() and not release.is_set()
        if early:
            refused.append(1)
        else:
            writer.write(body[len(body) // 2 :])
            await writer.drain()
        line = await asyncio.wait_for(status_line, timeout)
        latency = time.monotonic() - sent
        retry_after = None
        while (header := await asyncio.wait_for(reader.readline(), timeout)).strip():
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "retry-after":
                retry_after = value.strip()
        parts = line.split()
        return SlowAnswer(sent, int(parts[1]) if len(parts) > 1 else 0, latency, early, retry_after)
    except (OSError, TimeoutError, ValueError):
        return SlowAnswer(sent, 0, time.monotonic() - sent, early=False)
    finally:
        writer.close()
