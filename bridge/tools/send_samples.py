"""`socketlabs-bridge send-test`: post sample events like SocketLabs' Event Tester, and measure.

Prints each answer (or a progress bar when there are many), then a summary: rate, latency
percentiles and the count of each status. Exit 0 only when every post got a 200.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import TextIO

import aiohttp
import orjson

from bridge.tools.samples import KIND_ALIASES, SAMPLE_KINDS, form_body, sample_event

LIST_EACH_UP_TO = 20  # more posts than this: a progress bar instead of one line per post


@dataclass(frozen=True, slots=True)
class Answer:
    kind: str
    status: int
    seconds: float
    detail: str  # the event id of a 200, else the error code and message


class Unreachable(Exception):
    """The URL could not be reached at all: a runtime failure, not a per-post status."""


def expand_kinds(kinds: list[str]) -> list[str]:
    """`all` is every mail kind; `sent` is delivered; order kept, duplicates dropped."""
    out: list[str] = []
    for kind in kinds:
        for k in SAMPLE_KINDS if kind == "all" else (KIND_ALIASES.get(kind, kind),):
            if k not in out:
                out.append(k)
    return out


def run_send_test(
    url: str,
    secret: str,
    kinds: list[str],
    *,
    count: int = 1,
    form: bool = False,
    concurrency: int = 1,
    timeout: float = 10.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    # Looked up at call time, not import time, so a redirected sys.stdout/stderr is honoured.
    out, err = out or sys.stdout, err or sys.stderr
    plan = [kind for _ in range(count) for kind in expand_kinds(kinds)]
    listing = len(plan) <= LIST_EACH_UP_TO
    progress = Progress(len(plan), err) if not listing and err.isatty() else None
    started = time.perf_counter()
    try:
        answers = asyncio.run(
            _post_all(url, secret, plan, form, concurrency, timeout, out, listing, progress)
        )
    except Unreachable as exc:
        if progress:
            progress.done()
        print(f"socketlabs-bridge: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        print("socketlabs-bridge: interrupted.", file=err)
        return 1
    elapsed = time.perf_counter() - started
    if progress:
        progress.done()
    out.write(summary(answers, elapsed, concurrency))
    return 0 if all(a.status == 200 for a in answers) else 1


async def _post_all(
    url: str,
    secret: str,
    plan: list[str],
    form: bool,
    concurrency: int,
    timeout: float,
    out: TextIO,
    listing: bool,
    progress: Progress | None,
) -> list[Answer]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in plan:
        queue.put_nowait(kind)
    answers: list[Answer] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            answer = await post_one(session, url, secret, queue.get_nowait(), form)
            answers.append(answer)
            if listing:
                out.write(
                    f"{answer.kind:<12} {answer.status}  {answer.seconds * 1000:7.1f} ms  {answer.detail}\n"
                )
                out.flush()
            elif progress:
                progress.update(answers)

    client_timeout = aiohttp.ClientTimeout(total=timeout)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=client_timeout, connector=connector) as session:
        # gather cancels nothing on its own: a TaskGroup stops every worker at the first Unreachable.
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(concurrency, len(plan))):
                    group.create_task(worker(session))
        except* Unreachable as failures:
            raise failures.exceptions[0] from None
    return answers


async def post_one(session: aiohttp.ClientSession, url: str, secret: str, kind: str, form: bool) -> Answer:
    event = sample_event(kind, secret)
    if form:
        body, content_type = form_body(event).encode(), "application/x-www-form-urlencoded"
    else:
        body, content_type = orjson.dumps(event), "application/json"
    started = time.perf_counter()
    try:
        async with session.post(url, data=body, headers={"Content-Type": content_type}) as response:
            text = await response.read()
            status = response.status
    except aiohttp.ClientConnectorError as exc:
        errno = exc.os_error.errno
        reason = os.strerror(errno).lower() if errno else str(exc.os_error)
        raise Unreachable(f"Cannot reach {url} ({reason}).") from None
    except TimeoutError:
        raise Unreachable(f"{url} did not answer within the timeout.") from None
    except aiohttp.ClientError as exc:
        raise Unreachable(f"Posting to {url} failed ({type(exc).__name__}).") from None
    return Answer(kind, status, time.perf_counter() - started, _detail(status, text))


def _detail(status: int, body: bytes) -> str:
    try:
        reply = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:120].decode(errors="replace").strip()
    if not isinstance(reply, dict):
        return ""
    if status == 200:
        if "event_id" in reply:
            return f"event-id {reply['event_id']} -> {reply.get('topic')}"
        return "validated" if reply.get("type") == "Validation" else ""
    return f"{reply.get('error', '')}: {reply.get('message', '')}"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil, at least the first
    return ordered[int(rank) - 1]


def summary(answers: list[Answer], elapsed: float, concurrency: int) -> str:
    if not answers:
        return "nothing posted\n"
    latencies = [a.seconds * 1000 for a in answers]
    statuses = Counter(a.status for a in answers)
    status_text = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    return (
        f"posted {len(answers)} event{'s' if len(answers) != 1 else ''} in {elapsed:.2f} s ({len(answers) / elapsed:.1f}/s, "
        f"concurrency {concurrency})\n"
        f"latency p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms\n"
        f"status {status_text}\n"
    )


class Progress:
    """A one-line progress bar on a terminal, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream, self._drawn = total, stream, 0.0

    def update(self, answers: list[Answer]) -> None:
        now = time.monotonic()
        if now - self._drawn < 0.1 and len(answers) < self.total:
            return
        self._drawn = now
        done = len(answers)
        bad = sum(1 for a in answers if a.status != 200)
        filled = int(30 * done / self.total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total}  non-200: {bad}")
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
