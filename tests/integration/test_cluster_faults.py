"""Faults of a replicated Kafka cluster while the bridge is under load (three real KRaft nodes).

The topics are made by `topics create`, with its defaults on three brokers unless a test says
otherwise: replication factor 3, min.insync.replicas 2, no unclean leader election. Each test
checks the bridge's promise: every event-id answered 200 is in Kafka exactly once (read back;
the load never posts an event twice, so a second copy could only come from the producer's own
retries), the only other answer is 503 with Retry-After, and it prints the 503 window it
measured (docs/reliability.md quotes them).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from aiokafka.errors import KafkaError

from bridge.tools.localcluster import LocalKafkaCluster
from bridge.tools.localkafka import KAFKA_VERSION, LocalKafkaError
from tests.integration.bridge_process import RunningBridge
from tests.loadgen import TYPES, Answer, Load, event, read_event_ids

pytestmark = pytest.mark.integration

PRODUCE_TIMEOUT = 2.0
MARGIN = 4.0  # slack on timing bounds: two shared cores, three JVMs
LOADED = [f".{t.lower()}" for t in TYPES]  # topic suffixes the load writes to


@pytest.fixture(scope="module")
def _cluster(announce: Callable[[str, str], None]) -> Iterator[LocalKafkaCluster]:
    started = time.monotonic()
    try:
        cluster = LocalKafkaCluster().start()
    except LocalKafkaError as exc:
        error = str(exc)
    else:
        announce(
            f"three-node LocalKafkaCluster {KAFKA_VERSION} at {cluster.bootstrap_servers} "
            f"(up in {time.monotonic() - started:.0f}s)",
            "kafka",
        )
        try:
            yield cluster
        finally:
            cluster.stop()
        return
    pytest.fail(f"No three-node Kafka cluster for the replication tests: {error}", pytrace=False)


@pytest.fixture
def cluster(_cluster: LocalKafkaCluster) -> LocalKafkaCluster:
    """The module's cluster with every node running (a previous test may have left one down)."""
    _cluster.heal()
    return _cluster


@pytest.fixture
def start_bridge(cluster: LocalKafkaCluster) -> Iterator[Callable[..., RunningBridge]]:
    started: list[RunningBridge] = []

    def start(
        prefix: str | None = None,
        create: tuple[str, ...] = ("--partitions", "3"),
        durability: str = "replication factor 3, min.insync.replicas 2",  # `topics create`'s defaults
    ) -> RunningBridge:
        running = RunningBridge(cluster.bootstrap_servers, BRIDGE_PRODUCE_TIMEOUT=str(PRODUCE_TIMEOUT))
        if prefix is None:
            created = running.run("topics", "create", *create)
            assert durability in created.stdout, created.stdout
        else:
            running.prefix = running.env["BRIDGE_TOPIC_PREFIX"] = prefix
        running.start()
        started.append(running)
        running.wait_ready()
        return running

    yield start
    for running in started:
        if running.process is not None and running.process.poll() is None:
            code, stderr = running.stop()
            assert code == 0, stderr[-3000:]


async def partitions(bootstrap: str, names: list[str]) -> list[dict]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return [p for t in await admin.describe_topics(names) for p in t["partitions"]]
    finally:
        await admin.close()


async def busiest_leader(cluster: LocalKafkaCluster, running: RunningBridge) -> int:
    """The node leading the most partitions of the topics under load."""
    loaded = [running.prefix + suffix for suffix in LOADED]
    leaders = Counter(p["leader"] for p in await partitions(cluster.bootstrap_servers, loaded))
    return leaders.most_common(1)[0][0]


