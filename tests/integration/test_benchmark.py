"""The benchmark as a smoke test: 10 seconds of wrk load on one bridge, then every event answered
200 must be in Kafka exactly once. Throughput is printed, never asserted (CI machines are noisy).

About 20 s: bridge start-up ~3 s, 1 s warm-up, 10 s of load, reading the topics back ~2 s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_event_answered_200_is_in_kafka_once(kafka_bootstrap: str, tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: the benchmark smoke test needs the Debian package `wrk`.")
    results = tmp_path / "results.json"
    command = [sys.executable, "-m", "bench", "bridge", "--bootstrap", kafka_bootstrap]
    command += ["--duration", "10", "--warmup", "1", "--connections", "16", "--json", str(results)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    print(run.stdout)
    assert run.returncode == 0, f"benchmark failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    (result,) = json.loads(results.read_text())
    verdict = result["verdict"]
    assert verdict["answered_200"] > 100, f"too few events answered 200 to prove anything: {result}"
    assert verdict["missing"] == 0 and verdict["duplicated"] == 0
    assert verdict["found_once"] == verdict["answered_200"]
    assert result["exit_code"] == 0, "the bridge did not stop cleanly"
