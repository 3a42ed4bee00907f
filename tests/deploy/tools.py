"""The command-line tools the deployment checks run, found where the setup puts them.

helm and kubectl (whose `kubectl kustomize` is the kustomize) are pinned in .ci/tool-versions and
fetched by scripts/k8s-tools into ~/.cache/socketlabs-kafka-bridge/bin/NAME-VERSION; compose-check
is built by .ci/setup.d/50-compose-check.sh; promtool comes from Debian's `prometheus` package
(.ci/apt-packages). A missing tool fails the test with a sentence saying how to get it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "socketlabs-kafka-bridge"
KUSTOMIZE_DIR = ROOT / "deploy" / "kubernetes"


def cache_bin() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "socketlabs-kafka-bridge" / "bin"


def pinned_versions(name: str) -> list[str]:
    """The versions of `name` in .ci/tool-versions, the default (first row) first."""
    rows = [line.split() for line in (ROOT / ".ci" / "tool-versions").read_text().splitlines()]
    versions = [row[1] for row in rows if row and row[0] == name]
    assert versions, f"{name} is not pinned in .ci/tool-versions"
    return versions


def _require(path: Path, what: str, setup: str) -> str:
    if not os.access(path, os.X_OK):
        pytest.fail(f"{what} is missing ({path}): run `{setup}` (the setup does) to get it.", pytrace=False)
    return str(path)


def k8s_tool(name: str, version: str | None = None) -> str:
    version = version or pinned_versions(name)[0]
    return _require(cache_bin() / f"{name}-{version}", f"{name} {version}", "scripts/k8s-tools")


def helm(version: str | None = None) -> str:
    return k8s_tool("helm", version)


def kubectl() -> str:
    return k8s_tool("kubectl")


def compose_check() -> str:
    source = ROOT / ".ci" / "compose-check"
    digest = hashlib.sha256(
        b"".join((source / name).read_bytes() for name in ("main.go", "go.mod", "go.sum"))
    ).hexdigest()[:12]
    return _require(
        cache_bin() / f"compose-check-{digest}",
        "compose-check (compose-go)",
        "bash .ci/setup.d/50-compose-check.sh",
    )


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is missing: install Debian's `prometheus` package (listed in .ci/apt-packages).",
            pytrace=False,
        )
    return path


def run(*command: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}{result.stdout}"
        )
    return result


def helm_template(*args: str, release: str = "slkb", namespace: str = "bridge") -> list[dict[str, Any]]:
    """`helm template` of the chart; the rendered objects, in order."""
    out = run(helm(), "template", release, str(CHART), "--namespace", namespace, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str, name_suffix: str = "") -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)]
    assert len(matches) == 1, (
        f"expected one {kind}{' *' + name_suffix if name_suffix else ''}, got {len(matches)}"
    )
    return matches[0]


# The values every rendering needs: the chart refuses to render without a webhook secret key.
REQUIRED = ("--set", "secrets.secretKeys[0]=test-secret-key")
