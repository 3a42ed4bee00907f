"""The chart's HorizontalPodAutoscaler scaling out on CPU read by metrics-server."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from tests.kube.cluster import Cluster, NodeKafka, wait_until
from tests.kube.release import Release
from tests.loadgen import Load


@pytest.mark.timeout(900)
async def test_the_hpa_scales_out_on_cpu_under_load(cluster: Cluster, node_kafka: NodeKafka) -> None:
    namespace = cluster.namespace("hpa")
    release = Release(cluster, node_kafka, namespace)
    try:
        release.install(
            "--set", "autoscaling.enabled=true", "--set", "autoscaling.minReplicas=1",
            "--set", "autoscaling.maxReplicas=3", "--set", "autoscaling.targetCPUUtilizationPercentage=50",
        )  # fmt: skip
        hpa = f"{release.fullname}"

        def current() -> dict:
            status: dict = cluster.json("-n", namespace, "get", "hpa", hpa)["status"]
            return status

        # metrics-server has read the pod's CPU: the HPA has a current utilisation.
        wait_until("the HPA reads CPU", lambda: current().get("currentMetrics") is not None, 180, every=3)
        started = time.monotonic()
        async with Load(release.url(), concurrency=16, pause=0) as load:
            await asyncio.to_thread(
                wait_until, "the HPA scales out", lambda: current().get("desiredReplicas", 1) > 1, 300, 3
            )
        took = time.monotonic() - started
        status = current()
        print(
            f"\n[kube] HPA: {status['currentMetrics']} -> desired {status['desiredReplicas']} after {took:.0f} s"
            f" of load ({load.statuses()})",
            file=sys.stderr,
        )
        assert status["desiredReplicas"] > 1
    finally:
        release.helm("uninstall", release.name, "--wait", "--timeout", "3m", check=False)
        cluster.delete_namespace(namespace)
