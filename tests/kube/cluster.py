"""The single-node cluster of `scripts/kube up`, as the tests in this folder use it.

CI's .ci/setup.d/70-kube.sh starts the cluster, imports the bridge image built from this tree and
fetches Helm 3 and Helm 4; it hands their paths over in environment variables. Anything missing
fails the test with one sentence saying what to run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.tools.localkafka import LocalKafka

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "socketlabs-kafka-bridge"
SETUP = "run `scripts/kube up` and `scripts/kube load IMAGE` as .ci/setup.d/70-kube.sh does"


def _env(name: str, what: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        why = os.environ.get("SLKB_KUBE", "")
        pytest.fail(why or f"{what} is not known ({name} is unset): {SETUP}.", pytrace=False)
    return value


@dataclass(frozen=True)
class Cluster:
    kubectl_path: str
    kubeconfig: str
    node_ip: str
    bridge_image: str

    @classmethod
    def from_env(cls) -> Cluster:
        if os.environ.get("SLKB_KUBE", "").startswith("unavailable"):
            pytest.fail(os.environ["SLKB_KUBE"], pytrace=False)
        return cls(
            kubectl_path=_env("SLKB_KUBECTL", "kubectl"),
            kubeconfig=_env("KUBECONFIG", "the cluster's kubeconfig"),
            node_ip=_env("SLKB_KUBE_NODE_IP", "the node's address"),
            bridge_image=_env("SLKB_KUBE_BRIDGE_IMAGE", "the bridge image in the cluster"),
        )

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(
            self.kubectl_path,
            "--kubeconfig",
            self.kubeconfig,
            *args,
            check=check,
            timeout=timeout,
            stdin=stdin,
        )

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def helm(
        self, major: int, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        binary = _env(f"SLKB_HELM{major}", f"Helm {major}")
        return run(binary, "--kubeconfig", self.kubeconfig, *args, check=check, timeout=timeout)

    def namespace(self, prefix: str, enforce: str = "restricted") -> str:
        """A new namespace enforcing a Pod Security level (deleted by `delete_namespace`)."""
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.kubectl("create", "namespace", name)
        self.kubectl(
            "label", "namespace", name,
            f"pod-security.kubernetes.io/enforce={enforce}",
            f"pod-security.kubernetes.io/warn={enforce}",
            f"pod-security.kubernetes.io/audit={enforce}",
        )  # fmt: skip
        return name

    def delete_namespace(self, name: str) -> None:
        self.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")

    def service_url(self, namespace: str, name: str, port: str = "http") -> str:
        """The Service's address, once it accepts connections.

        `helm install --wait` and `rollout status` return when the pods are Ready; kube-proxy programs
        the Service's rules a moment later, and until then a connection is refused (a CI run saw it).
        """
        service = self.json("-n", namespace, "get", "service", name)
        number = next(p["port"] for p in service["spec"]["ports"] if p["name"] == port)
        address = (service["spec"]["clusterIP"], number)
        took = wait_until(f"Service {name} accepts connections", lambda: accepts(address), 60, every=0.2)
        if took > 0.1:  # it had to wait: say how long
            print(f"\n[kube] Service {name} accepted connections {took:.1f} s after asked", file=sys.stderr)
        return f"http://{address[0]}:{address[1]}"

    def image_values(self) -> list[str]:
        repository, tag = self.bridge_image.rsplit(":", 1)
        return [
            "--set",
            f"image.repository={repository}",
            "--set",
            f"image.tag={tag}",
            "--set",
            "image.pullPolicy=Never",
        ]


def run(
    *command: str, check: bool = True, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, input=stdin, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}{result.stdout}"
        )
    return result


def accepts(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


def wait_until(what: str, condition: Callable[[], bool], timeout: float = 120, every: float = 1.0) -> float:
    """Poll `condition` until it holds; how long that took. Fails the test after `timeout` s."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(every)
    return time.monotonic() - started


class NodeKafka(LocalKafka):
    """A LocalKafka with a second listener on the node's address (advertised there) for the pods:
    they cannot reach this machine's loopback, where the test itself keeps talking to the broker."""

    def __init__(self, node_ip: str) -> None:
        super().__init__(extra_listeners={"NODE": "PLAINTEXT"})
        self.node_ip = node_ip

    @property
    def node_bootstrap(self) -> str:
        return f"{self.node_ip}:{self.listener_ports['NODE']}"

    def _properties(self) -> dict[str, str]:
        props = super()._properties()
        loopback = f"NODE://127.0.0.1:{self.listener_ports['NODE']}"
        for key in ("listeners", "advertised.listeners"):
            props[key] = props[key].replace(loopback, f"NODE://{self.node_bootstrap}")
        return props
