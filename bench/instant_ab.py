"""Request-handling CPU without Kafka, A/B: `bench.instant` servers from several checkouts, in turn.

Each round starts every checkout's `bench.instant` server in turn (its source directory first on
sys.path), warms it with 2 s of wrk load, then reads its CPU time from /proc around 8 s of load:
microseconds of CPU per request, every round printed, then the median per checkout. Alternating
is what makes the comparison fair on a machine whose speed drifts within minutes.

Run: python -m bench.instant_ab ROUNDS DIR [DIR ...]   (DIR:bare serves the bare aiohttp handler)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import cpu_seconds, free_ports, write_templates, wrk


def measure(source: str, bare: bool, templates: Path, tag: str) -> tuple[float, float]:
    """(requests per second, µs of CPU per request) of one server."""
    (port,) = free_ports(1)
    command = [sys.executable, "-m", "bench.instant", str(port), *(["--bare"] if bare else [])]
    server = subprocess.Popen(
        command, cwd=source, env={**os.environ, "PYTHONPATH": source}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None and server.stdout.readline(), "the server did not start"
        url = f"http://127.0.0.1:{port}/webhook"
        wrk(url, templates, f"warm{tag}", seconds=2, connections=64, threads=1)
        before = cpu_seconds(server.pid)
        load = wrk(url, templates, f"run{tag}", seconds=8, connections=64, threads=1)
        cpu = cpu_seconds(server.pid) - before
    finally:
        server.terminate()
        server.wait()
    answered = load.statuses.get(200, 0)
    if answered != load.requests:
        raise RuntimeError(f"{source}: {load.requests - answered} answers were not 200")
    return answered / load.seconds, cpu / answered * 1e6


def main(rounds: int, checkouts: list[str]) -> None:
    templates = Path(tempfile.mkdtemp(prefix="bench-ab-")) / "templates.lua"
    write_templates(templates, 1024)
    results: dict[str, list[float]] = {c: [] for c in checkouts}
    for round_ in range(rounds):
        for n, checkout in enumerate(checkouts):
            source, _, flag = checkout.partition(":")
            rate, micros = measure(str(Path(source).resolve()), flag == "bare", templates, f"{round_}x{n}")
            results[checkout].append(micros)
            print(
                f"round {round_ + 1} {checkout}: {rate:.0f} requests/s, {micros:.1f} µs CPU per request",
                flush=True,
            )
    for checkout, values in results.items():
        print(
            f"{checkout}: median {statistics.median(values):.1f} µs ({', '.join(f'{v:.0f}' for v in values)})"
        )


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(int(sys.argv[1]), sys.argv[2:])
