"""The sweep's judgement: each target of issue 20 is a ratio of two cells of the same round."""

from __future__ import annotations

from typing import Any

from bench.sweep import targets


def cell(
    target: str, connections: int, events: float, p50: float, cpu: float, round_: int = 1
) -> dict[str, Any]:
    return {
        "network": "local", "target": target, "connections": connections, "round": round_,
        "events_per_s": events, "latency_ms": {"p50": p50, "p99": p50 * 3}, "cpu_s_per_1k": cpu,
    }  # fmt: skip


def test_each_target_is_judged_from_the_cells_of_its_round() -> None:
    cells = [
        cell("bridge", 1, 900, 1.2, 0.5),
        cell("connect", 1, 400, 2.3, 0.4),
        cell("bridge-l5", 1, 110, 8.9, 0.6),
        cell("bridge", 16, 2000, 8.0, 0.3),
        cell("connect", 16, 5000, 3.0, 0.2),
        cell("bridge", 64, 2500, 25.0, 0.30),
        cell("baseline", 64, 3000, 20.0, 0.20),
        cell("bridge-w2", 64, 3500, 18.0, 0.31),
    ]
    lines = "\n".join(targets(cells, {"local": {"p50_ms": 1.0}}))
    assert "local   1 conn: bridge p50 / floor p50" in lines and "1.20  target <= 1.5: pass" in lines
    assert "2.25  target >= 1.0: pass" in lines  # bridge / connect at 1 connection
    assert "0.40  target >= 0.6: FAIL" in lines  # bridge / connect at 16
    assert "8.18  target >= 1.0 (0.95: noise): pass" in lines  # against the old defaults
    assert "1.50  target <= 1.15: FAIL" in lines  # CPU per event against the bare stack
    assert "1.03  target <= 1.05: pass" in lines  # two workers against one


def test_ratios_over_rounds_are_medians_of_same_round_pairs() -> None:
    cells = [
        cell("bridge", 16, 1000, 5.0, 0.3, round_=1),
        cell("connect", 16, 1000, 5.0, 0.3, round_=1),
        cell("bridge", 16, 3000, 5.0, 0.3, round_=2),
        cell("connect", 16, 1000, 5.0, 0.3, round_=2),
        cell("bridge", 16, 500, 5.0, 0.3, round_=3),
        cell("connect", 16, 1000, 5.0, 0.3, round_=3),
    ]
    (line,) = [x for x in targets(cells, {"local": {"p50_ms": 1.0}}) if "connect" in x]
    assert "1.00  target >= 0.6: pass" in line  # median of 1.0, 3.0 and 0.5


def test_the_pool_is_judged_against_one_producer_on_events_latency_and_cpu() -> None:
    cells = [
        cell("bridge", 4, 1800, 2.0, 0.40),
        cell("bridge-p1", 4, 1200, 4.0, 0.50),
    ]
    (line,) = [x for x in targets(cells, {"local": {"p50_ms": 1.0}}) if "bridge-p1" in x]
    assert "ev/s 1.50, p50 0.50, CPU per event 0.80" in line
