"""Turning an authenticated event into the Kafka record the contract describes.

Pure: no aiohttp, no aiokafka. The value is the event exactly as received minus `SecretKey` (at
any depth); the `event-id` header hashes the canonical form of that value, so a SocketLabs retry
of the same event carries the same id and consumers can deduplicate on it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from bridge.core.events import Event, Kind, contains_float


# Not frozen: a frozen dataclass sets each field through object.__setattr__, slower per request.
@dataclass(slots=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    timestamp_ms: int
    event_id: str


def to_record(
    event: Event,
    kind: Kind,
    *,
    webhook: str,
    topics: Mapping[Kind, str],
    received_us: int,
) -> Record:
    """`received_us`: when the post arrived, in microseconds since the epoch (time.time_ns() // 1000);
    it is both the `received-at` header and the record timestamp (its milliseconds)."""
    fields = event.without_secret_key()
    value = dump_json(fields)
    if b'"secretkey":' in value.lower():  # a SecretKey below the top level (written compact, so exact)
        fields = _without_nested_secret_keys(fields)
        value = dump_json(fields)
    event_id = hashlib.sha256(canonical_json(fields, has_float=event.has_float)).hexdigest()
    headers = [
        ("event-type", kind.value.encode()),
        ("event-id", event_id.encode()),
        ("webhook", webhook.encode()),
    ]
    server_id = event.text("serverid")
    if server_id is not None:
        headers.append(("server-id", server_id.encode()))
    headers.append(("received-at", rfc3339(received_us).encode()))
    headers.append(("content-type", b"application/json"))
    message_id = event.text("messageid")
    return Record(
        topic=topics[kind],
        key=message_id.encode() if message_id else None,
        value=value,
        headers=headers,
        timestamp_ms=received_us // 1000,
        event_id=event_id,
    )


def _without_nested_secret_keys(value: Any) -> Any:
    """`value` minus every `SecretKey` (any casing) at any depth: a sender that copies the event,
    secret included, into its own data must not put the secret into Kafka either."""
    if isinstance(value, dict):
        return {k: _without_nested_secret_keys(v) for k, v in value.items() if k.lower() != "secretkey"}
    if isinstance(value, list):
        return [_without_nested_secret_keys(v) for v in value]
    return value


def dump_json(fields: dict[str, Any], option: int = 0) -> bytes:
    try:
        return orjson.dumps(fields, option=option)
    except TypeError:
        # orjson cannot write integers beyond 64 bits; the standard library can.
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=bool(option)).encode()


def canonical_json(fields: dict[str, Any], *, has_float: bool | None = None) -> bytes:
    """Keys sorted at every level, no spaces, UTF-8 (non-ASCII characters are not escaped).

    Always the standard library's form, so the id does not depend on which encoder wrote it
    and a consumer can recompute it with
    `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
    orjson writes that same form about ten times faster, except for floats (1e-05 is `0.00001`,
    1e-07 is `1e-7` there) and integers beyond 64 bits (refused): events holding either are
    written by the standard library. tests/unit/core/test_records.py checks the two agree.
    `has_float`: whether `fields` holds a float, when the caller knows (Event.has_float).
    """
    if has_float is None:
        has_float = contains_float(fields)
    if not has_float:
        try:
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # an integer beyond 64 bits
            pass
    return _stdlib_canonical(fields)


def _stdlib_canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def rfc3339(epoch_us: int) -> str:
    """`2026-05-18T08:12:45.123456Z` for microseconds since the epoch."""
    seconds, micros = divmod(epoch_us, 1_000_000)
    return f"{_utc_second(seconds)}.{micros:06d}Z"


@functools.lru_cache(maxsize=4)
def _utc_second(seconds: int) -> str:
    # Formatted once per second of arrivals: datetime.isoformat per request showed in profiles.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
