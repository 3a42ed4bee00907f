"""The chart's ServiceMonitor and PrometheusRule against prometheus-operator's real CRDs
(server-side apply)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from tests.deploy.validate import CRD_FILES
from tests.kube.cluster import CHART, Cluster, NodeKafka, wait_until
from tests.kube.release import Release


def established(cluster: Cluster, crd: str) -> bool:
    conditions = cluster.json("get", "crd", crd).get("status", {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


@pytest.fixture(scope="module")
def crds(cluster: Cluster) -> Iterator[None]:
    files = sorted(str(path) for path in CRD_FILES.values())
    for path in files:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", path)
    for crd in ("servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"):
        # Polled: `kubectl wait` fails outright on a CRD created a moment ago (no conditions yet).
        wait_until(f"{crd} Established", lambda crd=crd: established(cluster, crd), 60)
    yield
    for path in files:
        cluster.kubectl("delete", "-f", path, "--ignore-not-found")


def monitoring_objects(release: Release) -> list[dict]:
    rendered = release.cluster.helm(
        4, "template", release.name, str(CHART), "--namespace", release.namespace, *release.values(),
        "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true",
    ).stdout  # fmt: skip
    objects = [
        o for o in yaml.safe_load_all(rendered) if o and o["apiVersion"].startswith("monitoring.coreos.com/")
    ]
    assert sorted(o["kind"] for o in objects) == ["PrometheusRule", "ServiceMonitor"]
    return objects


def test_the_service_monitor_and_prometheus_rule_are_accepted_by_the_real_crds(
    cluster: Cluster, node_kafka: NodeKafka, crds: None
) -> None:
    namespace = cluster.namespace("monitoring")
    try:
        release = Release(cluster, node_kafka, namespace)
        for obj in monitoring_objects(release):
            document = yaml.safe_dump(obj)
            applied = cluster.kubectl(
                "-n", namespace, "apply", "--server-side", "--field-manager=slkb-test", "--validate=strict", "-f", "-",
                stdin=document,
            )  # fmt: skip
            assert "serverside-applied" in applied.stdout, applied.stdout
            stored = cluster.json("-n", namespace, "get", obj["kind"].lower(), obj["metadata"]["name"])
            assert stored["spec"] == obj["spec"]  # nothing pruned: every field is one the CRD knows

            # The CRD's schema is really enforced: an unknown field is refused.
            bad = yaml.safe_load(document)
            bad["spec"]["notAField"] = True
            refused = cluster.kubectl(
                "-n", namespace, "apply", "--server-side", "--validate=strict", "-f", "-",
                stdin=yaml.safe_dump(bad), check=False,
            )  # fmt: skip
            assert refused.returncode != 0 and "notAField" in refused.stderr, refused.stderr
    finally:
        cluster.delete_namespace(namespace)