async def wait_in_sync(cluster: LocalKafkaCluster, running: RunningBridge, within: float = 90) -> float:
    """Wait until every partition of the bridge's topics has all three replicas in sync."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        found = await partitions(cluster.bootstrap_servers, running.topics())
        if found and all(len(p["isr"]) == 3 for p in found):
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise AssertionError(f"replicas not back in sync within {within:g}s")


async def restart(cluster: LocalKafkaCluster, node: int) -> tuple[float, float]:
    """Restart a node in a thread (the JVM start blocks); return when it began and when it was back."""
    began = time.monotonic()
    await asyncio.to_thread(cluster.restart, node)
    return began, time.monotonic()


async def restart_until_200(
    cluster: LocalKafkaCluster, node: int, load: Load
) -> tuple[float, float, Answer | None]:
    """Restart `node`, then wait (30 s at most) for a 200 to a post sent since the restart began:
    (when it began, when the node was back, that 200 or None). Two more seconds of load follow."""
    began, back = await restart(cluster, node)
    recovered = None
    deadline = time.monotonic() + 30 + MARGIN
    while recovered is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        recovered = first_200(load, after=began)
    await asyncio.sleep(2)
    return began, back, recovered


def refused_while_down(load: Load, killed: float, began: float) -> list[Answer]:
    """The posts sent after the kill and answered before the restart began: each must be a 503."""
    during = [a for a in load.answers if a.started > killed + 0.1 and a.finished < began]
    assert during and all(a.status == 503 for a in during), describe([a for a in during if a.status != 503])
    return during


def down_and_back(during: list[Answer], began: float, back: float, recovered: Answer) -> str:
    reasons = Counter(a.message.split(" (")[0] for a in during).most_common(2)
    return (
        f"{len(during)} posts while down, all 503 ({reasons}); back after {back - began:.0f}s of "
        f"restart, first 200 {recovered.finished - back:+.1f}s after it registered"
    )


def check_answers(load: Load) -> None:
    wrong = [a for a in load.answers if a.status not in (200, 503)]
    assert not wrong, f"answers other than 200/503: {describe(wrong)}"
    refused = [a for a in load.answers if a.status == 503]
    assert all(a.retry_after and int(a.retry_after) > 0 for a in refused), "a 503 without Retry-After"
    slow = [a for a in load.answers if a.elapsed > PRODUCE_TIMEOUT + MARGIN]
    assert not slow, f"answers slower than the produce timeout: {describe(slow)}"


async def check_exactly_once(load: Load, cluster: LocalKafkaCluster, running: RunningBridge) -> str:
    """Every 200's event-id in Kafka once; no event-id twice at all (the load never reposts)."""
    in_kafka = await read_event_ids(cluster.bootstrap_servers, running.topics())
    acknowledged = load.event_ids()
    missing = acknowledged - set(in_kafka)
    assert not missing, f"{len(missing)} of {len(acknowledged)} events answered 200 are not in Kafka"
    twice = {event_id: n for event_id, n in in_kafka.items() if n > 1}
    assert not twice, f"{len(twice)} events are in Kafka more than once: {list(twice.items())[:5]}"
    statuses = load.statuses()
    return (
        f"{len(load.answers)} posts, {statuses[200]} x 200, {statuses[503]} x 503; "
        f"{sum(in_kafka.values())} records for {len(in_kafka)} event ids, none twice "
        f"({len(set(in_kafka) - acknowledged)} of them not answered 200 to the load)"
    )


def window(load: Load, since: float) -> str:
    """The 503s after `since`: how many, from when to when, and the first 200 after the last one."""
    refused = [a for a in load.answers if a.status == 503 and a.finished > since]
    if not refused:
        return "no 503"
    last = max(a.finished for a in refused)
    after = [a.finished for a in load.answers if a.status == 200 and a.started >= last]
    back = f", first 200 {min(after) - since:.1f}s" if after else ""
    return (
        f"{len(refused)} x 503 between {min(a.started for a in refused) - since:.1f}s "
        f"and {last - since:.1f}s{back}"
    )


def only_200s_lately(load: Load, quiet: float = 2.0) -> bool:
    """200s and no 503 for the last `quiet` seconds: healthy partitions answer 200 all along, so a
    200 after a 503 alone does not show that the stalled leader's partitions have moved."""
    recent = [a for a in load.answers if a.finished > time.monotonic() - quiet]
    return bool(recent) and all(a.status == 200 for a in recent)


def timeline(load: Load, since: float) -> str:
    """Answers per second since `since` (by when they finished): `+3s 40x200 2x503`."""
    seconds: dict[int, Counter[int]] = {}
    for a in load.answers:
        if a.finished >= since - 1:
            seconds.setdefault(int(a.finished - since), Counter())[a.status] += 1
    return ", ".join(
        f"+{s}s " + " ".join(f"{n}x{code}" for code, n in sorted(c.items()))
        for s, c in sorted(seconds.items())
    )


def describe(answers: list[Answer]) -> str:
    return "; ".join(f"{a.status} {a.error} {a.message!r} after {a.elapsed:.1f}s" for a in answers[:10])


def first_200(load: Load, after: float, before: float = float("inf")) -> Answer | None:
    ok = [a for a in load.answers if a.status == 200 and after <= a.started and a.finished < before]
    return min(ok, key=lambda a: a.finished) if ok else None


async def test_leader_killed_then_restarted(start_bridge, cluster):
    """SIGKILL the busiest leader: 503s until the controller moves leadership, then 200s on two."""
    running = start_bridge()
    async with Load(running.url, concurrency=8) as load:
        await asyncio.sleep(3)
        node = await busiest_leader(cluster, running)
        killed = time.monotonic()
        cluster.kill(node)
        await asyncio.sleep(10)
        began, back = await restart(cluster, node)
        in_sync = await wait_in_sync(cluster, running)
        await asyncio.sleep(2)
    check_answers(load)
    on_two = first_200(load, after=killed + 0.5, before=began)
    assert on_two is not None, "no 200 while one broker of three was down"
    counts = await check_exactly_once(load, cluster, running)
    print(
        f"\nleader killed (node {node}): {window(load, killed)} after SIGKILL; first 200 on two brokers "
        f"{on_two.finished - killed:.1f}s after it; restart took {back - began:.0f}s, replicas in sync "
        f"{in_sync:.0f}s later, {window(load, began)} after the restart began; {counts}"
    )


