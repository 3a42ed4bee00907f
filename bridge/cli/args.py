"""Argument types for the tools: each refuses a bad value with one sentence (argparse exits 2)."""

from __future__ import annotations

import argparse
import re
from urllib.parse import urlsplit, urlunsplit

from bridge.core.events import EVENT_KINDS
from bridge.tools.samples import ALL_KINDS, KIND_ALIASES

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 seconds")
    return value


def retention_ms(text: str) -> int:
    """`7d`, `12h`, `30m`, `45s`, `500ms`, `2w`, a bare number of milliseconds, or `forever` (-1)."""
    cleaned = text.strip().lower()
    if cleaned in ("forever", "infinite", "-1"):
        return -1
    match = re.fullmatch(r"(\d+)\s*(ms|s|m|h|d|w)?", cleaned)
    if not match or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a retention; write e.g. 7d, 12h, 30m, 604800000 (ms) or forever"
        )
    return int(match[1]) * _UNITS_MS[match[2] or "ms"]


def webhook_url(text: str) -> str:
    """An http(s) URL; a bare `http://host:port` means the bridge's `/webhook` path."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/webhook)"
        )
    try:
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has an invalid port") from None
    if parts.path in ("", "/"):
        parts = parts._replace(path="/webhook")
    return urlunsplit(parts)


def send_kind(text: str) -> str:
    """A kind `send-test` can post: a bridge kind, `validation`, `sent` (= delivered) or `all`."""
    kind = text.strip().lower()
    if kind == "all" or kind in ALL_KINDS or kind in KIND_ALIASES:
        return kind
    raise argparse.ArgumentTypeError(
        f"unknown kind {text!r}; choose from all, {', '.join(ALL_KINDS)} (or sent = delivered)"
    )


def topic_kinds(text: str) -> list[str]:
    """One or more bridge kinds, comma-separated (`sent` = delivered)."""
    kinds: list[str] = []
    for item in text.split(","):
        kind = KIND_ALIASES.get(item.strip().lower(), item.strip().lower())
        if kind not in EVENT_KINDS:
            raise argparse.ArgumentTypeError(
                f"unknown kind {item.strip()!r}; choose from {', '.join(EVENT_KINDS)}"
            )
        kinds.append(kind)
    return kinds
