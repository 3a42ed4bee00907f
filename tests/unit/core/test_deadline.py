"""Deadlines: asyncio.timeout's semantics for every request's awaits, with one sweeping timer."""

from __future__ import annotations

import asyncio
import time

import pytest

from bridge.core.deadline import TICK, Deadlines


async def test_an_await_past_its_limit_raises_timeout_error_in_time() -> None:
    deadlines = Deadlines(0.1)
    started = time.monotonic()
    with pytest.raises(TimeoutError), deadlines.limit():
        await asyncio.sleep(5)
    assert 0.1 <= time.monotonic() - started < 0.1 + TICK + 0.5
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_an_await_within_its_limit_is_not_disturbed_later() -> None:
    deadlines = Deadlines(0.1)
    with deadlines.limit() as limit:
        await asyncio.sleep(0)
    await asyncio.sleep(0.1 + 3 * TICK)  # past the limit: the finished one must not fire
    assert not limit.expired
    assert deadlines._sweeping is None  # idle: no timer left running


async def test_limits_expire_in_order_and_only_the_late_ones() -> None:
    deadlines = Deadlines(0.2)

    async def request(seconds: float) -> str:
        try:
            with deadlines.limit():
                await asyncio.sleep(seconds)
            return "done"
        except TimeoutError:
            return "timeout"

    results = await asyncio.gather(request(5), request(0.01), request(5), request(0.05))
    assert results == ["timeout", "done", "timeout", "done"]


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = Deadlines(5)

    async def request() -> None:
        with deadlines.limit():
            await asyncio.sleep(5)

    task = asyncio.create_task(request())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
