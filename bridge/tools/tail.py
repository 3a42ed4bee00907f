"""`socketlabs-bridge tail`: print events from the topics as they arrive, for debugging.

Readable by default (topic, partition, offset, key, the headers, the value on one line) or one
JSON object per record with `--json`. Stops on Ctrl-C, after `--max-events`, or after `--timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
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
    # Our own loop, not asyncio.run: on Ctrl-C, asyncio.run would wait without a bound for every
    # task of a Kafka client that is stuck on a slow or vanished broker.
    loop = asyncio.new_event_loop()
    try:
        seen = loop.run_until_complete(
            _tail(settings, topics, from_beginning, max_events, timeout, as_json, out, err)
        )
    except BridgeError as exc:
        print(f"socketlabs-bridge: {exc.message}", file=err)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the loop had its handler
        seen = None
    finally:
        loop.close()
        # The interpreter's last collection walks every imported object: a tenth of a second of
        # CPU, more than a second of Ctrl-C latency on a loaded machine. Nothing is left to free.
        gc.freeze()
    if seen is None:
        print("\nstopped.", file=err)
        return 0
    print(f"{seen} event{'s' if seen != 1 else ''}.", file=err)
    return 0


STOP_GRACE = 0.5  # seconds the consumer gets to close after Ctrl-C before it is left behind


async def _tail(
    settings: Settings,
    topics: list[str],
    from_beginning: bool,
    max_events: int | None,
    timeout: float | None,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int | None:
    """The number of events printed, or None when Ctrl-C stopped the reading."""
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    # A loop signal handler wakes the loop through its self-pipe whichever thread the signal lands on.
    loop.add_signal_handler(signal.SIGINT, interrupted.set)
    reader = asyncio.create_task(
        _read(settings, topics, from_beginning, max_events, timeout, as_json, out, err)
    )
    stop = asyncio.create_task(interrupted.wait())
    try:
        await asyncio.wait({reader, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        loop.remove_signal_handler(signal.SIGINT)
    if reader.done():
        return reader.result()
    # Cancelling closes the consumer on the way out; a broker that does not answer (or aiokafka
    # swallowing the cancellation) must not hold Ctrl-C, and without a group nothing is lost.
    reader.cancel()
    await asyncio.wait({reader}, timeout=STOP_GRACE)
    if not reader.done():
        # Left behind on purpose: silence asyncio reporting it destroyed while pending.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    elif not reader.cancelled():
        reader.exception()  # retrieved: a failure while closing changes nothing for the user
    return None


async def _read(
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
            async with asyncio.timeout(timeout), contextlib.aclosing(records):
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
