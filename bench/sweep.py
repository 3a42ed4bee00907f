"""The concurrency sweep: `python -m bench.sweep` (see bench/README.md and docs/performance.md).

One local Apache Kafka, reached three ways: directly on the loopback, and through a delaying TCP
proxy (bench/delay/) adding about 1 ms and 5 ms of round trip, which the broker advertises on
listeners of their own. For each network: the physical floor (one bare produce-and-acknowledge
round trip, one record at a time, measured at the start of each round), then every server at
1, 4, 16, 64 and 256 connections, the servers taking turns at each concurrency so that their ratios come from
neighbouring minutes. Every event answered 200 is then looked up in Kafka (exactly once). Prints
one table per network, then every target of issue 20 judged on ratios from this run.
Exit status 1 when any 200 is missing from Kafka (or duplicated), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.harness import (
    Load,
    Sampler,
    Server,
    Target,
    built_binary,
    cpu_seconds,
    create_topics,
    read_records,
    run_async,
    verify,
    write_templates,
    wrk,
)
from bridge.tools.localkafka import LocalKafka, free_ports

TARGETS = {
    "bridge": Target("bridge", "bridge"),  # its defaults
    # The defaults before issue 20: a 5 ms linger. "Nowhere slower than today's defaults".
    "bridge-l5": Target("bridge-l5", "bridge", env={"BRIDGE_KAFKA_LINGER_MS": "5"}),
    # One producer, as before the pool (issue 20): what the pool changes, at every concurrency.
    "bridge-p1": Target("bridge-p1", "bridge", env={"BRIDGE_KAFKA_PRODUCERS": "1"}),
    "baseline": Target("baseline", "baseline"),
    "connect": Target("connect", "connect"),
    "bridge-w2": Target("bridge-w2", "bridge", workers=2),
    "baseline-w2": Target("baseline-w2", "baseline", workers=2),
}
DEFAULT_TARGETS = ["bridge", "bridge-l5", "baseline", "connect"]
# Scaling and CPU per event are judged at saturation on the loopback only: the extra servers
# run at these concurrencies of the first network.
SATURATED_TARGETS = ["bridge-w2", "baseline-w2"]
NETWORKS = {"local": 0.0, "1ms": 1.0, "5ms": 5.0}  # name: added round trip in ms
CONNECTIONS = [1, 4, 16, 64, 256]
SATURATION = 64  # the connections at which CPU per event and scaling are judged


class DelayedKafka(LocalKafka):
    """A LocalKafka with one extra PLAINTEXT listener per delayed network, each advertised at the
    address of its delaying proxy: a client that bootstraps through the proxy is told to keep
    using it, so every produce request and answer crosses the delay."""

    def __init__(self, delays: dict[str, float]) -> None:
        names = {name: f"DELAY{n}" for n, name in enumerate(delays)}
        super().__init__(
            quick_start=False, extra_listeners={listener: "PLAINTEXT" for listener in names.values()}
        )
        self.delays = delays
        self.listener_of = names
        self.proxy_ports = dict(zip(delays, free_ports(len(delays)), strict=True))
        self.proxies: list[subprocess.Popen[bytes]] = []

    def _properties(self) -> dict[str, str]:
        props = super()._properties()
        advertised = {name: f"127.0.0.1:{port}" for name, port in self.listener_ports.items()}
        for network, listener in self.listener_of.items():
            advertised[listener] = f"127.0.0.1:{self.proxy_ports[network]}"
        props["advertised.listeners"] = ",".join(f"{n}://{a}" for n, a in advertised.items())
        return props

    def start_proxies(self) -> None:
        binary = built_binary("delay")
        for network, rtt_ms in self.delays.items():
            target = self.listener_address(self.listener_of[network])
            listen = f"127.0.0.1:{self.proxy_ports[network]}"
            proxy = subprocess.Popen(
                [str(binary), listen, target, f"{rtt_ms * 1000 / 2:g}us"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            assert proxy.stdout is not None
            if proxy.stdout.readline().strip() != b"delay ready":
                raise RuntimeError(f"the delaying proxy for {network} did not start")
            self.proxies.append(proxy)

    def bootstrap(self, network: str) -> str:
        return (
            self.bootstrap_servers
            if network not in self.proxy_ports
            else f"127.0.0.1:{self.proxy_ports[network]}"
        )

    def stop(self) -> None:
        for proxy in self.proxies:
            proxy.terminate()
            proxy.wait(timeout=10)
        super().stop()


@dataclass
class Floor:
    """One bare produce-and-acknowledge round trip at a time: aiokafka, acks=all, idempotent, no
    linger, a ~1 KB record. Nothing can answer a webhook faster than this."""

    p50_ms: float
    p99_ms: float
    samples: int


async def measure_floor(bootstrap: str, topic: str, seconds: float, value: bytes) -> Floor:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0)
    await producer.start()
    try:
        for n in range(20):  # connection, metadata, the broker's first appends
            await (await producer.send(topic, value=value, key=b"floor-warm-%d" % n))
        times = []
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            started = time.perf_counter()
            await (await producer.send(topic, value=value, key=b"floor-%d" % n))
            times.append((time.perf_counter() - started) * 1000)
            n += 1
    finally:
        await producer.stop()
    times.sort()
    return Floor(statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], len(times))


@dataclass
class Running:
    target: Target
    server: Server
    sampler: Sampler
    templates: Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=DEFAULT_TARGETS, choices=list(TARGETS))
    parser.add_argument("--connections", nargs="+", type=int, default=CONNECTIONS)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--duration", type=float, default=8, help="seconds of load per cell")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each cell")
    parser.add_argument("--floor-seconds", type=float, default=3, help="seconds of bare round trips")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every concurrency; ratios: median")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--broker-warmup", type=float, default=20, metavar="SECONDS")
    parser.add_argument("--no-saturated", action="store_true", help=f"skip {', '.join(SATURATED_TARGETS)}")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    load1, load5, _ = os.getloadavg()
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}  {os.cpu_count()} cores, load average "
        f"{load1:.2f}/{load5:.2f}; {args.duration:g} s per cell after {args.warmup:g} s warm-up; "
        f"networks {', '.join(args.networks)}; connections {', '.join(map(str, args.connections))}",
        flush=True,
    )
    delays = {name: NETWORKS[name] for name in args.networks if NETWORKS[name]}
    kafka = DelayedKafka(delays)
    kafka.start()
    results: list[dict[str, Any]] = []
    floors: dict[str, dict[str, Any]] = {}
    try:
        kafka.start_proxies()
        with tempfile.TemporaryDirectory(prefix="bench-sweep-") as work:
            if args.broker_warmup > 0:
                warm_up_broker(kafka.bootstrap_servers, Path(work), args)
            for n, network in enumerate(args.networks):
                extra = SATURATED_TARGETS if n == 0 and not args.no_saturated else []
                floor, cells = sweep_network(kafka, network, [*args.targets, *extra], Path(work), args)
                floors[network] = asdict(floor)
                results.extend(cells)
    finally:
        kafka.stop()
    print()
    print(report(results, floors, args))
    if args.json:
        args.json.write_text(json.dumps({"floors": floors, "cells": results}, indent=2))
    return 0 if all(r["verdict"]["ok"] for r in results) else 1


def warm_up_broker(bootstrap: str, work: Path, args: argparse.Namespace) -> None:
    """Baseline load, not reported: the broker's JIT compiles the produce path under load."""
    prefix = f"warm{uuid.uuid4().hex[:8]}"
    run_async(create_topics(bootstrap, prefix, args.partitions))
    templates = work / "templates-warm.lua"
    write_templates(templates, 1024)
    server = Server(TARGETS["baseline"], bootstrap, prefix, work)
    try:
        server.wait_ready()
        wrk(server.url, templates, prefix, seconds=args.broker_warmup, connections=64, threads=1)
    finally:
        server.stop()


