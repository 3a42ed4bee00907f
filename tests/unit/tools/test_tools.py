"""The tools' pure parts: argument types, the sample events, the summary arithmetic."""

from __future__ import annotations

import argparse
import email.utils
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from bridge.cli import args
from bridge.core.events import parse_body
from bridge.tools.samples import ALL_KINDS, form_body, sample_event
from bridge.tools.send_samples import Answer, expand_kinds, percentile, summary
from bridge.tools.topics import describe_retention


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("7d", 604_800_000),
        ("12h", 43_200_000),
        ("30m", 1_800_000),
        ("45s", 45_000),
        ("500ms", 500),
        ("86400000", 86_400_000),
        ("2w", 1_209_600_000),
        ("forever", -1),
        ("-1", -1),
        (" 7D ", 604_800_000),
    ],
)
def test_retention_accepts_units_and_milliseconds(text: str, ms: int) -> None:
    assert args.retention_ms(text) == ms


@pytest.mark.parametrize("text", ["", "7x", "d7", "0", "1.5d", "-5", "seven days"])
def test_retention_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not a retention"):
        args.retention_ms(text)


@pytest.mark.parametrize(
    ("ms", "text"), [(604_800_000, "7d"), (3_600_000, "1h"), (1500, "1500ms"), (-1, "forever")]
)
def test_retention_is_described_the_way_it_was_written(ms: int, text: str) -> None:
    assert describe_retention(ms) == text


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/webhook"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/webhook"),
        ("https://bridge.example.com/webhook/account", "https://bridge.example.com/webhook/account"),
    ],
)
def test_webhook_url_defaults_to_the_webhook_path(url: str, normalised: str) -> None:
    assert args.webhook_url(url) == normalised


@pytest.mark.parametrize(
    "url", ["nope", "ftp://host/webhook", "http://", "127.0.0.1:8080", "http://h:99999/"]
)
def test_webhook_url_refuses_non_http_urls(url: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        args.webhook_url(url)


def test_kinds_accept_the_bridge_kinds_validation_and_sent() -> None:
    assert args.send_kind("Sent") == "sent"
    assert args.send_kind("validation") == "validation"
    assert args.topic_kinds("delivered,SENT,click") == ["delivered", "delivered", "click"]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown kind 'bounce'"):
        args.send_kind("bounce")
    with pytest.raises(argparse.ArgumentTypeError, match="unknown kind 'validation'"):
        args.topic_kinds("validation")  # never on a topic


def test_all_expands_to_every_mail_kind_once() -> None:
    assert expand_kinds(["all", "sent", "validation"]) == [
        "queued",
        "deferred",
        "delivered",
        "failed",
        "complaint",
        "click",
        "open",
        "unsubscribe",
        "validation",
    ]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_sample_event_parses_to_its_kind_as_json_and_as_a_form(kind: str) -> None:
    event = sample_event(kind, "k")
    import orjson

    assert parse_body(orjson.dumps(event), "application/json").kind == kind
    assert parse_body(form_body(event).encode(), "application/x-www-form-urlencoded").kind == kind


def test_form_posts_carry_rfc_1123_datetimes_and_strings() -> None:
    moment = datetime(2026, 5, 18, 8, 12, 44, 123456, tzinfo=UTC)
    fields = dict(parse_qsl(form_body(sample_event("failed", "k", now=moment)), keep_blank_values=True))
    assert fields["DateTime"] == "Mon, 18 May 2026 08:12:44 GMT"
    assert email.utils.parsedate_to_datetime(fields["DateTime"]) == moment.replace(microsecond=0)
    assert fields["FailureCode"] == "2001" and "Data" not in fields


def test_json_samples_carry_seven_fractional_digits_and_fresh_message_ids() -> None:
    moment = datetime(2026, 5, 18, 8, 12, 44, 123456, tzinfo=UTC)
    first, second = sample_event("open", "k", now=moment), sample_event("open", "k", now=moment)
    assert first["DateTime"] == "2026-05-18T08:12:44.1234560Z"
    assert first["MessageId"] != second["MessageId"]
    first["Data"]["Tags"].append("changed")
    assert second["Data"]["Tags"] == ["bridge-test"]  # no shared mutable state between events


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7


def test_summary_reports_rate_latency_and_each_status() -> None:
    answers = [
        Answer("delivered", 200, 0.010, ""),
        Answer("failed", 200, 0.030, ""),
        Answer("click", 401, 0.002, ""),
    ]
    text = summary(answers, elapsed=0.5, concurrency=2)
    assert "posted 3 events in 0.50 s (6.0/s, concurrency 2)" in text
    assert "latency p50 10.0 ms, p99 30.0 ms, max 30.0 ms" in text
    assert "status 200: 2, 401: 1" in text
