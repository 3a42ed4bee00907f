import asyncio

import pytest

from bridge.kafka.routing import Router


def key_at_home(router: Router, slot: int) -> bytes:
    """A MessageId whose own producer is `slot`."""
    return next(k for n in range(1000) if hash(k := b"msg-%d" % n) % len(router.pending) == slot)


async def test_an_idle_key_producer_takes_its_key() -> None:
    router = Router(4)
    for slot in range(4):
        assert router.pick(key_at_home(router, slot)) == slot


async def test_a_busy_key_producer_hands_the_record_to_the_first_idle_one() -> None:
    loop = asyncio.get_running_loop()
    router = Router(4)
    router.taken(2, loop.create_future())
    router.taken(0, loop.create_future())
    assert router.pick(key_at_home(router, 2)) == 1


async def test_when_every_producer_is_busy_a_key_keeps_to_its_own() -> None:
    loop = asyncio.get_running_loop()
    router = Router(3)
    for slot in range(3):
        router.taken(slot, loop.create_future())
    for slot in range(3):
        key = key_at_home(router, slot)
        assert [router.pick(key) for _ in range(5)] == [slot] * 5


async def test_as_many_posts_at_once_as_producers_each_get_their_own() -> None:
    """Four connections, four producers: no post waits behind another's produce request."""
    loop = asyncio.get_running_loop()
    router = Router(4)
    key = key_at_home(router, 1)  # the worst case: every post's MessageId has the same producer
    slots = []
    for _ in range(4):
        slot = router.pick(key)
        router.taken(slot, loop.create_future())
        slots.append(slot)
    assert sorted(slots) == [0, 1, 2, 3]


async def test_a_producer_is_busy_until_aiokafka_settles_each_of_its_records() -> None:
    loop = asyncio.get_running_loop()
    router = Router(2)
    acknowledged, failed, cancelled = (loop.create_future() for _ in range(3))
    for future in (acknowledged, failed, cancelled):
        router.taken(1, future)
    assert router.pending == [0, 3]
    acknowledged.set_result(None)
    failed.set_exception(RuntimeError("broker gone"))
    await asyncio.sleep(0)  # done callbacks run on the next loop pass
    assert router.pending == [0, 1]
    assert router.pick(key_at_home(router, 1)) == 0
    cancelled.cancel()
    await asyncio.sleep(0)
    assert router.pending == [0, 0]
    assert router.pick(key_at_home(router, 1)) == 1
    assert failed.exception() is not None  # retrieved: no "never retrieved" warning


async def test_a_pool_of_one_always_picks_it() -> None:
    loop = asyncio.get_running_loop()
    router = Router(1)
    assert router.pick(b"a") == 0
    router.taken(0, loop.create_future())
    assert router.pick(b"b") == 0
    assert router.pick(None) == 0


def test_a_pool_needs_a_producer() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Router(0)
