"""One-command benchmark: `python -m bench` (see bench/README.md and docs/performance.md).

Starts a local Apache Kafka, then for each scenario: creates its topics, starts the server under
test, warms it up, drives it with wrk for a fixed time at a fixed concurrency, samples CPU and
memory from /proc, stops it, and reads its topics back to check that every event answered 200
is there exactly once. Prints one table, the ratios against the baseline, and the targets.
Exit status 1 when any 200 is missing from Kafka (or duplicated), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.harness import (
    Sampler,
    Server,
    Target,
    cpu_seconds,
    create_topics,
    read_records,
    run_async,
    verify,
    write_templates,
    wrk,
)
from bridge.tools.localcluster import LocalKafkaCluster
from bridge.tools.localkafka import LocalKafka

SCENARIOS = {
    "baseline": Target("baseline", "baseline"),
    "bridge": Target("bridge", "bridge"),
    "bridge-w2": Target("bridge-w2", "bridge", workers=2),
    "bridge-4k": Target("bridge-4k", "bridge", body_bytes=4096),
    "bridge-16k": Target("bridge-16k", "bridge", body_bytes=16384),
    "baseline-4k": Target("baseline-4k", "baseline", body_bytes=4096),
    "baseline-16k": Target("baseline-16k", "baseline", body_bytes=16384),
    # The bare stack in two processes: what the machine gives two workers at all.
    "baseline-w2": Target("baseline-w2", "baseline", workers=2),
    # Two workers of one producer each: what the pool costs a second worker.
    "bridge-w2-p1": Target("bridge-w2-p1", "bridge", workers=2, env={"BRIDGE_KAFKA_PRODUCERS": "1"}),
    "bridge-p1": Target("bridge-p1", "bridge", env={"BRIDGE_KAFKA_PRODUCERS": "1"}),
    "connect": Target("connect", "connect"),  # bench/connect/: the Redpanda Connect stand-in (Go)
}
DEFAULT = [
    "baseline",
    "bridge",
    "bridge-w2",
    "baseline-w2",
    "bridge-4k",
    "bridge-16k",
    "baseline-16k",
    "connect",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=DEFAULT, help=f"of {', '.join(SCENARIOS)}")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per scenario")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--partitions", type=int, default=3, help="partitions per topic")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the scenario list (interleaved)")
    parser.add_argument(
        "--broker-warmup",
        type=float,
        default=20,
        metavar="SECONDS",
        help="baseline load on a freshly started broker before the first scenario, not reported: "
        "its JIT compiles the produce path under load",
    )
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting a local one")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="start a local three-broker cluster instead of one broker; topics get replication "
        "factor 3 (min.insync.replicas 2): the cost of replication (broker CPU is not sampled)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--reference",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a checkout of another bridge version: adds scenario bridge-ref (then bridge-ref2, ...), "
        "run from that source; repeatable",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="record py-spy profiles of the workers into DIR"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra bridge environment"
    )
    args = parser.parse_args(argv)
    for n, reference in enumerate(args.reference, start=1):
        name = "bridge-ref" if n == 1 else f"bridge-ref{n}"
        SCENARIOS[name] = Target(name, "bridge", env={"PYTHONPATH": str(reference.resolve())})
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    extra_env = dict(item.split("=", 1) for item in args.env)

    print(conditions(args))
    kafka: LocalKafka | LocalKafkaCluster | None = None
    if args.cluster:
        kafka = LocalKafkaCluster(quick_start=False, heap="-Xmx512m").start()
    elif not args.bootstrap:
        kafka = LocalKafka(quick_start=False).start()
    bootstrap = args.bootstrap or kafka.bootstrap_servers  # type: ignore[union-attr]
    results: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as work:
            if kafka is not None and args.broker_warmup > 0:
                # Without this the first scenarios ran while the broker's JIT was still compiling
                # (the broker took 0.6-0.9 of a core, against 0.15 once warm).
                warm = {**vars(args), "duration": args.broker_warmup, "warmup": 1, "profile": None}
                scenario(SCENARIOS["baseline"], bootstrap, Path(work), argparse.Namespace(**warm), None)
            for round_ in range(args.rounds):
                for name in args.scenarios:
                    target = SCENARIOS[name]
                    target.env.update(extra_env)
                    result = scenario(target, bootstrap, Path(work), args, kafka_pid(kafka))
                    result["round"] = round_ + 1
                    results.append(result)
                    print(row(result), flush=True)
    finally:
        if kafka is not None:
            kafka.stop()
    print()
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r["verdict"]["ok"] for r in results) else 1


def kafka_pid(kafka: LocalKafka | LocalKafkaCluster | None) -> int | None:
    process = getattr(kafka, "_proc", None)
    return process.pid if process is not None else None


def scenario(
    target: Target, bootstrap: str, work: Path, args: argparse.Namespace, broker: int | None
) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    run_async(create_topics(bootstrap, prefix, args.partitions, 3 if args.cluster else 1))
    templates = work / f"templates-{target.body_bytes}.lua"
    body = write_templates(templates, target.body_bytes)
    server = Server(target, bootstrap, prefix, work)
    try:
        server.wait_ready()
        sampler = Sampler(server.process.pid)
        sampler.start()
        # Warm-up: connections, producer metadata for every topic, first batches.
        wrk(server.url, templates, f"warm{prefix}", seconds=args.warmup, connections=args.connections,
            threads=args.threads)  # fmt: skip
        tag = f"run{prefix}"
        profilers = profile(sampler.workers(), target.name, args) if args.profile else []
        cpu_before, broker_before, started = sampler.cpu(), cpu_seconds(broker or 0), time.monotonic()
        load = wrk(server.url, templates, tag, seconds=args.duration, connections=args.connections,
                   threads=args.threads)  # fmt: skip
        cpu = sampler.cpu() - cpu_before
        for profiler in profilers:
            profiler.wait(timeout=60)
        broker_cpu = cpu_seconds(broker or 0) - broker_before
        sampler.stop()
        samples = [s for s in sampler.samples if s[0] >= started]
    finally:
        code = server.stop()
    records = run_async(read_records(bootstrap, prefix))
    by = "event-id" if target.kind == "bridge" else "key"
    verdict = verify(load, records, tag, by)
    ok_200 = load.statuses.get(200, 0)
    rss_start = max(samples[min(2, len(samples) - 1)][1].values(), default=0.0) if samples else 0.0
    rss_end = max(samples[-1][1].values(), default=0.0) if samples else 0.0
    return {
        "scenario": target.name,
        "workers": target.workers,
        "body_bytes": body,
        "events_per_s": ok_200 / load.seconds,
        "latency_ms": load.latency_ms,
        "statuses": dict(load.statuses),
        "non_200": load.requests - ok_200,
        "socket_errors": load.errors,
        "cpu_s_per_1k": cpu / ok_200 * 1000 if ok_200 else None,
        "broker_cpu_s_per_1k": broker_cpu / ok_200 * 1000 if ok_200 and broker else None,
        "peak_rss_mb": max(sampler.peak.values(), default=0.0),
        "rss_mb_start_end": [rss_start, rss_end],
        "exit_code": code,
        "verified_by": by,
        "verdict": {**asdict(verdict), "ok": verdict.ok},
    }


def profile(pids: list[int], name: str, args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """py-spy (pip install -e '.[bench]') sampling each worker for the measured load, as collapsed
    stacks (`bench/profile_top.py` summarises them); sampling costs the worker a little CPU."""
    args.profile.mkdir(parents=True, exist_ok=True)
    seconds = str(int(args.duration))
    processes = []
    for pid in pids:
        output = str(args.profile / f"{name}-{pid}.txt")
        command = ["py-spy", "record", "--pid", str(pid), "--duration", seconds, "--rate", "200"]
        command += ["--format", "raw", "--output", output, "--nonblocking"]
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return processes


def conditions(args: argparse.Namespace) -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "unknown",
    )  # fmt: skip
    load1, load5, _ = os.getloadavg()
    return (
        f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}  {os.cpu_count()} cores ({cpu}), "
        f"load average {load1:.2f}/{load5:.2f}, Python {platform.python_version()}\n"
        f"# wrk: {args.threads} thread(s), {args.connections} connections, {args.duration:g} s per scenario "
        f"after {args.warmup:g} s warm-up; {args.partitions} partitions per topic; rounds {args.rounds}; "
        f"broker warm-up {args.broker_warmup:g} s{'; three-broker cluster, replication factor 3' if args.cluster else ''}"
    )


HEADER = (
    f"{'scenario':<13}{'body B':>7}{'events/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'p99.9 ms':>9}"
    f"{'non-200':>8}{'sock err':>9}{'CPU s/1k':>9}{'peak RSS MB/worker':>19}  Kafka check"
)


def row(r: dict[str, Any]) -> str:
    v = r["verdict"]
    errors = sum(r["socket_errors"].values()) - r["socket_errors"].get("status", 0)
    check = (
        f"ok: {v['found_once']}/{v['answered_200']} 200s found once"
        if v["ok"]
        else f"FAILED: {v['missing']} missing, {v['duplicated']} duplicated of {v['answered_200']} "
        f"(read {v['records_read']} records, {v['records_of_run']} of this run; missing e.g. "
        f"{', '.join(v['missing_examples'])})"
    )
    check += f" (+{v['unanswered_records']} unanswered)" if v["unanswered_records"] else ""
    cpu = f"{r['cpu_s_per_1k']:.2f}" if r["cpu_s_per_1k"] is not None else "-"
    rss = f"{r['peak_rss_mb']:.0f} ({r['rss_mb_start_end'][0]:.0f}->{r['rss_mb_start_end'][1]:.0f})"
    lat = r["latency_ms"]
    return (
        f"{r['scenario']:<13}{r['body_bytes']:>7}{r['events_per_s']:>10.0f}{lat['p50']:>8.1f}{lat['p99']:>8.1f}"
        f"{lat['p999']:>9.1f}{r['non_200']:>8}{errors:>9}{cpu:>9}{rss:>19}  {check}"
    )


# (label, numerator scenario, denominator scenario, measure, target test, target text)
RATIOS = [
    ("bridge/baseline events/s", "bridge", "baseline", "events", lambda x: x >= 0.85, ">= 0.85"),
    ("bridge/baseline p99     ", "bridge", "baseline", "p99", lambda x: x <= 1.5, "<= 1.5"),
    ("2 workers / 1 worker    ", "bridge-w2", "bridge", "events", lambda x: x >= 1.3, ">= 1.3"),
    ("baseline 2 w / 1 w      ", "baseline-w2", "baseline", "events", None, ""),
    ("bridge-w2/baseline-w2   ", "bridge-w2", "baseline-w2", "events", None, ""),
    ("bridge-4k / bridge      ", "bridge-4k", "bridge", "events", None, ""),
    ("bridge-16k / bridge     ", "bridge-16k", "bridge", "events", None, ""),
    ("baseline-16k / baseline ", "baseline-16k", "baseline", "events", None, ""),
    ("bridge/connect events/s ", "bridge", "connect", "events", lambda x: x >= 1.0, ">= 1.0"),
    ("bridge-w2/connect       ", "bridge-w2", "connect", "events", lambda x: x >= 1.0, ">= 1.0"),
    ("bridge/bridge-ref events/s", "bridge", "bridge-ref", "events", None, ""),
    ("bridge/bridge-ref p99     ", "bridge", "bridge-ref", "p99", None, ""),
    ("bridge/bridge-ref CPU     ", "bridge", "bridge-ref", "cpu", None, ""),
]


def report(results: list[dict[str, Any]]) -> str:
    """The table, then each ratio per round and, over several rounds, its median: the machine is
    shared and its speed drifts by tens of percent within minutes, so one round's ratio is a
    sample, and the targets are judged on the median of interleaved rounds."""
    lines = [HEADER, *(row(r) for r in results), ""]
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for r in results:
        by_round.setdefault(r["round"], {})[r["scenario"]] = r
    for label, top, bottom, measure, target, text in RATIOS:
        values = [
            _measure(named[top], measure) / _measure(named[bottom], measure)
            for named in by_round.values()
            if top in named and bottom in named and _measure(named[bottom], measure)
        ]
        if not values:
            continue
        value = statistics.median(values)
        each = ", ".join(f"{v:.2f}" for v in values)
        summary = f"{label} {value:.2f}" + (f" (median of {each})" if len(values) > 1 else "")
        if target is not None:
            summary += f"  target {text}: {_pass(target(value))}"
        lines.append(summary)
    peak = max((r["peak_rss_mb"] for r in results if r["scenario"].startswith("bridge")), default=0.0)
    lines.append(f"peak RSS of any bridge worker {peak:.0f} MB (target < 120: {_pass(peak < 120)})")
    failed = [r["scenario"] for r in results if not r["verdict"]["ok"]]
    lines.append(
        "Kafka check: " + ("every 200 has exactly one record" if not failed else f"FAILED in {failed}")
    )
    return "\n".join(lines)


def _measure(result: dict[str, Any], measure: str) -> float:
    if measure == "cpu":
        return float(result["cpu_s_per_1k"] or 0.0)
    return float(result["events_per_s"] if measure == "events" else result["latency_ms"]["p99"])


def _pass(ok: bool) -> str:
    return "pass" if ok else "FAIL"


if __name__ == "__main__":
    sys.exit(main())
