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

    __slots__ = ("_settled", "pending")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one producer")
        self.pending = [0] * size
        # One done callback per producer, made once: a record's future calls it when settled.
        self._settled: list[Callable[[Future[object]], None]] = [
            partial(self._settle, slot) for slot in range(size)
        ]

    def pick(self, key: bytes | None) -> int:
        """The key's own producer if it is idle, else the first idle one, else the key's own."""
        pending = self.pending
        home = hash(key) % len(pending)  # bytes hash: computed once per key object, cached
        if pending[home] == 0:
            return home
        for slot, count in enumerate(pending):
            if count == 0:
                return slot
        return home

    def taken(self, slot: int, future: Future[object]) -> None:
        """Producer `slot` holds the record of `future` until the broker answers or it fails."""
        self.pending[slot] += 1
        future.add_done_callback(self._settled[slot])

    def _settle(self, slot: int, _future: Future[object]) -> None:
        self.pending[slot] -= 1
