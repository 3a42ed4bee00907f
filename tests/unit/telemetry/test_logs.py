"""Logging: one JSON object per line, extras as keys, email addresses masked everywhere."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.telemetry.logs import JsonFormatter, TextFormatter, configure_logging, mask_emails

EMAIL = re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("ana.lima@example.net", "a***@example.net"),
        ("to ana.lima@example.net now", "to a***@example.net now"),
        ("x@y.z", "x***@y.z"),
        ("user+tag@sub.example.co.uk", "u***@sub.example.co.uk"),
        ("a@example.org, bob_99@example.org", "a***@example.org, b***@example.org"),
        ('{"Address":"ana.lima@example.net"}', '{"Address":"a***@example.net"}'),
        ("<ana.lima@example.net>", "<a***@example.net>"),
        ("no address here", "no address here"),
        ("ServerId=30117 @ 10:00", "ServerId=30117 @ 10:00"),
        ("", ""),
        ("@ana.lima@example.net", "@a***@example.net"),
        # glued to something before it: the whole address still disappears
        ("0@ana.lima@example.net", "0***@example.net"),
        ("bounce+ana.lima@example.net@relay.example.org", "b***@relay.example.org"),
        ("/webhook/\x01bob@example.org", "/webhook/\x01b***@example.org"),
    ],
)
def test_mask_emails(text: str, masked: str) -> None:
    assert mask_emails(text) == masked


@pytest.mark.parametrize(
    "text", ["a" * 50_000, "a-" * 25_000 + "@", "ab@" * 20_000, "x" * 50_000 + "@example.org"]
)
def test_mask_emails_is_fast_on_long_runs(text: str) -> None:
    # a refused request logs its path: an 8 KB path must not cost seconds of CPU
    started = time.perf_counter()
    mask_emails(text)
    assert time.perf_counter() - started < 0.5


def test_mask_emails_is_idempotent() -> None:
    once = mask_emails("ana.lima@example.net and bob@example.org")
    assert mask_emails(once) == once


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.unit.logs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream, handler
    logger.handlers[:] = []
    logger.propagate = True


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    entries = [json.loads(line) for line in text[:-1].split("\n")]  # log shippers split on \n only
    assert all(isinstance(entry, dict) for entry in entries)
    return entries


def test_json_formatter_one_object_per_line_with_extras(capture: Any) -> None:
    logger, stream, _ = capture
    logger.info("delivered to %s", "ana.lima@example.net", extra={"webhook": "default", "count": 3})
    logger.warning(
        "request refused",
        extra={
            "status": 401,
            "address": "bob.smith@example.org",
            "nested": {"to": ["carl@example.com"], "n": None},
            "when": datetime(2026, 5, 18, 8, 12, 44),
            "multi": "line one\nline two",
        },
    )
    first, second = lines_of(stream)

    assert first["level"] == "INFO"
    assert first["logger"] == "tests.unit.logs"
    assert first["message"] == "delivered to a***@example.net"
    assert first["webhook"] == "default"
    assert first["count"] == 3
    assert datetime.fromisoformat(first["time"]).utcoffset() is not None

    assert second["level"] == "WARNING"
    assert second["status"] == 401
    assert second["address"] == "b***@example.org"
    assert second["nested"] == {"to": ["c***@example.com"], "n": None}
    assert second["when"].startswith("2026-05-18")
    assert second["multi"] == "line one\nline two"
    output = stream.getvalue()
    for address in ("ana.lima@example.net", "bob.smith@example.org", "carl@example.com"):
        assert address not in output


@dataclass
class _Recipient:
    address: str


def test_json_formatter_masks_objects_it_writes_as_text(capture: Any) -> None:
    logger, stream, _ = capture
    logger.info(
        "objects",
        extra={
            "recipient": _Recipient("dana@example.com"),
            "tags": ("eve@example.com",),
            "set": {"f@example.com"},
        },
    )
    (entry,) = lines_of(stream)
    assert "d***@example.com" in entry["recipient"]
    assert entry["tags"] == ["e***@example.com"]
    assert "f***@example.com" in entry["set"]
    for address in ("dana@example.com", "eve@example.com", "f@example.com"):
        assert address not in stream.getvalue()


def test_json_formatter_exception_stays_on_one_line(capture: Any) -> None:
    logger, stream, _ = capture
    try:
        raise ValueError("bad address ana.lima@example.net")
    except ValueError:
        logger.exception("unexpected error")
    (entry,) = lines_of(stream)
    assert entry["level"] == "ERROR"
    assert "ValueError" in entry["exception"]
    assert "Traceback" in entry["exception"]
    assert "ana.lima@example.net" not in stream.getvalue()
    assert "a***@example.net" in entry["exception"]


def test_json_formatter_without_masking(capture: Any) -> None:
    logger, stream, handler = capture
    handler.setFormatter(JsonFormatter(mask=False))
    logger.info("to ana.lima@example.net", extra={"address": "bob@example.org"})
    (entry,) = lines_of(stream)
    assert entry["message"] == "to ana.lima@example.net"
    assert entry["address"] == "bob@example.org"


@pytest.mark.parametrize("before", ["\x01", "\x1b", "\x7f", "\n", "\t", '"', "\\", "\u2028", "é"])
def test_json_line_stays_valid_json_around_an_email(capture: Any, before: str) -> None:
    logger, stream, _ = capture
    logger.info(f"{before}bob@example.org", extra={"path": f"/webhook/{before}carl@example.com"})
    (entry,) = lines_of(stream)
    assert "bob@example.org" not in entry["message"]
    assert "carl@example.com" not in entry["path"]
    assert entry["message"].startswith(before)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(), st.sampled_from(["", "ana.lima@example.net", "x@example.org"]))
def test_property_json_line_is_one_valid_object(message: str, extra: str, email: str) -> None:
    record = logging.LogRecord("p", logging.INFO, __file__, 1, message + email, (), None)
    record.field = extra + email
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert set(entry) >= {"time", "level", "logger", "message", "field"}
    if email:
        assert email not in entry["message"]
        assert email not in entry["field"]


def test_text_formatter_masks_and_appends_extras() -> None:
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "to %s", ("ana.lima@example.net",), None)
    record.webhook = "legacy"
    record.address = "bob@example.org"
    line = TextFormatter().format(record)
    assert "WARNING t: to a***@example.net" in line
    assert "webhook=legacy" in line
    assert "address=b***@example.org" in line
    assert not EMAIL.search(line.replace("a***@", "").replace("b***@", ""))


def test_configure_logging_replaces_root_handlers() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    aiokafka = logging.getLogger("aiokafka")
    saved_aiokafka = aiokafka.level
    try:
        configure_logging("WARNING", "text", mask=True)
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, TextFormatter)
        assert root.level == logging.WARNING
        assert aiokafka.level == logging.WARNING
        configure_logging("DEBUG", "json", mask=False)
        assert len(root.handlers) == 1
        formatter = root.handlers[0].formatter
        assert isinstance(formatter, JsonFormatter) and formatter.mask is False
        assert aiokafka.level == logging.DEBUG
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        aiokafka.setLevel(saved_aiokafka)
