"""What SocketLabs sends: parsing a webhook body into an event, and the event's kind.

Pure functions, no aiohttp and no aiokafka. The rules are the wire rules of docs/architecture.md:
JSON or legacy form bodies, keys read case-insensitively but forwarded with their original casing,
enumerations as a number, a numeric string or a name in any case, and every `Type`, known or not,
accepted.
"""

from __future__ import annotations

import email.utils
import enum
import json
import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from bridge.core.errors import BadRequest


class Kind(enum.StrEnum):
    """Where an event goes: one Kafka topic per kind. `validation` is a handshake, never produced."""

    QUEUED = "queued"
    DEFERRED = "deferred"
    DELIVERED = "delivered"
    FAILED = "failed"
    COMPLAINT = "complaint"
    CLICK = "click"
    OPEN = "open"
    UNSUBSCRIBE = "unsubscribe"
    UNKNOWN = "unknown"
    VALIDATION = "validation"


EVENT_KINDS: tuple[Kind, ...] = tuple(k for k in Kind if k is not Kind.VALIDATION)

# `Type` values, lowercased. The SocketLabs UI calls a delivery "Sent"; the wire says "Delivered".
_KIND_BY_TYPE = {
    "queued": Kind.QUEUED,
    "deferred": Kind.DEFERRED,
    "delivered": Kind.DELIVERED,
    "sent": Kind.DELIVERED,
    "failed": Kind.FAILED,
    "complaint": Kind.COMPLAINT,
    "validation": Kind.VALIDATION,
}
TRACKING_TYPES = ("click", "open", "unsubscribe")  # TrackingType 0, 1, 2


class Event:
    """One SocketLabs event: the fields exactly as received, readable case-insensitively."""

    __slots__ = ("_keys", "fields", "has_float")

    def __init__(self, fields: dict[str, Any], has_float: bool | None = None) -> None:
        self.fields = fields
        self._keys = {key.lower(): key for key in fields}
        # Whether any value, at any depth, is a float: the canonical form (records.canonical_json)
        # needs to know, and the parser has already looked.
        self.has_float = contains_float(fields) if has_float is None else has_float

    def get(self, name: str) -> Any:
        """The value of `name` (given in lowercase) whatever its casing on the wire, or None."""
        key = self._keys.get(name)
        return None if key is None else self.fields[key]

    def text(self, name: str) -> str | None:
        """A field as text: numbers become their decimal form; null, missing and "" become None."""
        value = self.get(name)
        if value is None or value == "" or isinstance(value, (dict, list)):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def without_secret_key(self) -> dict[str, Any]:
        """The fields minus `SecretKey` in any casing: what may leave the bridge."""
        if len(self._keys) == len(self.fields):  # no two keys differ only in casing: the usual case
            fields = dict(self.fields)  # a copy and a delete: far cheaper than the comprehension
            fields.pop(self._keys.get("secretkey"), None)  # type: ignore[arg-type]
            return fields
        return {k: v for k, v in self.fields.items() if k.lower() != "secretkey"}

    @property
    def secret_key(self) -> Any:
        return self.get("secretkey")

    @property
    def type(self) -> str | None:
        return self.text("type")

    @property
    def kind(self) -> Kind:
        event_type = (self.type or "").strip().lower()
        if event_type == "tracking":
            index = enum_index(self.get("trackingtype"), TRACKING_TYPES)
            return Kind(TRACKING_TYPES[index]) if index is not None else Kind.UNKNOWN
        return _KIND_BY_TYPE.get(event_type, Kind.UNKNOWN)

    @property
    def server_id(self) -> int | None:
        value = self.get("serverid")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            return _decimal(value.strip())
        return None

    def occurred_at(self) -> datetime | None:
        """The event's `DateTime` (ISO 8601, up to 7 fractional digits, or legacy RFC 1123)."""
        return parse_datetime(self.get("datetime"))


