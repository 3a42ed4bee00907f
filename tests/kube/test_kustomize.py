"""`kubectl apply -k deploy/kubernetes`, with its example Secret, in a namespace enforcing Pod
Security `restricted`: the pods become Ready and the samples posted through the Service land in Kafka."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import SAMPLE_SECRET
from tests.integration.bridge_process import assert_samples_in_kafka, post_every_sample
from tests.kube.cluster import ROOT, Cluster, NodeKafka

KUSTOMIZE_DIR = ROOT / "deploy" / "kubernetes"
EXAMPLE_KEY = "the-secret-key-shown-in-the-socketlabs-webhook-settings"


def overlay(tmp_path: Path, cluster: Cluster, kafka: NodeKafka, prefix: str) -> Path:
    """A copy of deploy/kubernetes set up as its header tells a user to: Kafka's address in
    bridge.toml and the image; here also imagePullPolicy Never (the image is imported, not pulled)."""
    base = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE_DIR, base)
    toml = (base / "bridge.toml").read_text()
    toml = toml.replace(
        'kafka_bootstrap_servers = "kafka:9092"', f'kafka_bootstrap_servers = "{kafka.node_bootstrap}"'
    )
    toml = toml.replace('topic_prefix = "socketlabs"', f'topic_prefix = "{prefix}"')
    assert kafka.node_bootstrap in toml and prefix in toml
    (base / "bridge.toml").write_text(toml)
    repository, tag = cluster.bridge_image.rsplit(":", 1)
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    kustomization["images"] = [{"name": "socketlabs-kafka-bridge", "newName": repository, "newTag": tag}]
    kustomization["patches"] = [
        {
            "target": {"kind": "Deployment", "name": "socketlabs-kafka-bridge"},
            "patch": '[{"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "Never"}]',
        }
    ]
    (base / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return base


@pytest.mark.timeout(600)
async def test_apply_k_serves_the_samples_into_kafka(
    tmp_path: Path, cluster: Cluster, node_kafka: NodeKafka
) -> None:
    prefix = f"kz{time.time_ns() % 10**8}"
    namespace = cluster.namespace("kustomize")
    try:
        base = overlay(tmp_path, cluster, node_kafka, prefix)
        # The manifests have no topics Job: the topics are created as docs/deployment.md says.
        subprocess.run(
            [sys.executable, "-m", "bridge", "topics", "create", "--partitions", "2", "--replication-factor", "1"],
            env={"PATH": "/usr/bin:/bin", "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": node_kafka.bootstrap_servers,
                 "BRIDGE_TOPIC_PREFIX": prefix, "BRIDGE_SECRET_KEY": SAMPLE_SECRET},
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        secret = (KUSTOMIZE_DIR / "secret.example.yaml").read_text()
        assert EXAMPLE_KEY in secret
        cluster.kubectl("-n", namespace, "apply", "-f", "-", stdin=secret.replace(EXAMPLE_KEY, SAMPLE_SECRET))
        started = time.monotonic()
        applied = cluster.kubectl("-n", namespace, "apply", "-k", str(base))
        assert "Warning" not in applied.stderr, applied.stderr
        cluster.kubectl(
            "-n", namespace, "rollout", "status", "deployment/socketlabs-kafka-bridge", "--timeout=300s", timeout=320
        )  # fmt: skip
        print(f"\n[kube] kubectl apply -k: Ready after {time.monotonic() - started:.1f} s", file=sys.stderr)

        replies = await post_every_sample(cluster.service_url(namespace, "socketlabs-kafka-bridge"))
        await assert_samples_in_kafka(node_kafka.bootstrap_servers, prefix, replies)
    finally:
        cluster.delete_namespace(namespace)
