"""A rolling upgrade under load, through the Service: every 200 is in Kafka exactly once, the only
other answer is 503 with Retry-After, connections refused are counted and none is reset mid-request. Then the same with a pod killed outright."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.kube.cluster import Cluster, NodeKafka, wait_until
from tests.kube.release import Release
from tests.loadgen import Answer, Load, read_event_ids


@pytest.fixture(scope="module")
def installed(cluster: Cluster, node_kafka: NodeKafka) -> Iterator[Release]:
    namespace = cluster.namespace("roll")
    release = Release(cluster, node_kafka, namespace)
    release.install()
    yield release
    release.helm("uninstall", release.name, "--wait", "--timeout", "3m", check=False)
    cluster.delete_namespace(namespace)


def summary(answers: list[Answer]) -> str:
    statuses = Counter(a.status for a in answers)
    errors = Counter(a.error for a in answers if a.status == 0)
    return f"{len(answers)} posts, statuses {dict(statuses)}, no answer: {dict(errors)}"


async def check_answers(release: Release, load: Load) -> Counter[int]:
    """Every 200 in Kafka exactly once; every other answer a 503 with Retry-After, or no answer."""
    statuses = load.statuses()
    assert statuses[200] > 0
    assert set(statuses) <= {200, 503, 0}, summary(load.answers)
    assert all(a.retry_after for a in load.answers if a.status == 503)
    in_kafka = await read_event_ids(release.kafka.bootstrap_servers, release.topics)
    acknowledged = load.event_ids()
    assert len(acknowledged) == statuses[200]  # unique MessageIds: one event id per 200
    assert {event_id: in_kafka[event_id] for event_id in acknowledged if in_kafka[event_id] != 1} == {}
    return statuses


@pytest.mark.timeout(900)
async def test_a_rolling_upgrade_under_load_loses_nothing_and_refuses_no_connection(
    installed: Release,
) -> None:
    release = installed
    before = set(release.ready_pods())
    async with Load(release.url(), concurrency=8, pause=0.02) as load:
        await asyncio.sleep(3)
        # A configuration change: the ConfigMap's checksum changes, so every pod is replaced.
        took = await asyncio.to_thread(release.upgrade, "--set", "config.logLevel=DEBUG")
        await asyncio.sleep(3)
    after = set(release.ready_pods())
    assert len(after) == 2 and not after & before, (before, after)
    await check_answers(release, load)
    print(f"\n[kube] roll: helm upgrade --wait {took:.1f} s; {summary(load.answers)}", file=sys.stderr)
    # Zero in the runs of docs/deployment.md, but one CI run (a 5 s preStop sleep then) saw 144 connections
    # refused within about a second: counted and reported, not hidden. A refused connection reached
    # no bridge, so nothing was lost and the sender retries it; a reset would have cut a request.
    errors = Counter(a.error for a in load.answers if a.status == 0)
    assert set(errors) <= {"ClientConnectorError"}, summary(load.answers)


@pytest.mark.timeout(900)
async def test_a_pod_killed_outright_under_load_loses_no_acknowledged_event(installed: Release) -> None:
    release = installed
    cluster = release.cluster
    victim = release.ready_pods()[0]
    async with Load(release.url(), concurrency=8, pause=0.02) as load:
        await asyncio.sleep(3)
        await asyncio.to_thread(
            cluster.kubectl, "-n", release.namespace, "delete", "pod", victim, "--grace-period=0", "--force"
        )
        took = await asyncio.to_thread(
            wait_until, "two Ready pods again", lambda: len(release.ready_pods()) == 2, 180
        )
        await asyncio.sleep(3)
    assert victim not in release.ready_pods()
    await check_answers(release, load)
    # Requests in flight on the killed pod cannot be answered: they are counted, not hidden.
    print(f"\n[kube] force-deleted pod: replaced in {took:.1f} s; {summary(load.answers)}", file=sys.stderr)
