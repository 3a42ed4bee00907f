"""What we ship is what we tested: the built image, run as the Helm chart's Deployment runs it.

The image is built from this work tree (scripts/build-image) and started with the pod's settings:
the chart's command and arguments, user 10001, a read-only root file system with a writable /tmp
only, every capability dropped, the Secret and the ConfigMap mounted as read-only directories and
their files named by BRIDGE_SECRET_KEY_FILE / BRIDGE_CONFIG, the bootstrap servers in the environment. It runs
with host networking (CI's engine has no bridge), so its listeners go on free ports (set in the
mounted TOML) rather than the chart's 8080/9090, which may be taken on a shared machine.
Where no Docker engine answers the test is skipped, saying why; with BRIDGE_TEST_CONTAINERS=required
(CI) it fails instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.containers import containers_required, docker_unavailable_reason
from tests.helpers import SAMPLE_SECRET, free_port
from tests.integration.bridge_process import assert_samples_in_kafka, post_every_sample

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
IMAGE = "socketlabs-kafka-bridge:test"
# As helm/socketlabs-kafka-bridge/templates (deployment.yaml, _helpers.tpl) render the pod: the
# ConfigMap and Secret mounted read-only as directories, BRIDGE_CONFIG / BRIDGE_SECRET_KEY_FILE
# naming files in them, `socketlabs-bridge serve --workers 1`, user and group 10001.
CONFIG_DIR, CONFIG_PATH = "/etc/socketlabs-bridge/config", "/etc/socketlabs-bridge/config/bridge.toml"
SECRETS_DIR, SECRET_PATH = "/etc/socketlabs-bridge/secrets", "/etc/socketlabs-bridge/secrets/secret-key"
COMMAND, ARGS = ["socketlabs-bridge"], ["serve", "--workers", "1"]


def _docker_client() -> Any:
    reason = docker_unavailable_reason()
    if reason:
        if containers_required():
            pytest.fail(f"BRIDGE_TEST_CONTAINERS=required, but {reason}", pytrace=False)
        pytest.skip(f"container tests did not run: {reason}")
    import docker  # type: ignore[import-untyped]

    return docker.from_env(timeout=120)


@pytest.fixture(scope="module")
def image(announce: Callable[[str, str], None]) -> Iterator[Any]:
    client = _docker_client()
    started = time.monotonic()
    build = subprocess.run(
        [str(ROOT / "scripts" / "build-image"), IMAGE], capture_output=True, text=True, timeout=900
    )
    assert build.returncode == 0, f"scripts/build-image failed:\n{build.stdout}\n{build.stderr[-3000:]}"
    for line in build.stdout.splitlines():
        announce(line.removeprefix("[build-image] "), "image")
    announce(f"{IMAGE} ready in {time.monotonic() - started:.0f} s", "image")
    yield client.images.get(IMAGE)
    client.close()


def test_image_is_non_root_with_the_charts_entry_point_and_ports(image):
    config = image.attrs["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["socketlabs-bridge"]
    assert config["Cmd"] == ["serve"]
    assert set(config["ExposedPorts"]) == {"8080/tcp", "9090/tcp"}


@dataclass
class Pod:
    container: Any
    prefix: str
    url: str
    admin_url: str


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def pod(image, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pod]:
    client = _docker_client()
    prefix = f"img{uuid.uuid4().hex[:8]}"
    port, admin_port = free_port(), free_port()
    config_dir, secrets_dir = tmp_path_factory.mktemp("config"), tmp_path_factory.mktemp("secrets")
    (config_dir / "bridge.toml").write_text(
        f'topic_prefix = "{prefix}"\nlisten = "127.0.0.1:{port}"\nadmin_listen = "127.0.0.1:{admin_port}"\n'
        'log_format = "json"\n'
    )
    (secrets_dir / "secret-key").write_text(SAMPLE_SECRET + "\n")
    # The chart's Secret volume: defaultMode 0440, group = the pod's fsGroup (10001).
    os.chown(secrets_dir / "secret-key", 0, 10001)
    (secrets_dir / "secret-key").chmod(0o440)
    (config_dir / "bridge.toml").chmod(0o644)
    for directory in (config_dir, secrets_dir):
        directory.chmod(0o755)
    pod_spec: dict[str, Any] = {
        "network_mode": "host",
        "user": "10001:10001",
        "read_only": True,
        "tmpfs": {"/tmp": "rw,size=16m"},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "environment": {
            "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "BRIDGE_SECRET_KEY_FILE": SECRET_PATH,
            "BRIDGE_CONFIG": CONFIG_PATH,
        },
        "volumes": {
            str(config_dir): {"bind": CONFIG_DIR, "mode": "ro"},
            str(secrets_dir): {"bind": SECRETS_DIR, "mode": "ro"},
        },
    }
    # The chart's optional hook Job: the same image, `topics create`.
    job = client.containers.run(image.id, ["topics", "create"], entrypoint=COMMAND, detach=True, **pod_spec)
    try:
        result = job.wait(timeout=120)
        output = job.logs().decode()
    finally:
        job.remove(force=True)
    assert result["StatusCode"] == 0, output
    assert f"{prefix}.delivered: created" in output

    container = client.containers.run(image.id, ARGS, entrypoint=COMMAND, detach=True, **pod_spec)
    try:
        running = Pod(container, prefix, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}")
        deadline = time.monotonic() + 60
        status, body = 0, ""
        while time.monotonic() < deadline and status != 200:
            container.reload()
            assert container.status == "running", container.logs().decode()[-3000:]
            with contextlib.suppress(OSError):  # not listening yet (URLError is an OSError)
                status, body = _get(running.admin_url + "/readyz")
            time.sleep(0.3)
        assert status == 200, (
            f"/readyz never answered 200 ({status} {body}):\n{container.logs().decode()[-3000:]}"
        )
        yield running
    finally:
        container.remove(force=True)  # no-op once the SIGTERM test removed it
        client.close()


async def test_every_sample_through_the_container_lands_in_kafka(pod, kafka_bootstrap):
    replies = await post_every_sample(pod.url)
    await assert_samples_in_kafka(kafka_bootstrap, pod.prefix, replies)


def test_probes_and_metrics_answer_on_the_admin_port(pod):
    assert _get(pod.admin_url + "/healthz")[0] == 200
    assert _get(pod.admin_url + "/readyz")[0] == 200
    status, metrics = _get(pod.admin_url + "/metrics")
    assert status == 200
    assert f'bridge_events_produced_total{{topic="{pod.prefix}.delivered"}}' in metrics


def test_sigterm_stops_the_container_cleanly_and_the_logs_hold_no_secret(pod):
    started = time.monotonic()
    pod.container.stop(timeout=30)  # SIGTERM, as the kubelet sends; SIGKILL only after 30 s
    took = time.monotonic() - started
    pod.container.reload()
    state = pod.container.attrs["State"]
    logs = pod.container.logs().decode()
    assert state["ExitCode"] == 0, f"exit code {state['ExitCode']} after SIGTERM:\n{logs[-3000:]}"
    assert took < 25, f"docker stop took {took:.0f} s: SIGTERM was not acted on promptly"
    assert SAMPLE_SECRET not in logs, "the secret key reached a log line"
    assert "ana.lima@example.net" not in logs, "an email address reached a log line unmasked"
    lines = [line for line in logs.splitlines() if line.strip()]
    assert lines and all(json.loads(line) for line in lines), "every log line is one JSON object"
