"""A release of the chart in the cluster, configured for the node's Kafka, and what the tests ask of it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from tests.helpers import KINDS, SAMPLE_SECRET
from tests.kube.cluster import CHART, Cluster, NodeKafka


@dataclass
class Release:
    cluster: Cluster
    kafka: NodeKafka
    namespace: str
    helm_major: int = 4
    name: str = "slkb"
    prefix: str = field(default_factory=lambda: f"k{uuid.uuid4().hex[:8]}")

    @property
    def fullname(self) -> str:
        return f"{self.name}-socketlabs-kafka-bridge"

    @property
    def topics(self) -> list[str]:
        return [f"{self.prefix}.{kind}" for kind in KINDS]

    def values(self) -> list[str]:
        port = self.kafka.node_bootstrap.rsplit(":", 1)[1]
        return [
            *self.cluster.image_values(),
            "--set", f"secrets.secretKeys[0]={SAMPLE_SECRET}",
            "--set", f"kafka.bootstrapServers={self.kafka.node_bootstrap}",
            "--set", f"networkPolicy.kafkaPorts[0]={port}",
            "--set", f"config.topicPrefix={self.prefix}",
            "--set", "topicsJob.enabled=true",
            "--set", "topicsJob.partitions=2",
            "--set", "topicsJob.replicationFactor=1",
        ]  # fmt: skip

    def helm(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        """Helm's stdout and stderr; Pod Security warnings (admission says "would violate") fail."""
        done = self.cluster.helm(
            self.helm_major, *args, "--namespace", self.namespace, check=check, timeout=timeout
        )
        output = done.stdout + done.stderr
        assert "would violate PodSecurity" not in output, output
        return output

    def install(self, *extra: str) -> float:
        """`helm install --wait`; the seconds until it returned (every pod Ready)."""
        started = time.monotonic()
        self.helm("install", self.name, str(CHART), "--wait", "--timeout", "8m", *self.values(), *extra)
        return time.monotonic() - started

    def upgrade(self, *extra: str) -> float:
        started = time.monotonic()
        self.helm("upgrade", self.name, str(CHART), "--wait", "--timeout", "8m", "--reuse-values", *extra)
        return time.monotonic() - started

    def url(self) -> str:
        return self.cluster.service_url(self.namespace, self.fullname)

    def pods(self) -> list[dict]:
        selector = f"app.kubernetes.io/instance={self.name},app.kubernetes.io/name=socketlabs-kafka-bridge"
        # The hook Job's and `helm test`'s pods carry a name label of their own: not selected.
        items: list[dict] = self.cluster.json("-n", self.namespace, "get", "pods", "-l", selector)["items"]
        return items

    def ready_pods(self) -> list[str]:
        return [
            p["metadata"]["name"]
            for p in self.pods()
            if "deletionTimestamp" not in p["metadata"]
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        ]
