"""deploy/kubernetes: `kubectl kustomize` (the same kustomize, pinned) renders objects valid against
the Kubernetes 1.37 schemas, strict, and the Deployment keeps the chart's contract with the image."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from tests.deploy.tools import KUSTOMIZE_DIR, REQUIRED, by_kind, helm_template, kubectl, run
from tests.deploy.validate import validate_objects


@cache
def built() -> list[dict[str, Any]]:
    out = run(kubectl(), "kustomize", str(KUSTOMIZE_DIR)).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_kustomize_builds_every_manifest_and_each_is_valid() -> None:
    objects = built()
    assert sorted(o["kind"] for o in objects) == [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    assert validate_objects(objects) == []


def test_the_secret_example_is_valid_and_not_deployed() -> None:
    example = yaml.safe_load((KUSTOMIZE_DIR / "secret.example.yaml").read_text())
    assert validate_objects([example]) == []
    assert (
        "secret.example.yaml" not in (KUSTOMIZE_DIR / "kustomization.yaml").read_text().split("resources:")[1]
    )


def test_the_config_map_name_is_hashed_and_mounted() -> None:
    objects = built()
    configmap = by_kind(objects, "ConfigMap")
    volumes = {v["name"]: v for v in by_kind(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert configmap["metadata"]["name"].startswith(
        "socketlabs-kafka-bridge-"
    )  # content hash: edits roll pods
    assert volumes["config"]["configMap"]["name"] == configmap["metadata"]["name"]


def _contract(deployment: dict[str, Any]) -> dict[str, Any]:
    spec = deployment["spec"]["template"]["spec"]
    [container] = spec["containers"]
    return {
        "command": container["command"],
        "args": container["args"],
        "env": [(e["name"], e.get("value")) for e in container["env"]],
        "ports": container["ports"],
        "probes": {k: v for k, v in container.items() if k.endswith("Probe")},
        "mounts": [(m["name"], m["mountPath"]) for m in container["volumeMounts"]],
        "securityContext": container["securityContext"],
        "podSecurityContext": spec["securityContext"],
        "automount": spec["automountServiceAccountToken"],
        "grace": spec["terminationGracePeriodSeconds"],
    }


def test_the_plain_deployment_matches_the_charts_defaults() -> None:
    chart = by_kind(helm_template(*REQUIRED), "Deployment")
    assert _contract(by_kind(built(), "Deployment")) == _contract(chart)
