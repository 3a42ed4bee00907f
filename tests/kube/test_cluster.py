"""The cluster itself: a pod runs in a namespace enforcing Pod Security `restricted`, and is reached
through a Service by name (kube-proxy and CoreDNS)."""

from __future__ import annotations

import json

from tests.kube.cluster import Cluster

# The bridge image has Python: one pod serves HTTP, a second fetches it through the Service's name.
SERVER = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "smoke", "labels": {"app": "smoke"}},
    "spec": {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "http",
                "image": "",
                "imagePullPolicy": "Never",
                "command": ["python", "-m", "http.server", "8000", "--directory", "/opt/bridge"],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8000}, "periodSeconds": 1},
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    },
}


def test_a_restricted_pod_runs_and_is_reached_through_a_service_by_name(cluster: Cluster) -> None:
    namespace = cluster.namespace("smoke")
    try:
        server = json.loads(json.dumps(SERVER))
        server["spec"]["containers"][0]["image"] = cluster.bridge_image
        applied = cluster.kubectl("-n", namespace, "apply", "-f", "-", stdin=json.dumps(server))
        assert "Warning" not in applied.stderr, applied.stderr  # Pod Security admits it silently
        cluster.kubectl("-n", namespace, "expose", "pod", "smoke", "--port", "80", "--target-port", "8000")
        cluster.kubectl(
            "-n", namespace, "wait", "pod/smoke", "--for=condition=Ready", "--timeout=120s", timeout=150
        )

        client = json.loads(json.dumps(SERVER))
        client["metadata"] = {"name": "client"}
        container = client["spec"]["containers"][0]
        container.update(image=cluster.bridge_image, name="client")
        container.pop("readinessProbe")
        container["command"] = [
            "python", "-c",
            f"import urllib.request; print(urllib.request.urlopen('http://smoke.{namespace}.svc/', timeout=20).status)",
        ]  # fmt: skip
        client["spec"]["restartPolicy"] = "Never"
        cluster.kubectl("-n", namespace, "apply", "-f", "-", stdin=json.dumps(client))
        cluster.kubectl(
            "-n", namespace, "wait", "pod/client", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s",
            timeout=150,
        )  # fmt: skip
        assert cluster.kubectl("-n", namespace, "logs", "client").stdout.strip() == "200"
    finally:
        cluster.delete_namespace(namespace)


def test_a_pod_allowing_privilege_escalation_is_refused_by_pod_security(cluster: Cluster) -> None:
    namespace = cluster.namespace("smoke")
    try:
        pod = json.loads(json.dumps(SERVER))
        container = pod["spec"]["containers"][0]
        container["image"] = cluster.bridge_image
        container["securityContext"]["allowPrivilegeEscalation"] = True
        refused = cluster.kubectl("-n", namespace, "apply", "-f", "-", stdin=json.dumps(pod), check=False)
        assert refused.returncode != 0
        assert 'violates PodSecurity "restricted:latest"' in refused.stderr
    finally:
        cluster.delete_namespace(namespace)