def sweep_network(
    kafka: DelayedKafka, network: str, names: list[str], work: Path, args: argparse.Namespace
) -> tuple[Floor, list[dict[str, Any]]]:
    """Every server of `names` started once, talking to the broker over `network`; then at each
    concurrency each server in turn; the Kafka check of every cell at the end."""
    bootstrap = kafka.bootstrap(network)
    running: dict[str, Running] = {}
    loads: list[tuple[str, int, int, str, Load, float, float]] = []
    prefixes: dict[str, str] = {}
    floors: list[Floor] = []
    (work / network).mkdir(exist_ok=True)
    try:
        for name in names:
            target = TARGETS[name]
            prefix = prefixes[name] = f"sweep{uuid.uuid4().hex[:8]}"
            run_async(create_topics(kafka.bootstrap_servers, prefix, args.partitions))
            templates = work / "templates-1024.lua"
            write_templates(templates, target.body_bytes)
            server = Server(target, bootstrap, prefix, work / network)
            running[name] = Running(target, server, Sampler(server.process.pid), templates)
        for r in running.values():
            r.server.wait_ready()
        value = (work / "templates-1024.lua").read_bytes()[:991]
        floor_topic = f"{next(iter(prefixes.values()))}.delivered"
        floor_of_round: dict[int, Floor] = {}
        for round_, connections in ((n, c) for n in range(1, args.rounds + 1) for c in args.connections):
            if round_ not in floor_of_round:  # each round's own floor, next to its one-connection cells
                floor_of_round[round_] = run_async(
                    measure_floor(bootstrap, floor_topic, args.floor_seconds, value)
                )
                floors.append(floor_of_round[round_])
            # The servers take turns in an order that rotates with the round and concurrency, so
            # that none is always first after the previous cell (this host's speed drifts).
            order = list(running.items())
            shift = (round_ - 1 + args.connections.index(connections)) % len(order)
            for name, r in order[shift:] + order[:shift]:
                if name in SATURATED_TARGETS and connections != SATURATION:
                    continue
                tag = f"{name}c{connections}{uuid.uuid4().hex[:6]}"
                wrk(
                    r.server.url,
                    r.templates,
                    f"warm{tag}",
                    seconds=args.warmup,
                    connections=connections,
                    threads=1,
                )
                before, broker_before = r.sampler.cpu(), cpu_seconds(kafka_pid(kafka))
                load = wrk(
                    r.server.url, r.templates, tag, seconds=args.duration, connections=connections, threads=1
                )
                cpu, broker_cpu = r.sampler.cpu() - before, cpu_seconds(kafka_pid(kafka)) - broker_before
                loads.append((name, connections, round_, tag, load, cpu, broker_cpu))
                print(row(network, name, connections, load, cpu), flush=True)
    finally:
        for r in running.values():
            r.server.stop()
    floor = Floor(
        statistics.median(f.p50_ms for f in floors),
        max(f.p99_ms for f in floors),
        sum(f.samples for f in floors),
    )
    print(f"{network:<6} floor: one bare produce round trip p50 {floor.p50_ms:.2f} ms (rounds: "
          f"{', '.join(f'{f.p50_ms:.2f}' for f in floors)}), p99 {floor.p99_ms:.2f} ms", flush=True)  # fmt: skip
    records = {
        name: run_async(read_records(kafka.bootstrap_servers, prefix)) for name, prefix in prefixes.items()
    }
    cells = []
    for name, connections, round_, tag, load, cpu, broker_cpu in loads:
        target = TARGETS[name]
        verdict = verify(load, records[name], tag, "event-id" if target.kind == "bridge" else "key")
        ok_200 = load.statuses.get(200, 0)
        cells.append(
            {
                "network": network,
                "target": name,
                "connections": connections,
                "round": round_,
                "floor_p50_ms": floor_of_round[round_].p50_ms,
                "events_per_s": ok_200 / load.seconds,
                "latency_ms": load.latency_ms,
                "non_200": load.requests - ok_200,
                "cpu_s_per_1k": cpu / ok_200 * 1000 if ok_200 else None,
                "broker_cpu_s_per_1k": broker_cpu / ok_200 * 1000 if ok_200 else None,
                "verdict": {**asdict(verdict), "ok": verdict.ok},
            }
        )
    return floor, cells


