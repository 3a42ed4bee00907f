"""Shared helpers for the unit tier: the sample bodies and a topic map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.core.events import Kind

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_SECRET = "sample-secret-Qw7Rt2Yp9Lk4"

# Every sample file and the kind it must parse as: a new sample fails the tests until listed here.
SAMPLE_KINDS: dict[str, Kind] = {
    "queued.json": Kind.QUEUED,
    "deferred.json": Kind.DEFERRED,
    "delivered.json": Kind.DELIVERED,
    "failed.json": Kind.FAILED,
    "failed-numeric-enum.json": Kind.FAILED,
    "complaint.json": Kind.COMPLAINT,
    "tracking-click.json": Kind.CLICK,
    "tracking-open.json": Kind.OPEN,
    "tracking-unsubscribe.json": Kind.UNSUBSCRIBE,
    "validation.json": Kind.VALIDATION,
    "legacy-delivered.form": Kind.DELIVERED,
    "legacy-failed.form": Kind.FAILED,
    "legacy-tracking-click.form": Kind.CLICK,
    "legacy-validation.form": Kind.VALIDATION,
}


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in (".json", ".form"))


def read_sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture
def all_topics() -> dict[Kind, str]:
    """A topic for every kind, validation included, so any event can be mapped."""
    return {kind: f"t.{kind}" for kind in Kind}


def micros(moment: datetime) -> int:
    """A time as to_record takes it: microseconds since the epoch."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
