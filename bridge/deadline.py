"""A time limit for the awaits of one request, at a tenth of `asyncio.timeout`'s cost.

Every webhook post bounds two awaits (reading the body, Kafka's acknowledgement). Under uvloop,
`async with asyncio.timeout(s)` costs about 12 µs per use; one `call_later` timer that cancels
the task costs about 1.4 µs (each measured over 50,000 awaits; see docs/performance.md).
The semantics are asyncio.timeout's: when the time is up the task is cancelled, and the
cancellation surfaces as TimeoutError at the end of the `with` block; a cancellation from
elsewhere (shutdown) stays a CancelledError.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Deadline:
    """`with Deadline(seconds): await ...` raises TimeoutError when the awaits take longer."""

    __slots__ = ("_task", "_timer", "expired")

    def __init__(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None, "a Deadline bounds the awaits of a running task"
        self._task = task
        self.expired = False
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self.expired = True
        self._task.cancel()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        # uncancel() == 0: our cancellation was the only one; any other (shutdown) must go on.
        if self.expired and exc_type is asyncio.CancelledError and self._task.uncancel() == 0:
            raise TimeoutError from None
