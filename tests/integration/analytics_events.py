"""The event set the analytics test posts, and the rows it expects, computed here on their own.

Independent of examples/analytics/: the kind comes from `Type`/`TrackingType` by PROTOCOL rules
written out below, the hour from the stdlib's ISO 8601 and RFC 2822 parsers, duplicates from the
body itself (the same body twice is one event).
"""

from __future__ import annotations

import email.utils
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.helpers import SAMPLE_KINDS, SAMPLE_SECRET, sample

AUTUMN = "Autumn-News"
FAILURE = {"0": "temporary", "temporary": "temporary", "1": "permanent", "permanent": "permanent",
           "2": "suppressed", "suppressed": "suppressed"}  # fmt: skip
TRACKING = {"0": "click", "click": "click", "1": "open", "open": "open", "2": "unsubscribe",
            "unsubscribe": "unsubscribe"}  # fmt: skip
COLUMN = {"queued": "queued", "deferred": "deferred", "delivered": "delivered", "complaint": "complaints",
          "open": "opens", "click": "clicks", "unsubscribe": "unsubscribes", "unknown": "unknown"}  # fmt: skip
COUNTS = ("queued", "deferred", "delivered", "failed_temporary", "failed_permanent", "failed_suppressed",
          "failed_other", "complaints", "opens", "clicks", "unsubscribes", "unknown")  # fmt: skip


def _event(type_: str, when: str | None, message_id: str, **fields: Any) -> dict[str, Any]:
    event = {"Type": type_, "DateTime": when, "ServerId": 30117, "SecretKey": SAMPLE_SECRET}
    return event | {"MailingId": AUTUMN, "MessageId": message_id} | fields


def _form(event: dict[str, Any]) -> tuple[bytes, str]:
    fields = {k: "" if v is None else str(v) for k, v in event.items()}
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


