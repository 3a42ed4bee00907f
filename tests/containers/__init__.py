"""Where the container tests run: which Docker engine, how, and whether they must.

Environment (scripts/ci-docker writes it for CI; see docs/development.md):
``DOCKER_HOST``                  the engine (testcontainers and the docker SDK read it too),
``TESTCONTAINERS_HOST_NETWORK=1`` containers use the host's network (an engine without a bridge),
``BRIDGE_TEST_CONTAINERS=required`` fail instead of falling back when the engine does not answer;
``BRIDGE_TEST_CONTAINERS=unavailable: <why>`` CI could not start an engine; the reason is reported.
"""

from __future__ import annotations

import functools
import os


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def host_network() -> bool:
    return _flag("TESTCONTAINERS_HOST_NETWORK")


def containers_required() -> bool:
    return os.environ.get("BRIDGE_TEST_CONTAINERS", "").strip().lower() == "required"


@functools.cache
def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers; else one sentence saying why the container tests cannot run."""
    setting = os.environ.get("BRIDGE_TEST_CONTAINERS", "").strip()
    if setting.lower().startswith("unavailable"):
        return setting.partition(":")[2].strip() or "BRIDGE_TEST_CONTAINERS=unavailable"
    where = os.environ.get("DOCKER_HOST") or "the default socket (DOCKER_HOST unset)"
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=3).ping()
    except Exception as exc:
        return f"no Docker engine answers at {where} ({type(exc).__name__}: {str(exc)[:200]})"
    return None
