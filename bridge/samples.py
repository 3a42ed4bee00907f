"""Realistic sample events of every kind, as SocketLabs' Event Tester sends them.

Used by `send-test` and the `dev` quick start. Field names and shapes follow PROTOCOL.md.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

SAMPLE_KINDS = ("queued", "deferred", "delivered", "failed", "complaint", "click", "open", "unsubscribe")

_DATA = {"Meta": [{"Key": "CustomerId", "Value": "C-10001"}], "Tags": ["bridge-test"]}


def sample_event(
    kind: str, secret_key: str, *, message_id: str | None = None, server_id: int = 30117
) -> dict[str, Any]:
    """One event of `kind` (a bridge kind such as `delivered` or `click`, or `validation`)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    common: dict[str, Any] = {
        "DateTime": now,
        "ServerId": server_id,
        "SecretKey": secret_key,
        "Address": "recipient@example.com",
        "MailingId": "bridge-test",
        "MessageId": message_id or f"test-{uuid.uuid4().hex[:16]}",
    }
    specific: dict[str, dict[str, Any]] = {
        "queued": {
            "Type": "Queued",
            "FromAddress": "sender@example.com",
            "Subject": "Test",
            "MessageSize": 2048,
            "Data": _DATA,
        },
        "deferred": {
            "Type": "Deferred",
            "FromAddress": "sender@example.com",
            "DeferralCode": 3003,
            "Reason": "451 4.7.1 Try again later",
            "Data": _DATA,
        },
        "delivered": {
            "Type": "Delivered",
            "Response": "250 2.0.0 Ok",
            "LocalIp": "142.0.181.40",
            "RemoteMta": "mx.example.com",
            "Data": _DATA,
        },
        "failed": {
            "Type": "Failed",
            "FromAddress": "sender@example.com",
            "Reason": "550 5.1.1 User unknown",
            "BounceStatus": "5.1.1",
            "DiagnosticCode": "smtp; 550 5.1.1 User unknown",
            "FailureType": "Permanent",
            "FailureCode": 2001,
            "RemoteMta": "mx.example.com",
            "Data": _DATA,
        },
        "complaint": {
            "Type": "Complaint",
            "FblType": "abuse",
            "UserAgent": "ExampleISP-FBL/1.0",
            "From": "fbl@isp.example.org",
            "To": "recipient@example.com",
            "Length": 1873,
        },
        "click": {
            "Type": "Tracking",
            "TrackingType": 0,
            "ClientIp": "198.51.100.23",
            "UserAgent": "Mozilla/5.0",
            "Url": "https://example.com/offer",
            "Data": _DATA,
        },
        "open": {
            "Type": "Tracking",
            "TrackingType": 1,
            "ClientIp": "198.51.100.23",
            "UserAgent": "Mozilla/5.0",
            "Data": _DATA,
        },
        "unsubscribe": {
            "Type": "Tracking",
            "TrackingType": 2,
            "ClientIp": "198.51.100.23",
            "UserAgent": "Mozilla/5.0",
        },
        "validation": {"Type": "Validation"},
    }
    return {"Type": specific[kind].pop("Type"), **common, **specific[kind]}


def form_body(event: dict[str, Any]) -> str:
    """The legacy form encoding: flat fields as strings (nested Data is left out, as legacy did)."""
    return urlencode(
        {k: "" if v is None else str(v) for k, v in event.items() if not isinstance(v, (dict, list))}
    )
