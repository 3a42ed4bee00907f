"""The chart installed for real: `helm install --wait` into a namespace enforcing Pod Security
`restricted`, with Helm 4 and Helm 3; the topics hook first, the samples through the Service into
Kafka, `helm test`, and `helm uninstall` leaving nothing behind."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.integration.bridge_process import assert_samples_in_kafka, post_every_sample
from tests.kube.cluster import Cluster, NodeKafka, wait_until
from tests.kube.release import Release

# What a namespace holds before anything is installed in it; everything else belongs to a release.
NAMESPACE_DEFAULTS = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}


@pytest.fixture(params=[4, 3], ids=["helm4", "helm3"])
def release(request: pytest.FixtureRequest, cluster: Cluster, node_kafka: NodeKafka) -> Iterator[Release]:
    namespace = cluster.namespace(f"chart-helm{request.param}")
    yield Release(cluster, node_kafka, namespace, helm_major=request.param)
    cluster.delete_namespace(namespace)


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def leftovers(cluster: Cluster, namespace: str) -> list[str]:
    """Every object in the namespace that was not there before the install."""
    kinds = cluster.kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name").stdout.split()
    kinds = [k for k in kinds if k not in ("events", "events.events.k8s.io")]
    found = cluster.json("-n", namespace, "get", ",".join(kinds), "--ignore-not-found")
    items = found.get("items", []) if isinstance(found, dict) else []
    return [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in items
        if (o["kind"], o["metadata"]["name"]) not in NAMESPACE_DEFAULTS
    ]


@pytest.mark.timeout(900)
async def test_install_serves_the_samples_into_kafka_then_uninstall_leaves_nothing(release: Release) -> None:
    cluster = release.cluster
    took = release.install()
    print(f"\n[kube] helm {release.helm_major} install --wait: Ready after {took:.1f} s", file=sys.stderr)

    # The hook ran and finished before the Deployment existed (Helm keeps its record in the release).
    status = json.loads(release.helm("status", release.name, "-o", "json"))
    hooks = {h["name"]: h for h in status["hooks"]}
    job = hooks[f"{release.fullname}-topics"]
    assert job["kind"] == "Job" and job["last_run"]["phase"] == "Succeeded", job
    deployment = cluster.json("-n", release.namespace, "get", "deployment", release.fullname)
    # creationTimestamp has whole seconds: compare at that resolution.
    finished = parse_time(job["last_run"]["completed_at"]).replace(microsecond=0)
    assert finished <= parse_time(deployment["metadata"]["creationTimestamp"])
    assert deployment["status"]["readyReplicas"] == 2
    assert len(release.ready_pods()) == 2

    # Every sample through the Service, read back from Kafka as the contract says.
    replies = await post_every_sample(release.url())
    await assert_samples_in_kafka(release.kafka.bootstrap_servers, release.prefix, replies)

    # `helm test`: the chart's own test pod posts a Validation event to the Service by name.
    tested = release.helm("test", release.name, "--timeout", "3m")
    assert "Phase:          Succeeded" in tested or "Phase: Succeeded" in tested, tested

    release.helm("uninstall", release.name, "--wait", "--timeout", "3m")
    # The pods end through their own graceful shutdown (preStop, drain) once their Deployment is gone.
    gone = wait_until(
        "every object of the release gone", lambda: not leftovers(cluster, release.namespace), 120
    )
    print(f"[kube] helm {release.helm_major} uninstall: nothing left {gone:.1f} s later", file=sys.stderr)
