"""Which producer of the publisher's pool takes a record.

aiokafka keeps one produce request in flight per broker and producer: a record handed to a
producer that awaits an answer waits for it, then for a round trip of its own. With a few
producers (each with its own connections), posts that arrive together each find an idle one and
travel at once. Once as many records are out as there are producers, the sender is busy enough
to batch: every further record joins the first producer, where it travels with the others that
wait there, as with one producer (spreading them instead cost CPU per event at saturation,
docs/performance.md, "A pool of producers"). A MessageId keeps to its own producer when that is
idle.

A record that travels alone costs a produce request of its own. That is worth it only when the
wait it saves is long and the process has CPU to spare, so the router spreads only while both
hold: the broker's quick acknowledgements take at least SPREAD_ABOVE seconds (`ack_seconds`,
measured on acknowledged records that found their producer idle), and `watch_load` sees the
event loop wanting less than most of a core. Otherwise every record joins the first producer's
batch, as with one producer.

Order is not at stake: two posts in flight at once have no order (their senders did not wait
for each other), and a post sent after another's 200 is produced after it on any producer; the
partition still comes from the key alone (`bridge/kafka/partitioner.py`).
"""

from __future__ import annotations

import asyncio
import os
import time
from asyncio import Future
from collections.abc import Callable
from functools import partial

# Spread records over the pool only while the event loop wanted less than this share of a core
# over the last LOAD_INTERVAL seconds (docs/performance.md, "Spreading only when it pays").
SPREAD_BELOW = 0.75
LOAD_INTERVAL = 0.1
# ... and only while the quickest acknowledgements take at least this long: on a broker that
# answers sooner (the loopback) the wait saved is smaller than the cost of the extra requests.
SPREAD_ABOVE = 0.001
# How fast `ack_seconds` follows slower acknowledgements (a quicker one is taken at once): it
# tracks the network's quick answers, not the ones a busy event loop got round to late.
ACK_RISE = 0.05


class Router:
    """Counts each producer's records not yet settled by aiokafka, and picks one for the next."""

    __slots__ = ("_released", "_started", "_timing", "ack_seconds", "pending", "spreading")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one producer")
        self.pending = [0] * size
        self.spreading = True  # False while the process is busy (`watch_load`)
        # Seconds from handing a record to an idle producer to its settling; unknown at first.
        self.ack_seconds = float("inf")
        self._started = [0.0] * size  # when a producer that was idle took its record, else 0
        self._timing = size > 1  # a pool of one has nothing to choose: no acknowledgement to time
        # One done callback per producer, made once: a record's future calls it when settled.
        self._released: list[Callable[[Future[object]], None]] = [
            partial(self._settled, slot) for slot in range(size)
        ]

    def pick(self, key: bytes | None) -> int:
        """While spreading (the CPU to spare, acknowledgements slow enough) and fewer records
        are out than producers: the key's own producer if it is idle, else the first idle one.
        Otherwise the first producer. The record counts as pending there from now on (`hold` or
        `release` it)."""
        pending = self.pending
        slot = 0
        if (
            self.spreading
            and self.ack_seconds >= SPREAD_ABOVE
            and sum(pending) < len(pending)  # then at least one producer is idle
        ):
            slot = hash(key) % len(pending)  # bytes hash: computed once per key object, cached
            if pending[slot]:
                slot = pending.index(0)
        if self._timing and not pending[slot]:  # it leaves at once: its settling times an acknowledgement
            self._started[slot] = time.perf_counter()
        pending[slot] += 1
        return slot

    def hold(self, slot: int, future: Future[object]) -> None:
        """The record stays pending on `slot` until aiokafka settles its future (acknowledged,
        failed or expired), not merely until its post gives up waiting."""
        future.add_done_callback(self._released[slot])

    def release(self, slot: int) -> None:
        """The record never reached the producer (its send raised)."""
        self.pending[slot] -= 1
        self._started[slot] = 0.0

    def _settled(self, slot: int, future: Future[object]) -> None:
        self.pending[slot] -= 1
        started = self._started[slot]
        if started:
            self._started[slot] = 0.0
            if future.cancelled() or future.exception() is not None:
                return  # a refusal or an expiry says nothing of how soon the broker acknowledges
            seconds = time.perf_counter() - started
            estimate = self.ack_seconds
            self.ack_seconds = seconds if seconds < estimate else estimate + (seconds - estimate) * ACK_RISE


async def watch_load(router: Router, interval: float = LOAD_INTERVAL) -> None:
    """Keep `router.spreading` true only while this thread (the event loop's) wanted a core for
    less than SPREAD_BELOW of the time: under saturation a request per record would cost the CPU
    that the batching saves, and the round trips it would save are short beside the queue.

    "Wanted a core" is time run plus time waiting to run (Linux's schedstat), so a process that
    shares its cores with a broker or a noisy neighbour counts as busy too; elsewhere CPU time.
    """
    loop = asyncio.get_running_loop()
    try:
        schedstat: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    except OSError:
        schedstat = None

    def demand_ns() -> int:
        if schedstat is None:
            return time.thread_time_ns()
        run, wait, _ = os.pread(schedstat, 128, 0).split()
        return int(run) + int(wait)

    try:
        demand, wall = demand_ns(), loop.time()
        while True:
            await asyncio.sleep(interval)
            now_demand, now_wall = demand_ns(), loop.time()
            router.spreading = now_demand - demand < SPREAD_BELOW * 1e9 * (now_wall - wall)
            demand, wall = now_demand, now_wall
    finally:
        if schedstat is not None:
            os.close(schedstat)
