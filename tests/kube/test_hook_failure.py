"""The topics hook refused: `helm install --wait` with `topicsJob.replicationFactor=3` against the
one-broker Kafka fails within a minute, Helm's error names the failed hook, the hook Job is Failed,
and its pods' logs carry the one sentence of `socketlabs-bridge topics create` (issue 23)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from tests.kube.cluster import CHART, Cluster, NodeKafka
from tests.kube.release import Release

REFUSAL = (
    "Replication factor 3 is more than the 1 broker the Kafka cluster has registered; "
    "use --replication-factor 1 or fewer, or add brokers."
)
# A refusal is final: the chart's retries (topicsJob.backoffLimit) must not make Helm wait long for it.
FAILS_WITHIN = 60.0


@pytest.fixture(params=[4, 3], ids=["helm4", "helm3"])
def release(request: pytest.FixtureRequest, cluster: Cluster, node_kafka: NodeKafka) -> Iterator[Release]:
    namespace = cluster.namespace(f"hookfail-helm{request.param}")
    release = Release(cluster, node_kafka, namespace, helm_major=request.param, name="hookfail")
    try:
        yield release
    finally:
        release.helm("uninstall", release.name, "--wait", "--timeout", "2m", check=False)
        cluster.delete_namespace(namespace)


@pytest.mark.timeout(300)
def test_a_refused_replication_factor_fails_the_install_with_the_sentence_in_the_hook_log(
    release: Release,
) -> None:
    cluster = release.cluster
    job = f"{release.fullname}-topics"
    started = time.monotonic()
    # The defaults of values.yaml for the Job (retries, deadline); only the factor is raised.
    done = cluster.helm(
        release.helm_major,
        "install", release.name, str(CHART), "--namespace", release.namespace,
        "--wait", "--timeout", "4m", *release.values(), "--set", "topicsJob.replicationFactor=3",
        check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    error = (done.stderr + done.stdout).strip()
    print(f"\n[kube] helm {release.helm_major} install failed after {took:.1f} s: {error}", file=sys.stderr)
    assert done.returncode != 0, error
    assert "would violate PodSecurity" not in error, error
    assert "pre-install" in error and job in error, error
    assert took < FAILS_WITHIN, f"the refusal took {took:.1f} s to reach Helm"

    # The Job is kept, Failed, and nothing of the release itself was created.
    status = cluster.json("-n", release.namespace, "get", "job", job)["status"]
    failed = [c for c in status.get("conditions", []) if c["type"] == "Failed" and c["status"] == "True"]
    assert failed, status
    assert not status.get("succeeded"), status
    deployments = cluster.json("-n", release.namespace, "get", "deployments")["items"]
    assert deployments == [], [d["metadata"]["name"] for d in deployments]

    # Every attempt's pod is kept and its log is the sentence (stderr), and no topic is listed as created.
    pods = cluster.json("-n", release.namespace, "get", "pods", "-l", f"batch.kubernetes.io/job-name={job}")
    names = [p["metadata"]["name"] for p in pods["items"]]
    assert names, f"no pod of job {job} left to read"
    assert all(p["status"]["phase"] == "Failed" for p in pods["items"]), [p["status"] for p in pods["items"]]
    for name in names:
        log = cluster.kubectl("-n", release.namespace, "logs", name).stdout
        assert log.strip() == f"socketlabs-bridge: {REFUSAL}", log
    print(
        f"[kube] job {job}: {failed[0]['reason']} ({failed[0].get('message', '')}), "
        f"{len(names)} pod(s), log: socketlabs-bridge: {REFUSAL}",
        file=sys.stderr,
    )
