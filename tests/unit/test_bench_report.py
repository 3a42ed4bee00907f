"""The benchmark's arithmetic: the Kafka check's verdict and the median ratios the targets are judged on."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from bench.__main__ import report
from bench.harness import Load, verify


def load(ids: list[str]) -> Load:
    return Load(len(ids), 10.0, Counter({200: len(ids)}), ids, {}, {"p99": 1.0})


def test_every_200_found_once_is_ok_and_a_missing_or_doubled_one_is_not() -> None:
    records = [
        (b"run-1-1", {"event-id": b"a"}),
        (b"run-1-2", {"event-id": b"b"}),
        (b"run-1-3", {"event-id": b"c"}),
    ]
    ok = verify(load(["a", "b"]), records, "run", "event-id")
    assert ok.ok and ok.found_once == 2 and ok.unanswered_records == 1  # c: in flight when wrk stopped
    missing = verify(load(["a", "z"]), records, "run", "event-id")
    assert not missing.ok and missing.missing == 1 and missing.missing_examples == ["z"]
    doubled = verify(load(["a"]), [*records, (b"run-1-9", {"event-id": b"a"})], "run", "event-id")
    assert not doubled.ok and doubled.duplicated == 1
    other_run = verify(load(["a"]), [(b"warm-1-1", {"event-id": b"a"})], "run", "event-id")
    assert not other_run.ok  # records of the warm-up do not count for the measured run


def result(scenario: str, round_: int, events: float, p99: float) -> dict[str, Any]:
    verdict = verify(load([]), [], "run", "key")
    return {
        "scenario": scenario, "round": round_, "body_bytes": 1000, "events_per_s": events,
        "latency_ms": {"p50": 1.0, "p99": p99, "p999": 1.0}, "non_200": 0, "socket_errors": {},
        "cpu_s_per_1k": 0.5, "peak_rss_mb": 50.0, "rss_mb_start_end": [50.0, 50.0],
        "verdict": {**asdict(verdict), "ok": True},
    }  # fmt: skip


def test_targets_are_judged_on_the_median_of_the_rounds() -> None:
    results = []
    for round_, (base, bridge) in enumerate([(1000, 900), (1000, 700), (1000, 860)], start=1):
        results += [result("baseline", round_, base, 10.0), result("bridge", round_, bridge, 12.0)]
    text = report(results)
    assert "bridge/baseline events/s 0.86 (median of 0.90, 0.70, 0.86)  target >= 0.85: pass" in text
    assert "bridge/baseline p99      1.20 (median of 1.20, 1.20, 1.20)  target <= 1.5: pass" in text
    results[3]["events_per_s"] = results[5]["events_per_s"] = 800  # rounds 2 and 3 -> 0.80
    text = report(results)
    assert "bridge/baseline events/s 0.80 (median of 0.90, 0.80, 0.80)  target >= 0.85: FAIL" in text
