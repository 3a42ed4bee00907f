"""Fixtures for the cluster tests: the cluster itself and a Kafka broker its pods can reach."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kube.cluster import Cluster, NodeKafka


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/kube/" in item.nodeid:
            item.add_marker(pytest.mark.kube)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    return Cluster.from_env()


@pytest.fixture(scope="session")
def node_kafka(cluster: Cluster) -> Iterator[NodeKafka]:
    with NodeKafka(cluster.node_ip) as kafka:
        kafka.start()
        yield kafka