def enum_index(value: Any, names: tuple[str, ...]) -> int | None:
    """An enumeration sent as a number, a numeric string or a name in any case, as its index."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in names:
            return names.index(text.lower())
        value = _decimal(text)
    if isinstance(value, int) and 0 <= value < len(names):
        return value
    return None


def _decimal(text: str) -> int | None:
    """ASCII digits as a number, else None (str.isdigit() also says yes to "²", which int()
    refuses, and int() refuses more than 4300 digits)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 40:
        return None
    return int(text)


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:  # SocketLabs times are UTC even when they do not say so
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_body(body: bytes, content_type: str) -> Event:
    """Turn a webhook body into an Event, or raise BadRequest saying what is wrong with it.

    JSON when the body starts with `{` (whatever the Content-Type says, since SocketLabs' legacy
    senders were not always right about it); otherwise a form body, the legacy encoding.
    """
    stripped = body.lstrip()
    if not stripped:
        raise BadRequest("The request body is empty; expected one SocketLabs event.")
    if stripped[:1] == b"{":
        fields, has_float = _parse_json_object(body)
    elif stripped[:1] == b"[" or (_media_type(content_type) == "application/json" and b"=" not in body):
        raise BadRequest("The request body is not a JSON object; expected one SocketLabs event.")
    else:
        fields, has_float = _parse_form(body), False
    event = _unwrap(Event(fields, has_float))
    if event.type is None:
        raise BadRequest("The event has no Type field.", code="missing_type")
    return event


def _media_type(content_type: str) -> str:
    """`application/json` of a Content-Type header such as `Application/JSON; charset=utf-8`."""
    return content_type.partition(";")[0].strip().lower()


def _parse_json_object(body: bytes) -> tuple[dict[str, Any], bool]:
    """The object, and whether it holds a float."""
    try:
        fields, has_float = _loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(fields, dict):
        raise BadRequest("The request body is not a JSON object; expected one SocketLabs event.")
    return fields, has_float


def _loads(body: bytes) -> tuple[Any, bool]:
    """orjson first: ten times faster than the standard parser, and SocketLabs events hold no float.

    orjson reads an integer beyond 64 bits as a float, silently changing it, so a body in which
    orjson found any float is read again by the standard parser, which keeps integers exact (and
    so is one orjson refuses: a few things it refuses are still valid JSON).
    """
    try:
        fields = orjson.loads(body)
        if not contains_float(fields):
            return fields, False
    except orjson.JSONDecodeError:
        pass
    fields = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    # JSON can escape a lone surrogate ("\ud800"), which no UTF-8 output (Kafka, the secret
    # comparison) can carry: UnicodeEncodeError, a ValueError, makes it a bad request.
    json.dumps(fields, ensure_ascii=False).encode("utf-8")
    return fields, contains_float(fields)


def contains_float(container: Any) -> bool:
    """Whether a parsed JSON value holds a float at any depth.

    SocketLabs events are flat but for Data (Meta key/value pairs, Tags): a short walk, cheaper
    than a regex over the body (docs/performance.md).
    """
    if type(container) is float:
        return True
    if type(container) is not dict and type(container) is not list:
        return False
    for value in container.values() if type(container) is dict else container:
        kind = type(value)
        if kind is float or ((kind is dict or kind is list) and contains_float(value)):
            return True
    return False


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: orjson refuses it; the standard parser would say inf
        raise ValueError(f"{text} is not a finite number")
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse_form(body: bytes) -> dict[str, Any]:
    try:
        # Raw whitespace cannot be part of a form-encoded field (a space is "+" or "%20"): a trailing
        # newline (a body sent from a file) must not end up in the last value.
        text = body.decode("utf-8").strip()
        # Empty fields are meaningful in legacy posts ("MailingId="), so they are kept.
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The request body is neither a JSON object nor a form body.") from None
    if not pairs:
        raise BadRequest("The request body is neither a JSON object nor a form body.")
    return dict(pairs)


def _unwrap(event: Event) -> Event:
    """Accept the `{"data": {...event...}}` wrapper one SocketLabs sample uses.

    A `Data` object without a `Type` is the normal Meta/Tags object and is left alone.
    """
    if event.get("type") is not None:
        return event
    inner = event.get("data")
    if isinstance(inner, dict):
        wrapped = Event(inner, event.has_float)  # none inside if none in the whole
        if wrapped.get("type") is not None:
            return wrapped
    return event
