"""Time limits for the awaits of every request, kept by one timer per limit length.

Each webhook post bounds two awaits: reading its body, and Kafka's acknowledgement. With
`asyncio.timeout` that is a timer armed and cancelled per await, and even a per-request
`call_later` showed in profiles (docs/performance.md, "Second round"). But every limit of one kind has the same length, so limits expire in the
order they were set: a FIFO queue swept by one periodic timer finds the expired ones at the
front, and setting a limit is an append.

The semantics are asyncio.timeout's, to within one sweep tick: when the time is up the task is
cancelled, and the cancellation surfaces as TimeoutError at the end of the `with` block; a
cancellation from elsewhere (shutdown) stays a CancelledError.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

TICK = 0.05  # seconds between sweeps: a limit fires up to this much late


class Deadlines:
    """`with deadlines.limit(): await ...` raises TimeoutError after `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._queue: deque[Limit] = deque()
        self._sweeping: asyncio.TimerHandle | None = None

    def limit(self) -> Limit:
        loop = asyncio.get_running_loop()
        limit = Limit(asyncio.current_task(), loop.time() + self.seconds)  # type: ignore[arg-type]
        self._queue.append(limit)
        if self._sweeping is None:
            self._sweeping = loop.call_later(TICK, self._sweep, loop)
        return limit

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        queue, now = self._queue, loop.time()
        while queue and (queue[0].finished or queue[0].expires_at <= now):
            limit = queue.popleft()
            if not limit.finished:
                limit.expired = True
                limit.task.cancel()
        # Idle bridges keep no timer running; the next limit starts the sweeps again.
        self._sweeping = loop.call_later(TICK, self._sweep, loop) if queue else None


class Limit:
    __slots__ = ("expired", "expires_at", "finished", "task")

    def __init__(self, task: asyncio.Task[object], expires_at: float) -> None:
        self.task = task
        self.expires_at = expires_at
        self.finished = False
        self.expired = False

    def __enter__(self) -> Limit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.finished = True
        # uncancel() == 0: our cancellation was the only one; any other (shutdown) must go on.
        if self.expired and exc_type is asyncio.CancelledError and self.task.uncancel() == 0:
            raise TimeoutError from None
