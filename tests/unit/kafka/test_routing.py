import asyncio
import time

import pytest

from bridge.kafka.routing import Router, watch_load


def key_at_home(router: Router, slot: int) -> bytes:
    """A MessageId whose own producer is `slot`."""
    return next(k for n in range(1000) if hash(k := b"msg-%d" % n) % len(router.pending) == slot)


def test_an_idle_key_producer_takes_its_key() -> None:
    for slot in range(4):
        router = Router(4)
        assert router.pick(key_at_home(router, slot)) == slot
        assert router.pending == [int(n == slot) for n in range(4)]


def test_a_busy_key_producer_hands_the_record_to_the_first_idle_one() -> None:
    router = Router(4)
    router.pick(key_at_home(router, 2))
    router.pick(key_at_home(router, 0))
    assert router.pick(key_at_home(router, 2)) == 1


def test_once_as_many_records_are_out_as_producers_the_rest_batch_on_the_first() -> None:
    """Under load one producer's batches, not one request per producer per round trip."""
    router = Router(3)
    for slot in (2, 1, 0):
        router.pick(key_at_home(router, slot))
    assert router.pending == [1, 1, 1]
    assert [router.pick(key_at_home(router, slot)) for slot in (1, 2)] == [0, 0]
    router.release(2)
    assert router.pick(key_at_home(router, 2)) == 0  # 4 out of 3: batching even beside an idle one
    for _ in range(3):
        router.release(0)
    assert router.pending == [1, 1, 0]  # fewer out than producers: idle ones take records again
    assert router.pick(key_at_home(router, 1)) == 2


def test_as_many_posts_at_once_as_producers_each_get_their_own() -> None:
    """Four connections, four producers: no post waits behind another's produce request."""
    router = Router(4)
    key = key_at_home(router, 1)  # the worst case: every post's MessageId has the same producer
    assert sorted(router.pick(key) for _ in range(4)) == [0, 1, 2, 3]


async def test_a_producer_is_busy_until_aiokafka_settles_each_of_its_records() -> None:
    loop = asyncio.get_running_loop()
    router = Router(2)
    key = key_at_home(router, 1)
    acknowledged, failed, cancelled = (loop.create_future() for _ in range(3))
    for future in (acknowledged, failed, cancelled):
        router.hold(router.pick(key), future)
    assert router.pending == [2, 1]  # the second found its own busy, the third found both busy
    acknowledged.set_result(None)
    failed.set_exception(RuntimeError("broker gone"))
    await asyncio.sleep(0)  # done callbacks run on the next loop pass
    assert router.pending == [1, 0]
    router.ack_seconds = 1.0  # settled within microseconds here: as if the broker were far again
    assert router.pick(key) == 1
    router.release(1)
    cancelled.cancel()
    await asyncio.sleep(0)
    assert router.pending == [0, 0]
    assert router.pick(key) == 1
    assert failed.exception() is not None  # retrieved: no "never retrieved" warning


def test_a_record_whose_send_raised_is_released() -> None:
    router = Router(2)
    key = key_at_home(router, 0)
    slot = router.pick(key)
    router.release(slot)
    assert router.pending == [0, 0]
    assert router.pick(key) == 0


def test_a_pool_of_one_always_picks_it() -> None:
    router = Router(1)
    assert [router.pick(b"a"), router.pick(b"b"), router.pick(None)] == [0, 0, 0]
    assert router.pending == [3]


def test_a_pool_needs_a_producer() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Router(0)


def test_a_busy_process_batches_every_record_on_the_first_producer() -> None:
    """No request of its own per record while the CPU is short: as with one producer."""
    router = Router(4)
    router.spreading = False
    assert [router.pick(key_at_home(router, slot)) for slot in (1, 2, 3)] == [0, 0, 0]
    router.spreading = True
    assert router.pick(key_at_home(router, 2)) == 2


async def test_watch_load_stops_spreading_while_the_process_computes_and_resumes_when_idle() -> None:
    router = Router(4)
    watcher = asyncio.create_task(watch_load(router, interval=0.05))
    try:
        await asyncio.sleep(0)  # the watcher takes its first reading
        spin_until = time.process_time() + 0.2
        while time.process_time() < spin_until:  # a loop pass that uses a whole core
            pass
        await asyncio.sleep(0.01)  # the watcher's sleep is over: it reads the busy interval
        assert router.spreading is False
        await asyncio.sleep(0.15)  # idle intervals
        assert router.spreading is True
    finally:
        watcher.cancel()


def test_a_broker_that_acknowledges_quickly_gets_one_producers_batches() -> None:
    """Spreading saves at most one acknowledgement's wait: not worth a request below 1 ms."""
    router = Router(4)
    router.ack_seconds = 0.0005
    assert [router.pick(key_at_home(router, slot)) for slot in (1, 2, 3)] == [0, 0, 0]
    router.ack_seconds = 0.003
    assert router.pick(key_at_home(router, 2)) == 2


async def test_the_acknowledgement_time_follows_quick_answers_at_once_and_slow_ones_slowly() -> None:
    loop = asyncio.get_running_loop()
    router = Router(2)

    async def acknowledged_after(seconds: float) -> None:
        future = loop.create_future()
        router.hold(router.pick(b"m"), future)
        await asyncio.sleep(seconds)
        future.set_result(None)
        await asyncio.sleep(0)

    assert router.ack_seconds == float("inf")  # unknown: spread until measured
    await acknowledged_after(0.03)
    assert 0.03 <= router.ack_seconds < 0.5
    await acknowledged_after(0.0)
    quick = router.ack_seconds
    assert quick < 0.01
    await acknowledged_after(0.1)  # one answer a busy loop noticed late moves it by a twentieth
    assert quick < router.ack_seconds <= quick + 0.1 * 0.05 + 0.005


async def test_only_a_record_that_found_its_producer_idle_times_an_acknowledgement() -> None:
    loop = asyncio.get_running_loop()
    router = Router(2)
    router.spreading = False  # both records on the first producer
    first, second = loop.create_future(), loop.create_future()
    router.hold(router.pick(b"a"), first)
    router.hold(router.pick(b"b"), second)  # waits behind the first: not a round trip of its own
    await asyncio.sleep(0.02)
    first.set_result(None)
    await asyncio.sleep(0)
    measured = router.ack_seconds
    second.set_result(None)
    await asyncio.sleep(0)
    assert router.ack_seconds == measured >= 0.02


async def test_only_an_acknowledged_record_times_the_broker() -> None:
    """A quick refusal or an expiry would make a distant broker look near (and stop spreading)."""
    loop = asyncio.get_running_loop()
    router = Router(2)
    for settle in (lambda f: f.set_exception(RuntimeError("refused")), lambda f: f.cancel()):
        future = loop.create_future()
        router.hold(router.pick(b"m"), future)
        settle(future)
        await asyncio.sleep(0)
        assert router.ack_seconds == float("inf")
        assert router.pending == [0, 0]
    future = loop.create_future()
    router.hold(router.pick(b"m"), future)
    future.set_result(None)
    await asyncio.sleep(0)
    assert router.ack_seconds < 0.5


def test_a_pool_of_one_times_nothing() -> None:
    router = Router(1)
    router.pick(b"m")
    assert router._started == [0.0]
