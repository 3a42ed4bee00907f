"""Which producer of the publisher's pool takes a record.

aiokafka keeps one produce request in flight per broker and producer: a record handed to a
producer that awaits an answer waits for it, then for a round trip of its own. With a few
producers (each with its own connections), posts that arrive together each find an idle one and
travel at once. Once as many records are out as there are producers, the sender is busy enough
to batch: every further record joins the first producer, where it travels with the others that
wait there, as with one producer (spreading them instead cost CPU per event at saturation,
docs/performance.md, "A pool of producers"). A MessageId keeps to its own producer when that is idle.

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
        """While fewer records are out than producers: the key's own producer if it is idle, else
        the first idle one. Otherwise the first producer. The record counts as pending there
        from now on (`hold` or `release` it)."""
        pending = self.pending
        slot = 0
        if sum(pending) < len(pending):  # then at least one producer is idle
            slot = hash(key) % len(pending)  # bytes hash: computed once per key object, cached
            if pending[slot]:
                slot = pending.index(0)
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