async def test_rolling_restart(start_bridge, cluster):
    """Each node in turn stopped cleanly (SIGTERM), restarted, and waited for until in sync."""
    running = start_bridge()
    steps = []
    async with Load(running.url, concurrency=8) as load:
        await asyncio.sleep(3)
        began = time.monotonic()
        for node in sorted(cluster.nodes):
            at, back = await restart(cluster, node)
            in_sync = await wait_in_sync(cluster, running)
            steps.append(f"node {node} {back - at:.0f}s + {in_sync:.0f}s to sync, {window(load, at)}")
        await asyncio.sleep(2)
    check_answers(load)
    ok_during = [a for a in load.answers if a.status == 200 and a.started > began]
    assert ok_during, "no 200 during the rolling restart"
    counts = await check_exactly_once(load, cluster, running)
    print(f"\nrolling restart: {time.monotonic() - began:.0f}s; " + "; ".join(steps) + f"; {counts}")


async def test_active_controller_killed(start_bridge, cluster):
    """SIGKILL the quorum leader: another node becomes controller, writes continue."""
    running = start_bridge()
    async with Load(running.url, concurrency=8) as load:
        await asyncio.sleep(3)
        node = cluster.active_controller()
        killed = time.monotonic()
        cluster.kill(node)
        deadline = time.monotonic() + 20
        while (successor := cluster.active_controller()) == node and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        elected = time.monotonic()
        await asyncio.sleep(max(0.0, killed + 10 - time.monotonic()))
        began, _ = await restart(cluster, node)
        await wait_in_sync(cluster, running)
        await asyncio.sleep(2)
    check_answers(load)
    assert successor != node, f"node {node} still recorded as the controller 20 s after its SIGKILL"
    on_two = first_200(load, after=killed + 0.5, before=began)
    assert on_two is not None, "no 200 while the controller was down"
    counts = await check_exactly_once(load, cluster, running)
    print(
        f"\ncontroller killed (node {node}): node {successor} leads the quorum {elected - killed:.1f}s later; "
        f"{window(load, killed)} after SIGKILL; first 200 {on_two.finished - killed:.1f}s; {counts}"
    )


async def test_two_brokers_down(start_bridge, cluster):
    """Below min.insync.replicas: every post is a 503, never a 200, until one broker is back."""
    running = start_bridge()
    async with Load(running.url, concurrency=8) as load:
        await asyncio.sleep(3)
        down = sorted(cluster.nodes)[:2]
        killed = time.monotonic()
        for node in down:
            cluster.kill(node)
        await asyncio.sleep(10)
        began, back, recovered = await restart_until_200(cluster, down[0], load)
    check_answers(load)
    # Down means before the restart began: once the node's JVM is up it rejoins the quorum and the
    # ISR, and a post may be acknowledged before `restart` has seen the node register (it polls).
    during = refused_while_down(load, killed, began)
    assert recovered is not None, "no 200 within 30 s of the first broker's return"
    counts = await check_exactly_once(load, cluster, running)
    print(f"\ntwo brokers down (nodes {down}): {down_and_back(during, began, back, recovered)}; {counts}")


async def test_in_sync_replicas_below_the_minimum_with_the_quorum_intact(start_bridge, cluster):
    """NOT_ENOUGH_REPLICAS: a topic of two replicas, both required, loses its follower while two of
    the three controllers stay up (so, unlike "two brokers down", the cluster's metadata keeps
    moving and the leader answers). Every post is a 503, never a 200, until the follower is back."""
    running = start_bridge(
        create=("--partitions", "1", "--replication-factor", "2", "--min-insync-replicas", "2"),
        durability="replication factor 2, min.insync.replicas 2",
    )
    topic = f"{running.prefix}.queued"
    (partition,) = await partitions(cluster.bootstrap_servers, [topic])
    (follower,) = [node for node in partition["replicas"] if node != partition["leader"]]
    async with Load(running.url, concurrency=8, types=("Queued",)) as load:
        await asyncio.sleep(3)
        killed = time.monotonic()
        cluster.kill(follower)
        shrunk = None  # when the controller took the follower out of the in-sync replicas
        live = ",".join(n.bootstrap_servers for node, n in cluster.nodes.items() if node != follower)
        while time.monotonic() - killed < 30 + MARGIN:
            try:
                (now,) = await partitions(live, [topic])
            except KafkaError:  # the admin client may still pick the dead node until it is fenced
                pass
            else:
                if follower not in now["isr"]:
                    shrunk = time.monotonic()
                    break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2 * PRODUCE_TIMEOUT)  # posts refused by the leader itself, not only timed out
        began, back, recovered = await restart_until_200(cluster, follower, load)
    check_answers(load)
    assert shrunk is not None, f"node {follower} still in the ISR of {topic} 30 s after it was killed"
    during = refused_while_down(load, killed, began)
    assert recovered is not None, "no 200 within 30 s of the follower's return"
    counts = await check_exactly_once(load, cluster, running)
    print(
        f"\nfollower {follower} of {topic} killed (leader {partition['leader']}): out of the ISR after "
        f"{shrunk - killed:.1f}s; {down_and_back(during, began, back, recovered)}; {counts}"
    )


