"""The Helm chart's pod, run for real: the bridge started with exactly the command, arguments and
environment the rendered Deployment declares, its ConfigMap and Secret materialised as the files
Kubernetes would mount, against a real Kafka; then the probes it declares must answer, the topics
hook Job must succeed, and the `helm test` pod's script must get its 200.

One liberty: the listeners bind free loopback ports instead of 8080/9090 (other tests share this
machine), through BRIDGE_LISTEN/BRIDGE_ADMIN_LISTEN, after checking that the rendered bridge.toml
binds exactly the containerPorts the probes and the Service use.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy.tools import by_kind, helm_template
from tests.helpers import SAMPLE_SECRET, free_port

pytestmark = pytest.mark.integration


class Pod:
    """One container of a rendered pod spec, as local files and a local process."""

    def __init__(self, spec: dict[str, Any], objects: list[dict[str, Any]], root: Path) -> None:
        self.objects = objects
        [self.container] = spec["containers"]
        self.mounts: dict[str, Path] = {}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in self.container.get("volumeMounts", []):
            local = root / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            self._fill(volumes[mount["name"]], local)
            self.mounts[mount["mountPath"]] = local
        self.root = root

    def _object(self, kind: str, name: str) -> dict[str, Any]:
        return next(o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name)

    def _fill(self, volume: dict[str, Any], local: Path) -> None:
        if "configMap" in volume:
            for key, text in self._object("ConfigMap", volume["configMap"]["name"])["data"].items():
                (local / key).write_text(text)
        elif "secret" in volume:
            for key, b64 in self._object("Secret", volume["secret"]["secretName"])["data"].items():
                (local / key).write_bytes(base64.b64decode(b64))
        else:
            assert "emptyDir" in volume, f"volume kind not simulated: {volume}"

    def local_path(self, path: str) -> str:
        for mount_path, local in self.mounts.items():
            if path == mount_path or path.startswith(mount_path + "/"):
                return str(local) + path[len(mount_path) :]
        return path

    def environment(self, **overrides: str) -> dict[str, str]:
        env = {"PATH": os.environ["PATH"], "HOME": str(self.root)}
        for item in self.container.get("env", []):
            if "value" in item:
                env[item["name"]] = self.local_path(item["value"])
                continue
            ref = item["valueFrom"]["secretKeyRef"]
            data = self._object("Secret", ref["name"])["data"]
            if ref["key"] in data:
                env[item["name"]] = base64.b64decode(data[ref["key"]]).decode()
            else:
                assert ref.get("optional"), f"{item['name']}: the Secret has no {ref['key']}"
        return env | overrides

    def argv(self) -> list[str]:
        command = self.container["command"] + self.container.get("args", [])
        executable = {"socketlabs-bridge": [sys.executable, "-m", "bridge"], "python": [sys.executable]}
        return executable[command[0]] + command[1:]

    def port(self, name: str) -> int:
        return next(p["containerPort"] for p in self.container["ports"] if p["name"] == name)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert process.poll() is None, f"the bridge exited with {process.returncode}"
        if get(url) == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s")


@pytest.fixture(scope="module")
def rendered(kafka_bootstrap: str) -> list[dict[str, Any]]:
    return helm_template(
        "--set", f"secrets.secretKeys[0]={SAMPLE_SECRET}",
        "--set", f"kafka.bootstrapServers={kafka_bootstrap}",
        "--set", f"config.topicPrefix=deploy{uuid.uuid4().hex[:8]}",
        "--set", "topicsJob.enabled=true",
        "--set", "topicsJob.partitions=1",
        "--set", "topicsJob.replicationFactor=1",
    )  # fmt: skip


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="deploy-pod-") as path:
        yield Path(path)


def test_the_rendered_pod_starts_and_its_probes_answer(rendered: list[dict[str, Any]], workdir: Path) -> None:
    hooks = [o for o in rendered if "helm.sh/hook" in o["metadata"].get("annotations", {})]
    job = Pod(by_kind(hooks, "Job")["spec"]["template"]["spec"], rendered, workdir / "job")
    created = subprocess.run(job.argv(), env=job.environment(), capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    assert ".delivered: created" in created.stdout

    pod = Pod(by_kind(rendered, "Deployment")["spec"]["template"]["spec"], rendered, workdir / "pod")
    config = tomllib.loads(Path(pod.environment()["BRIDGE_CONFIG"]).read_text())
    assert config["listen"] == f"0.0.0.0:{pod.port('http')}"
    assert config["admin_listen"] == f"0.0.0.0:{pod.port('admin')}"
    local = {"http": free_port(), "admin": free_port()}
    env = pod.environment(
        BRIDGE_LISTEN=f"127.0.0.1:{local['http']}", BRIDGE_ADMIN_LISTEN=f"127.0.0.1:{local['admin']}"
    )
    assert "BRIDGE_SECRET_KEY" not in env and Path(env["BRIDGE_SECRET_KEY_FILE"]).read_text() == SAMPLE_SECRET

    log = workdir / "bridge.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(pod.argv(), env=env, stderr=stderr)
    try:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get_ = pod.container[probe]["httpGet"]
            port = local[get_["port"]] if isinstance(get_["port"], str) else get_["port"]
            wait_for(f"http://127.0.0.1:{port}{get_['path']}", process)

        test_pod = by_kind(rendered, "Pod")
        tester = Pod(test_pod["spec"], rendered, workdir / "test")
        url = urlsplit(tester.environment()["WEBHOOK_URL"])
        service = by_kind(rendered, "Service")
        [service_port] = [p for p in service["spec"]["ports"] if p["port"] == url.port]
        assert service_port["targetPort"] == "http"
        validation = subprocess.run(
            tester.argv(),
            env=tester.environment(WEBHOOK_URL=f"http://127.0.0.1:{local['http']}{url.path}"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert validation.returncode == 0, validation.stderr
        assert "Validation event: 200 ok" in validation.stderr
    finally:
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=90)
    grace = by_kind(rendered, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert code == 0, log.read_text()[-2000:]
    assert time.monotonic() - started < grace
    assert SAMPLE_SECRET not in log.read_text()
