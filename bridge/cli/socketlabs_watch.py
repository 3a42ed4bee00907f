"""`socketlabs test [--watch]`: SocketLabs posts sample notifications; the bridge's topics show them.

With `--watch` the topics are opened (start positions fixed) *before* SocketLabs is asked, so the
notification cannot slip by between the request and the first read. `--type all` is this tool's
loop over every type, one perform-test request each, not a value sent to the API.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from bridge.cli.output import emit, masked
from bridge.cli.roundtrip import Arrival, Expected, await_arrivals, describe
from bridge.cli.socketlabs_api import TEST_TYPES, SocketLabsApi
from bridge.core.settings import Settings
from bridge.kafka.client import ConsumedRecord, consume

SHOWN_OTHERS = 10  # other records listed when the awaited one did not come


async def run_test(args: argparse.Namespace, api_key: str, api_url: str, settings: Settings | None) -> int:
    types = list(TEST_TYPES) if args.type == "all" else [args.type]
    async with contextlib.AsyncExitStack() as stack:
        records: AsyncIterator[ConsumedRecord] | None = None
        if settings is not None:
            records = await stack.enter_async_context(consume(settings, list(settings.topics.values())))
        expected = await _request(types, args.webhook_id, api_key, api_url, announce=not args.json)
        if records is None:
            if args.json:
                emit({"webhook_id": args.webhook_id, "tests": [_test_json(e) for e in expected]})
            return 0
        if not args.json:
            assert settings is not None
            print(f"Watching {settings.topic_prefix}.* for up to {args.timeout:g} s ...", flush=True)
        deadline = expected[0].requested_at + args.timeout
        arrivals, others = await await_arrivals(records, expected, deadline)
    missing = [e for e in expected if all(a.expected is not e for a in arrivals)]
    if args.json:
        emit(
            {
                "webhook_id": args.webhook_id,
                "tests": [_test_json(e, arrivals) for e in expected],
                "arrived": not missing,
                "others": [_record_json(r) for r in others],
            }
        )
    else:
        _report(arrivals, missing, others, args.timeout)
    return 0 if not missing else 1


async def _request(
    types: list[str], webhook_id: str, api_key: str, api_url: str, *, announce: bool
) -> list[Expected]:
    expected = []
    async with SocketLabsApi(api_key, api_url) as api:
        for test_type in types:
            requested_at = time.monotonic()
            preview = await api.perform_test(webhook_id, test_type)
            expected.append(Expected(test_type, preview, requested_at))
            if announce:
                what = f"a sample {preview.get('Type', test_type)!s} notification" if preview else "a sample"
                message_id = f" (MessageId {preview.get('MessageId')!r})" if preview else ""
                print(
                    f"{test_type}: SocketLabs accepted the test; it posts {what}{message_id} "
                    f"to webhook {webhook_id}'s endpoint.",
                    flush=True,
                )
    return expected


def _report(
    arrivals: list[Arrival], missing: list[Expected], others: list[ConsumedRecord], timeout: float
) -> None:
    for arrival in arrivals:
        record = arrival.record
        print(
            f"{arrival.expected.test_type}: arrived on {record.topic} [{record.partition}] offset "
            f"{record.offset}, {arrival.seconds:.2f} s after the request (matched by {arrival.matched_by})."
        )
    if not missing:
        print(f"Round trip OK: {len(arrivals)} of {len(arrivals)} test notification(s) reached Kafka.")
        return
    names = ", ".join(e.test_type for e in missing)
    print(f"Not arrived within {timeout:g} s: {names}.")
    if others:
        print(f"Seen on the topics instead ({len(others)} record(s)):")
        for record in others[:SHOWN_OTHERS]:
            print(f"  {describe(record)}")
    else:
        print(
            "Nothing else arrived on the topics either: check that the webhook's endpoint URL "
            "points at this bridge, and that the bridge has the webhook's secret key (its log "
            "shows 'request refused' with status 401 otherwise)."
        )


def _test_json(expected: Expected, arrivals: list[Arrival] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": expected.test_type,
        "accepted": True,
        "preview": masked(expected.preview),
        "event_id": expected.event_id,
    }
    if arrivals is not None:
        arrival = next((a for a in arrivals if a.expected is expected), None)
        out["arrival"] = (
            None
            if arrival is None
            else {
                **_record_json(arrival.record),
                "matched_by": arrival.matched_by,
                "round_trip_seconds": round(arrival.seconds, 3),
            }
        )
    return out


def _record_json(record: ConsumedRecord) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "event_id": record.headers.get("event-id", b"").decode(errors="replace"),
        "summary": describe(record),
    }