async def test_broker_stalled_past_the_produce_timeout(start_bridge, cluster):
    """SIGSTOP the busiest leader for 5x the produce timeout: 503s within the timeout, then 200s
    once the controller has fenced it (its heartbeats stop), before it is even resumed."""
    running = start_bridge()
    async with Load(running.url, concurrency=8) as load:
        await asyncio.sleep(3)
        node = await busiest_leader(cluster, running)
        stopped = time.monotonic()
        cluster.pause(node)
        try:
            # At least 5x the produce timeout; longer (up to 30 s) until only 200s come back.
            await asyncio.sleep(5 * PRODUCE_TIMEOUT)
            while time.monotonic() - stopped < 30 and not only_200s_lately(load):
                await asyncio.sleep(0.5)
        finally:
            cluster.resume(node)
        resumed = time.monotonic()
        await wait_in_sync(cluster, running)
        await asyncio.sleep(2)
    print(f"\nstall timeline (node {node}): {timeline(load, stopped)}")
    check_answers(load)
    # Answered before the resume: a 503 still in flight then would finish after it.
    stalled = [a for a in load.answers if a.status == 503 and stopped < a.started and a.finished < resumed]
    assert stalled, "no 503 while the leader was stalled"
    moved = first_200(load, after=max(a.finished for a in stalled), before=resumed)
    assert moved is not None, "no 200 from the other brokers while the leader was stalled"
    counts = await check_exactly_once(load, cluster, running)
    print(
        f"\nleader stalled (node {node}, SIGSTOP {resumed - stopped:.0f}s): {window(load, stopped)} "
        f"after SIGSTOP, slowest 503 {max(a.elapsed for a in stalled):.1f}s; first 200 after the last "
        f"503 {moved.finished - stopped:.1f}s; {counts}"
    )


async def test_partitions_added_while_posting(start_bridge, cluster):
    """3 -> 6 partitions under load: nothing lost or doubled. A producer that has learned of the
    new partitions sends about half the MessageIds elsewhere (to their old partition + 3)."""
    running = start_bridge()
    deferred = f"{running.prefix}.deferred"
    ids = [f"order-{running.prefix}-{n}" for n in range(40)]

    async def place(url: str, reason: str) -> dict[str, int]:
        """Post one Deferred event per id; the partition of each 200."""
        async with aiohttp.ClientSession() as session:
            answers = {}
            for message_id in ids:
                body = {**event(message_id, "Deferred"), "Reason": reason}
                async with session.post(url + "/webhook", json=body) as response:
                    assert response.status == 200, await response.text()
                    answers[message_id] = (await response.json())["partition"]
            return answers

    before = await place(running.url, "first try")
    async with Load(running.url, concurrency=4) as load:
        await asyncio.sleep(2)
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_partitions({t: NewPartitions(6) for t in running.topics()})
        finally:
            await admin.close()
        await asyncio.sleep(3)
    check_answers(load)
    assert load.statuses()[503] == 0, describe([a for a in load.answers if a.status == 503])
    counts = await check_exactly_once(load, cluster, running)
    # The running bridge's readiness probe (every 2 s) sees the new partitions and has every
    # producer of its pool refresh together; a new process knows at once. Both now place each
    # MessageId alike, whichever producer sends it.
    stayed = await place(running.url, "second try, same process")
    fresh = start_bridge(prefix=running.prefix)
    after = await place(fresh.url, "third try, new process")
    moved = {m for m in ids if after[m] != before[m]}
    assert stayed == after, "the running bridge's producers disagree with a new process on partitions"
    assert all(p < 3 for p in before.values()) and all(after[m] == before[m] + 3 for m in moved)
    assert 0 < len(moved) < len(ids), f"{len(moved)} of {len(ids)} keys moved"
    assert len(await partitions(cluster.bootstrap_servers, [deferred])) == 6
    print(
        f"\npartitions added 3 -> 6 under load (2 s before, 3 s after): {counts}; "
        f"{len(moved)} of {len(ids)} MessageIds moved (each to its old partition + 3), in the running "
        f"process as in a new one"
    )