def _json(event: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(event).encode(), "application/json"


def posts() -> list[tuple[str, bytes, str]]:
    """(label, body, content type) in posting order: within a topic partition, event times never go
    back so far that the event's hour closed under the job's 10-minute watermark delay (one pair
    goes back 7 minutes, from 11:05 to 10:58)."""
    out = [(name, *sample(name)) for name in sorted(SAMPLE_KINDS, key=_sample_order)]
    autumn = [
        _event("Queued", "2026-05-20T10:00:00Z", "autumn-1"),  # no fraction
        _event("Queued", "2026-05-20T10:00:00.5Z", "autumn-2"),  # one digit
        _event("Queued", "2026-05-20T10:05:00.1234567Z", "autumn-3"),  # seven, as SocketLabs writes
        _event("Delivered", "2026-05-20T10:20:00.0000000Z", "autumn-1"),
        _event("Failed", "2026-05-20T10:20:30.0000000Z", "autumn-2", FailureType=1),
        _event("Failed", "2026-05-20T10:21:00.0000000Z", "autumn-3", FailureType="permanent"),
        _event(
            "Failed", "2026-05-20T10:30:00.0000000Z", "autumn-4", FailureType="Suppressed", FailureCode=9999
        ),
        _event("Failed", "2026-05-20T10:31:00.0000000Z", "autumn-5", FailureType="2"),
        _event("Failed", "2026-05-20T10:32:00.0000000Z", "autumn-6", FailureType="Temporary"),
        _event("Failed", "2026-05-20T10:33:00.0000000Z", "autumn-7", FailureType=9),  # not a known type
        # 7 minutes back, across the hour: the 10:00 window is still open (watermark 10:55), counted.
        _event("Delivered", "2026-05-20T11:05:00.0000000Z", "autumn-late"),
        _event("Delivered", "2026-05-20T10:58:00.0000000Z", "autumn-late", Response="250 late"),
        _event(
            "Tracking", "2026-05-20T10:59:59.9999999Z", "autumn-1", TrackingType=1
        ),  # still the 10:00 hour
        _event("Tracking", "2026-05-20T11:00:00.0000000Z", "autumn-1", TrackingType="Click", Url="https://x"),
        _event("Tracking", "2026-05-20T11:30:00.0000000Z", "autumn-1", TrackingType="Unsubscribe"),
        _event("Complaint", "2026-05-20T11:40:00.0000000Z", "autumn-1", FblType="abuse"),
        _event("Bounced", "2026-05-20T11:45:00.0000000Z", "autumn-8"),  # a Type the bridge does not know
        _event(
            "Tracking", "2026-05-20T11:46:00.0000000Z", "autumn-1", TrackingType=7
        ),  # nor this TrackingType
        _event("Delivered", "2026-05-20T12:00:00.0000000Z", "autumn-9", MailingId=None),
        {
            k: v
            for k, v in _event("Queued", "2026-05-20T12:01:00.0000000Z", "autumn-10").items()
            if k != "MailingId"
        },
    ]
    out += [(f"autumn {e['Type']} {e['DateTime']}", *_json(e)) for e in autumn]
    form = [  # legacy form posts: every value a string, DateTime in RFC 1123
        _event("Delivered", "Wed, 20 May 2026 11:15:00 GMT", "autumn-11"),
        _event("Failed", "Wed, 20 May 2026 11:16:00 GMT", "autumn-12", FailureType=0, FailureCode=3001),
    ]
    out += [(f"autumn form {e['Type']}", *_form(e)) for e in form]
    # SocketLabs retrying posts it did not see answered: the same bodies again.
    out += [
        ("retry delivered.json", *sample("delivered.json")),
        ("retry legacy-failed.form", *sample("legacy-failed.form")),
    ]
    out += [("retry autumn form Delivered", *_form(form[0]))]
    return out


def late_posts() -> list[tuple[str, bytes, str]]:
    """Posted after the send-test events (whose DateTime is now): an unreadable DateTime counts at
    the time the bridge received it."""
    return [("autumn unreadable DateTime", *_json(_event("Deferred", "last Tuesday", "autumn-13")))]


def _sample_order(name: str) -> tuple[datetime, str]:
    return _moment(_value(*sample(name)).get("DateTime")) or datetime.max.replace(tzinfo=UTC), name


def _value(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type == "application/json":
        event = json.loads(body)
    else:
        event = dict(parse_qsl(body.decode().strip(), keep_blank_values=True))
    return {k: v for k, v in event.items() if k.lower() != "secretkey"}


def _moment(date_time: object) -> datetime | None:
    if not isinstance(date_time, str):
        return None
    try:
        return datetime.fromisoformat(date_time)  # Python 3.11 reads the Z and 7 fractional digits
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(date_time)
    except (TypeError, ValueError):
        return None


def kind(event: dict[str, Any]) -> str | None:
    """The topic an event lands on; None for Validation (never produced)."""
    type_ = str(event["Type"]).lower()
    if type_ == "validation":
        return None
    if type_ == "tracking":
        return TRACKING.get(str(event.get("TrackingType")).lower(), "unknown")
    return type_ if type_ in ("queued", "deferred", "delivered", "failed", "complaint") else "unknown"


class Expected:
    """The rows both jobs must write, from the bodies posted."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.bodies: set[bytes] = set()
        self.events = 0  # distinct events produced to the topics

    def add(self, body: bytes, content_type: str, received: datetime) -> None:
        if body in self.bodies:
            return  # a retry: the same event
        self.bodies.add(body)
        event = _value(body, content_type)
        landed = kind(event)
        if landed is None:
            return
        self.events += 1
        moment = _moment(event.get("DateTime")) or received
        hour = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z")
        if landed == "failed":
            failure_type = FAILURE.get(str(event.get("FailureType", "")).lower(), "other")
            column = f"failed_{failure_type}"
        else:
            column = COLUMN[landed]
        self.counts[(event.get("MailingId") or "", hour)][column] += 1

    def add_send_test(self, kinds: list[str], failure_type: str, hour: datetime) -> None:
        """send-test's events: MailingId bridge-test, DateTime the moment of the post."""
        for name in kinds:
            self.events += 1
            column = f"failed_{FAILURE[failure_type.lower()]}" if name == "failed" else COLUMN[name]
            self.counts[("bridge-test", hour.strftime("%Y-%m-%dT%H:00:00Z"))][column] += 1

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for (mailing_id, hour), counts in sorted(self.counts.items()):
            failed = sum(counts[c] for c in COUNTS if c.startswith("failed_"))
            outcomes = counts["delivered"] + failed
            bounces = counts["failed_temporary"] + counts["failed_permanent"]
            rows.append(
                {"mailing_id": mailing_id, "hour": hour}
                | {c: counts[c] for c in COUNTS}
                | {
                    "delivery_rate": counts["delivered"] / outcomes if outcomes else None,
                    "bounce_rate": bounces / outcomes if outcomes else None,
                }
            )
        return rows