def kafka_pid(kafka: LocalKafka) -> int:
    process = getattr(kafka, "_proc", None)
    return process.pid if process is not None else 0


def row(network: str, name: str, connections: int, load: Load, cpu: float) -> str:
    ok = load.statuses.get(200, 0)
    per_1k = f"{cpu / ok * 1000:.2f}" if ok else "-"
    lat = load.latency_ms
    return (
        f"{network:<6}{name:<12}{connections:>5}{ok / load.seconds:>9.0f}{lat['p50']:>8.2f}{lat['p99']:>8.1f}"
        f"{load.requests - ok:>8}{per_1k:>9}"
    )


HEADER = (
    f"{'net':<6}{'target':<12}{'conn':>5}{'ev/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'non-200':>8}{'CPU s/1k':>9}"
)


def report(cells: list[dict[str, Any]], floors: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    load1, load5, _ = os.getloadavg()
    lines = [HEADER]
    for cell in cells:
        lat = cell["latency_ms"]
        cpu = f"{cell['cpu_s_per_1k']:.2f}" if cell["cpu_s_per_1k"] is not None else "-"
        v = cell["verdict"]
        check = "ok" if v["ok"] else f"FAILED: {v['missing']} missing, {v['duplicated']} duplicated"
        lines.append(
            f"{cell['network']:<6}{cell['target']:<12}{cell['connections']:>5}{cell['events_per_s']:>9.0f}"
            f"{lat['p50']:>8.2f}{lat['p99']:>8.1f}{cell['non_200']:>8}{cpu:>9}  Kafka {check} "
            f"({v['found_once']}/{v['answered_200']})"
        )
    for network, floor in floors.items():
        lines.append(f"floor {network}: p50 {floor['p50_ms']:.2f} ms, p99 {floor['p99_ms']:.2f} ms")
    lines.append(f"# load average at the end {load1:.2f}/{load5:.2f}")
    lines.append("")
    lines.extend(targets(cells, floors))
    failed = [f"{c['network']}/{c['target']}/{c['connections']}" for c in cells if not c["verdict"]["ok"]]
    lines.append(
        "Kafka check: " + ("every 200 has exactly one record" if not failed else f"FAILED in {failed}")
    )
    return "\n".join(lines)


def targets(cells: list[dict[str, Any]], floors: dict[str, dict[str, Any]]) -> list[str]:
    """Issue 20's targets, each a ratio of two cells of this run."""
    at: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for cell in cells:
        at.setdefault((cell["network"], cell["target"], cell["connections"]), []).append(cell)
    lines = []

    def judge(label: str, value: float | None, test: Callable[[float], bool], text: str) -> None:
        if value is None:
            return
        lines.append(f"{label:<46}{value:>6.2f}  target {text}: {'pass' if test(value) else 'FAIL'}")

    def ratio(a: tuple[str, str, int], b: tuple[str, str, int], measure: str) -> float | None:
        """The median over the rounds of a's measure over b's, each from the same round."""
        pairs = [(x, y) for x in at.get(a, []) for y in at.get(b, []) if x["round"] == y["round"]]
        values = [_measure(x, measure) / _measure(y, measure) for x, y in pairs if _measure(y, measure)]
        return statistics.median(values) if values else None

    for network in floors:
        floor = floors[network]["p50_ms"]
        for c in (1, 4):
            # Each round's p50 against the floor measured just before that round's cells.
            p50s = [
                cell["latency_ms"]["p50"] / cell.get("floor_p50_ms", floor)
                for cell in at.get((network, "bridge", c), [])
            ]
            if p50s:
                judge(f"{network} {c:>3} conn: bridge p50 / floor p50", statistics.median(p50s),
                      lambda x: x <= 1.5, "<= 1.5")  # fmt: skip
            judge(f"{network} {c:>3} conn: bridge / connect events/s",
                  ratio((network, "bridge", c), (network, "connect", c), "events"), lambda x: x >= 1.0, ">= 1.0")  # fmt: skip
        judge(f"{network}  16 conn: bridge / connect events/s",
              ratio((network, "bridge", 16), (network, "connect", 16), "events"), lambda x: x >= 0.6, ">= 0.6")  # fmt: skip
        for c in sorted({k[2] for k in at if k[0] == network}):
            judge(f"{network} {c:>3} conn: bridge / bridge-l5 (old defaults) ev/s",
                  ratio((network, "bridge", c), (network, "bridge-l5", c), "events"),
                  lambda x: x >= 0.95, ">= 1.0 (0.95: noise)")  # fmt: skip
        for c in sorted({k[2] for k in at if k[0] == network}):
            value = ratio((network, "bridge", c), (network, "baseline", c), "events")
            if value is not None:
                lines.append(f"{network} {c:>3} conn: bridge / baseline events/s      {value:>6.2f}")
        for c in sorted({k[2] for k in at if k[0] == network}):
            # The pool against one producer: events/s, p50 and CPU per event, same-round ratios.
            values = [
                ratio((network, "bridge", c), (network, "bridge-p1", c), m) for m in ("events", "p50", "cpu")
            ]
            if None not in values:
                lines.append(f"{network} {c:>3} conn: bridge / bridge-p1 (one producer) ev/s {values[0]:.2f}, "
                             f"p50 {values[1]:.2f}, CPU per event {values[2]:.2f}")  # fmt: skip
    first = next(iter(floors), None)
    if first is not None:
        judge(f"{first} {SATURATION} conn: bridge / baseline CPU per event",
              ratio((first, "bridge", SATURATION), (first, "baseline", SATURATION), "cpu"), lambda x: x <= 1.15, "<= 1.15")  # fmt: skip
        judge(f"{first} {SATURATION} conn: bridge-w2 / bridge CPU per event",
              ratio((first, "bridge-w2", SATURATION), (first, "bridge", SATURATION), "cpu"), lambda x: x <= 1.05, "<= 1.05")  # fmt: skip
        value = ratio((first, "baseline-w2", SATURATION), (first, "baseline", SATURATION), "cpu")
        if value is not None:
            lines.append(f"{first} {SATURATION} conn: baseline-w2 / baseline CPU per event  {value:>6.2f}")
    return lines


def _measure(cell: dict[str, Any], measure: str) -> float:
    if measure == "cpu":
        return float(cell["cpu_s_per_1k"] or 0.0)
    if measure == "p50":
        return float(cell["latency_ms"]["p50"])
    return float(cell["events_per_s"])


if __name__ == "__main__":
    sys.exit(main())
