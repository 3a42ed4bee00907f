"""Deadline: asyncio.timeout's semantics for one request's awaits, with one cheap timer."""

from __future__ import annotations

import asyncio
import time

import pytest

from bridge.deadline import Deadline


async def test_an_await_past_the_deadline_raises_timeout_error_in_time() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError), Deadline(0.05):
        await asyncio.sleep(5)
    assert 0.04 <= time.monotonic() - started < 1.0
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_an_await_within_the_deadline_returns_its_result_and_leaves_no_timer() -> None:
    with Deadline(0.05) as deadline:
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)  # the timer was cancelled: nothing cancels this task later
    assert not deadline.expired


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def request() -> None:
        with Deadline(5):
            await asyncio.sleep(5)

    task = asyncio.create_task(request())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
