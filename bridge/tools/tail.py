"""`socketlabs-bridge tail`: print events from the topics as they arrive, for debugging.

Readable by default (topic, partition, offset, key, the headers, the value on one line) or one
JSON object per record with `--json`. Stops on Ctrl-C, after `--max-events`, or after `--timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from bridge.core.errors import BridgeError
from bridge.core.events import EVENT_KINDS, Kind
from bridge.core.settings import Settings
from bridge.kafka.client import ConsumedRecord, consume
from bridge.tools import quiet_kafka_logs


def run_tail(
    settings: Settings,
    kinds: list[str] | None = None,
    *,
    from_beginning: bool = False,
    max_events: int | None = None,
    timeout: float | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    # Looked up at call time, not import time, so a redirected sys.stdout/stderr is honoured.
    out, err = out or sys.stdout, err or sys.stderr
    topics = [settings.topics[Kind(k)] for k in (kinds or EVENT_KINDS)]
    quiet_kafka_logs()
    try:
        seen = asyncio.run(_tail(settings, topics, from_beginning, max_events, timeout, as_json, out, err))
    except BridgeError as exc:
        print(f"socketlabs-bridge: {exc.message}", file=err)
        return 1
    except KeyboardInterrupt:
        # asyncio.run has already cancelled the reader, which closed its consumer on the way out.
        print("\nstopped.", file=err)
        return 0
    print(f"{seen} event{'s' if seen != 1 else ''}.", file=err)
    return 0


async def _tail(
    settings: Settings,
    topics: list[str],
    from_beginning: bool,
    max_events: int | None,
    timeout: float | None,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    seen = 0
    async with consume(settings, topics, from_beginning=from_beginning) as records:
        where = "from the beginning" if from_beginning else "new events only"
        print(f"reading {', '.join(topics)} ({where}); Ctrl-C stops.", file=err)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async for record in records:
                    out.write(format_json(record) if as_json else format_text(record))
                    out.flush()
                    seen += 1
                    if max_events is not None and seen >= max_events:
                        break
    return seen


def _header_text(headers: dict[str, bytes]) -> list[tuple[str, str]]:
    return [(name, value.decode("utf-8", errors="replace")) for name, value in headers.items()]


def format_text(record: ConsumedRecord) -> str:
    stamp = datetime.fromtimestamp(record.timestamp_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    key = record.key.decode("utf-8", errors="replace") if record.key is not None else "(no key)"
    headers = "  ".join(f"{name}: {value}" for name, value in _header_text(record.headers))
    value = record.value.decode("utf-8", errors="replace") if record.value is not None else "(no value)"
    return (
        f"{stamp}Z  {record.topic}  partition {record.partition}  offset {record.offset}  key {key}\n"
        f"  {headers}\n"
        f"  {value}\n"
    )


def format_json(record: ConsumedRecord) -> str:
    value: Any = None
    if record.value is not None:
        try:
            value = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            value = record.value.decode("utf-8", errors="replace")
    line = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp_ms,
        "key": record.key.decode("utf-8", errors="replace") if record.key is not None else None,
        "headers": dict(_header_text(record.headers)),
        "value": value,
    }
    return orjson.dumps(line).decode() + "\n"
