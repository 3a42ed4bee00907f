"""Turning an authenticated event into the Kafka record the contract describes.

Pure: no aiohttp, no aiokafka. The value is the event exactly as received minus `SecretKey`; the
`event-id` header hashes the canonical form of that value, so a SocketLabs retry of the same
event carries the same id and consumers can deduplicate on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from bridge.socketlabs import Event, Kind


@dataclass(frozen=True, slots=True)
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
    received_at: datetime,
) -> Record:
    fields = event.without_secret_key()
    value = dump_json(fields)
    event_id = hashlib.sha256(canonical_json(fields)).hexdigest()
    headers = [
        ("event-type", kind.value.encode()),
        ("event-id", event_id.encode()),
        ("webhook", webhook.encode()),
    ]
    server_id = event.text("serverid")
    if server_id is not None:
        headers.append(("server-id", server_id.encode()))
    headers.append(("received-at", rfc3339(received_at).encode()))
    headers.append(("content-type", b"application/json"))
    message_id = event.text("messageid")
    return Record(
        topic=topics[kind],
        key=message_id.encode() if message_id else None,
        value=value,
        headers=headers,
        timestamp_ms=int(received_at.timestamp() * 1000),
        event_id=event_id,
    )


def dump_json(fields: dict[str, Any], option: int = 0) -> bytes:
    try:
        return orjson.dumps(fields, option=option)
    except TypeError:
        # orjson cannot write integers beyond 64 bits; the standard library can.
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=bool(option)).encode()


def canonical_json(fields: dict[str, Any]) -> bytes:
    """Keys sorted at every level, no spaces, UTF-8 (non-ASCII characters are not escaped).

    Always the standard library's form, so the id does not depend on which encoder wrote it
    (orjson writes 1e-7 where json writes 1e-07) and a consumer can recompute it with
    `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
    """
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
