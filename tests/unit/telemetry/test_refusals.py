"""Refusal lines: per error code, the first few of an interval in full, then one summary line."""

from __future__ import annotations

import logging

import pytest

from bridge.telemetry.refusals import FIELD_CHARS, RefusalLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def lines() -> Lines:
    handler = Lines()
    logger = logging.getLogger("tests.refusals")
    logger.addHandler(handler)
    logger.propagate = False
    yield handler
    logger.removeHandler(handler)


def refusal_log(clock: Clock) -> RefusalLog:
    return RefusalLog(logging.getLogger("tests.refusals"), burst=5, interval=10.0, clock=clock)


def test_a_flood_is_five_lines_and_one_summary_with_the_count_and_top_sources(lines) -> None:
    clock = Clock()
    refusals = refusal_log(clock)
    sources = ["203.0.113.7"] * 60 + ["203.0.113.8"] * 25 + ["203.0.113.9"] * 10 + ["198.51.100.1"] * 5
    for i, remote in enumerate(sources):
        clock.now = 1000.0 + i * 0.05  # 100 refusals in 5 s: one interval
        refusals.refused("unauthorized", remote, status=401, reason="The secret key does not match.")
    assert [r.getMessage() for r in lines.records] == ["request refused"] * 5
    clock.now = 1010.0
    refusals.refused("unauthorized", "192.0.2.1", status=401, reason="The secret key does not match.")
    summary = lines.records[5]
    assert summary.getMessage() == "requests refused, not logged"
    assert summary.error == "unauthorized"  # type: ignore[attr-defined]
    assert summary.count == 100 - 5  # type: ignore[attr-defined]
    # the first five (all 203.0.113.7) were logged, so 55 of its 60 are in the count
    assert summary.top_sources == {"203.0.113.7": 55, "203.0.113.8": 25, "203.0.113.9": 10}  # type: ignore[attr-defined]
    # the next interval starts in full again
    assert [r.getMessage() for r in lines.records[6:]] == ["request refused"]
    assert lines.records[6].remote == "192.0.2.1"  # type: ignore[attr-defined]


def test_each_code_has_its_own_burst(lines) -> None:
    clock = Clock()
    refusals = refusal_log(clock)
    for _ in range(7):
        refusals.refused("unauthorized", "203.0.113.7", status=401)
        refusals.refused("not_found", "203.0.113.7", status=404, path="/x")
    refusals.flush()
    full = [r.error for r in lines.records if r.getMessage() == "request refused"]  # type: ignore[attr-defined]
    assert full.count("unauthorized") == 5 and full.count("not_found") == 5
    summaries = {r.error: r.count for r in lines.records if r.getMessage() != "request refused"}  # type: ignore[attr-defined]
    assert summaries == {"unauthorized": 2, "not_found": 2}


def test_a_quiet_interval_writes_no_summary(lines) -> None:
    clock = Clock()
    refusals = refusal_log(clock)
    for _ in range(3):
        refusals.refused("unauthorized", "203.0.113.7", status=401)
    clock.now += 60
    refusals.refused("unauthorized", "203.0.113.7", status=401)
    refusals.flush()
    assert [r.getMessage() for r in lines.records] == ["request refused"] * 4


def test_fields_from_the_request_are_cut(lines) -> None:
    refusals = refusal_log(Clock())
    refusals.refused("unknown_webhook", "203.0.113.7", status=404, path="/webhook/" + "a" * 100_000)
    [record] = lines.records
    assert len(record.path) == FIELD_CHARS + 3  # type: ignore[attr-defined]
    assert record.path.endswith("...")  # type: ignore[attr-defined]


def test_many_sources_are_counted_in_bounded_memory(lines) -> None:
    clock = Clock()
    refusals = refusal_log(clock)
    for i in range(5 + 3000):
        refusals.refused("unauthorized", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", status=401)
    refusals.flush()
    summary = lines.records[-1]
    assert summary.count == 3000  # type: ignore[attr-defined]
    assert summary.top_sources["other"] == 2000  # type: ignore[attr-defined]
