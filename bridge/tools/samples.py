"""Realistic sample events of every kind, as SocketLabs' Event Tester sends them.

Used by `send-test` and the `dev` quick start. Field names and shapes follow the wire rules in
docs/architecture.md: JSON posts carry an ISO 8601 `DateTime` with seven fractional digits; legacy
form posts carry every value as a string, `DateTime` in RFC 1123, and no nested `Data`.
"""

from __future__ import annotations

import email.utils
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

# The mail kinds, one per event topic (`unknown` aside): what `send-test --type all` posts.
SAMPLE_KINDS = ("queued", "deferred", "delivered", "failed", "complaint", "click", "open", "unsubscribe")
# Every kind `sample_event` knows: `unknown` posts a Type the bridge does not know, `validation`
# the handshake (never produced to Kafka).
ALL_KINDS = (*SAMPLE_KINDS, "unknown", "validation")
# The SocketLabs UI says "Sent" where the wire says "Delivered".
KIND_ALIASES = {"sent": "delivered"}


def sample_event(
    kind: str,
    secret_key: str,
    *,
    message_id: str | None = None,
    server_id: int = 30117,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One event of `kind` (see ALL_KINDS and KIND_ALIASES) with a fresh MessageId."""
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in ALL_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    common: dict[str, Any] = {
        # SocketLabs writes 7 fractional digits (.NET ticks); Python has 6, so pad with a zero.
        "DateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
        "ServerId": server_id,
        "SecretKey": secret_key,
        "Address": "recipient@example.com",
        "MailingId": "bridge-test",
        "MessageId": message_id or f"test-{uuid.uuid4().hex[:16]}",
    }
    specific: dict[str, Any] = _SPECIFIC[kind]()
    return {"Type": specific.pop("Type"), **common, **specific}


def form_body(event: dict[str, Any]) -> str:
    """The legacy form encoding: flat fields as strings, DateTime in RFC 1123, no nested Data."""
    fields: dict[str, str] = {}
    for key, value in event.items():
        if isinstance(value, (dict, list)):
            continue  # how legacy posts encoded Data is unknown (docs/architecture.md, Encodings)
        if key == "DateTime" and isinstance(value, str):
            value = _rfc1123(value)
        fields[key] = "" if value is None else str(value)
    return urlencode(fields)


def _rfc1123(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(iso)  # takes SocketLabs' 7 fractional digits too
    except ValueError:
        return iso  # not ISO 8601 (already RFC 1123, or made up by a test): leave it alone
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


# Functions, not dicts: every call gets its own copy, so a caller may change the event freely.
_SPECIFIC: dict[str, Any] = {
    "queued": lambda: {
        "Type": "Queued",
        "FromAddress": "sender@example.com",
        "Subject": "Test",
        "MessageSize": 2048,
        "Data": _data(),
    },
    "deferred": lambda: {
        "Type": "Deferred",
        "FromAddress": "sender@example.com",
        "DeferralCode": 3003,
        "Reason": "451 4.7.1 Try again later",
        "Data": _data(),
    },
    "delivered": lambda: {
        "Type": "Delivered",
        "Response": "250 2.0.0 Ok",
        "LocalIp": "142.0.181.40",
        "RemoteMta": "mx.example.com",
        "Data": _data(),
    },
    "failed": lambda: {
        "Type": "Failed",
        "FromAddress": "sender@example.com",
        "Reason": "550 5.1.1 User unknown",
        "BounceStatus": "5.1.1",
        "DiagnosticCode": "smtp; 550 5.1.1 User unknown",
        "FailureType": "Permanent",
        "FailureCode": 2001,
        "RemoteMta": "mx.example.com",
        "Data": _data(),
    },
    "complaint": lambda: {
        "Type": "Complaint",
        "FblType": "abuse",
        "UserAgent": "ExampleISP-FBL/1.0",
        "From": "fbl@isp.example.org",
        "To": "recipient@example.com",
        "Length": 1873,
    },
    "click": lambda: {
        "Type": "Tracking",
        "TrackingType": 0,
        "ClientIp": "198.51.100.23",
        "UserAgent": "Mozilla/5.0",
        "Url": "https://example.com/offer",
        "Data": _data(),
    },
    "open": lambda: {
        "Type": "Tracking",
        "TrackingType": 1,
        "ClientIp": "198.51.100.23",
        "UserAgent": "Mozilla/5.0",
        "Data": _data(),
    },
    "unsubscribe": lambda: {
        "Type": "Tracking",
        "TrackingType": 2,
        "ClientIp": "198.51.100.23",
        "UserAgent": "Mozilla/5.0",
    },
    # A Type SocketLabs might add one day: the bridge must put it on the `unknown` topic.
    "unknown": lambda: {"Type": "BridgeTestUnknownType", "Note": "not a SocketLabs type (yet)"},
    "validation": lambda: {"Type": "Validation"},
}


def _data() -> dict[str, Any]:
    return {"Meta": [{"Key": "CustomerId", "Value": "C-10001"}], "Tags": ["bridge-test"]}
