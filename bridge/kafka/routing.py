"""Which producer of the publisher's pool takes a record.

aiokafka keeps one produce request in flight per broker and producer: a record handed to a
producer that awaits an answer waits for it, then for a round trip of its own. With a few
producers (each with its own connections), posts that arrive together each find an idle one and
travel at once. When all are busy, the record joins its key's producer, where it batches with
the others that wait there, and a MessageId keeps to one producer whenever that costs no wait.

Order is not at stake: two posts in flight at once have no order (their senders did not wait
for each other), and a post sent after another's 200 is produced after it on any producer; the
partition still comes from the key alone (`bridge/kafka/partitioner.py`).
"""

from __future__ import annotations

from asyncio import Future
from collections.abc import Callable
from functools import partial


class Router:
    """Counts each producer's records not yet settled by aiokafka, and picks one for the next."""

    __slots__ = ("_released", "pending")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one producer")
        self.pending = [0] * size
        # One done callback per producer, made once: a record's future calls it when settled.
        self._released: list[Callable[[Future[object]], None]] = [
            partial(self._settled, slot) for slot in range(size)
        ]

    def pick(self, key: bytes | None) -> int:
        """The key's own producer if it is idle, else the first idle one, else the key's own; the
        record counts as pending there from now on (`hold` or `release` it)."""
        pending = self.pending
        slot = home = hash(key) % len(pending)  # bytes hash: computed once per key object, cached
        if pending[home]:
            for idle, count in enumerate(pending):
                if count == 0:
                    slot = idle
                    break
        pending[slot] += 1
        return slot

    def hold(self, slot: int, future: Future[object]) -> None:
        """The record stays pending on `slot` until aiokafka settles its future (acknowledged,
        failed or expired), not merely until its post gives up waiting."""
        future.add_done_callback(self._released[slot])

    def release(self, slot: int) -> None:
        """The record never reached the producer (its send raised)."""
        self.pending[slot] -= 1

    def _settled(self, slot: int, _future: Future[object]) -> None:
        self.pending[slot] -= 1
