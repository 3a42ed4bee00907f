"""Recognising, among the records on the bridge's topics, the test notification SocketLabs sent.

`socketlabs test --watch` asks SocketLabs to post a sample notification and then reads the topics.
The perform-test answer previews the notification, so the record the bridge produced for it can
be recognised by content; from the strictest to the loosest:

1. `event-id`: the preview minus `SecretKey` hashes to the record's `event-id` header (the bridge
   forwards the event unchanged, so an identical post gives an identical id);
2. `MessageId+Type+DateTime`: the same three fields, should SocketLabs add or drop a field;
3. `MessageId+Type`: should SocketLabs stamp the post with a fresh `DateTime`;
4. `kind`: no preview at all, so any record of the expected kind.
Rules 2 to 4 also want the record on the expected kind's topic.

Only records produced after the request was sent are read, which keeps the loose rules honest.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from bridge.core.events import Event, Kind
from bridge.core.records import canonical_json
from bridge.kafka.client import ConsumedRecord

# perform-test's `type` and the topic kind the bridge gives that notification.
TYPE_KINDS: dict[str, Kind] = {
    "sent": Kind.DELIVERED,
    "queued": Kind.QUEUED,
    "failed": Kind.FAILED,
    "deferred": Kind.DEFERRED,
    "complaint": Kind.COMPLAINT,
    "click": Kind.CLICK,
    "open": Kind.OPEN,
}


@dataclass(frozen=True)
class Expected:
    test_type: str
    preview: dict[str, Any] | None
    requested_at: float  # time.monotonic() just before the perform-test request

    @property
    def kind(self) -> Kind:
        return TYPE_KINDS[self.test_type]

    @property
    def event_id(self) -> str | None:
        if self.preview is None:
            return None
        return hashlib.sha256(canonical_json(Event(self.preview).without_secret_key())).hexdigest()


@dataclass(frozen=True)
class Arrival:
    expected: Expected
    record: ConsumedRecord
    matched_by: str
    seconds: float  # from the perform-test request to the record reaching this reader


def match(expected: Expected, record: ConsumedRecord) -> str | None:
    """How `record` is the notification `expected` announced (see the module doc), or None."""
    if expected.event_id is not None and record.headers.get("event-id") == expected.event_id.encode():
        return "event-id"
    if record.headers.get("event-type") != expected.kind.value.encode():
        return None  # the looser rules also want the topic kind (click and open share a MessageId)
    if expected.preview is None:
        return "kind"
    event = event_of(record)
    if event is None:
        return None
    want = Event(expected.preview)
    if want.text("messageid") is None or want.text("messageid") != event.text("messageid"):
        return None
    if (want.type or "").lower() != (event.type or "").lower():
        return None
    if want.text("datetime") == event.text("datetime"):
        return "MessageId+Type+DateTime"
    return "MessageId+Type"


def event_of(record: ConsumedRecord) -> Event | None:
    try:
        fields = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return None
    return Event(fields) if isinstance(fields, dict) else None


async def await_arrivals(
    records: AsyncIterator[ConsumedRecord], expected: list[Expected], deadline: float
) -> tuple[list[Arrival], list[ConsumedRecord]]:
    """Read until every expected notification arrived or `deadline` (time.monotonic()) passed;
    return the arrivals and every other record seen meanwhile."""
    arrivals: list[Arrival] = []
    others: list[ConsumedRecord] = []
    pending = list(expected)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(loop.time() + max(deadline - time.monotonic(), 0.0)):
            async for record in records:
                now = time.monotonic()
                for want in pending:
                    how = match(want, record)
                    if how is not None:
                        arrivals.append(Arrival(want, record, how, now - want.requested_at))
                        pending.remove(want)
                        break
                else:
                    others.append(record)
                if not pending:
                    break
    except TimeoutError:
        pass
    return arrivals, others


def describe(record: ConsumedRecord) -> str:
    """One line naming a record that was not the awaited one, without personal data."""
    event = event_of(record)
    event_id = record.headers.get("event-id", b"").decode(errors="replace")[:16]
    fields = "not a JSON object"
    if event is not None:
        fields = (
            f"Type {event.type!r}, MessageId {event.text('messageid')!r}, DateTime {event.text('datetime')!r}"
        )
    return f"{record.topic} [{record.partition}] offset {record.offset}: {fields}, event-id {event_id}..."
