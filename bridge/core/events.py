"""What SocketLabs sends: parsing a webhook body into an event, and the event's kind.

Pure functions, no aiohttp and no aiokafka. The rules are the wire rules of docs/architecture.md:
JSON or legacy form bodies, keys read case-insensitively but forwarded with their original casing,
enumerations as a number, a numeric string or a name in any case, and every `Type`, known or not,
accepted.

A post is read in two steps, because its secret is inside it and anyone can post: `parse_body`
reads what authentication needs, within limits no SocketLabs event comes near, and the rest (a
form's other fields, a JSON body's exact numbers) is read by `Event.complete` once the secret has
matched. docs/security.md has the limits and what a refused post costs.
"""

from __future__ import annotations

import email.utils
import enum
import json
import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

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

# What a SocketLabs event never comes near (about 20 fields, a Data object of at most 10 Meta pairs
# and 25 Tags: some 200 '"' and 14 objects and arrays), checked before the body is parsed, so that
# a post with a wrong secret costs about one parse of its bytes (docs/security.md).
MAX_FIELDS = 256  # top-level keys of a JSON event (or of its {"data": ...} wrapper)
MAX_JSON_QUOTES = 4096  # '"' characters: each key and string takes two
MAX_JSON_CONTAINERS = 256  # '{' and '[' characters: objects and arrays, so also their nesting depth
MAX_FORM_FIELDS = 1000  # fields of a form body ('&'-separated)
MAX_FORM_AUTH_BYTES = 1024  # the Type and SecretKey fields of a form body, as sent


class Event:
    """One SocketLabs event: the fields exactly as received, readable case-insensitively.

    `parse_body` may leave part of the reading for later (`complete`): then `fields`, `get` and
    everything built on them read the rest first, so they always give the whole event, exact.
    """

    __slots__ = ("_has_float", "_keys", "_pending", "_view", "_wrapper")

    def __init__(
        self,
        fields: dict[str, Any],
        has_float: bool | None = None,
        *,
        pending: bytes | str | None = None,
        wrapper: str | None = None,
    ) -> None:
        self._view = fields
        self._keys = _lowercase_keys(fields)
        # Whether any value, at any depth, is a float: the canonical form (records.canonical_json)
        # needs to know. Found by `complete` or on first use.
        self._has_float = has_float
        # What is left to read: a JSON body (its floats may be orjson's reading of integers past
        # 64 bits) or the text of a form body (only its Type and SecretKey are in `_view`).
        self._pending = pending
        self._wrapper = wrapper  # the key of the {"data": {...}} wrapper `_view` came out of

    @property
    def fields(self) -> dict[str, Any]:
        if self._pending is not None:
            self.complete()
        return self._view

    @property
    def has_float(self) -> bool:
        if self._pending is not None:
            self.complete()
        if self._has_float is None:
            self._has_float = contains_float(self._view)
        return self._has_float

    def complete(self) -> Event:
        """Read what `parse_body` left for after authentication; BadRequest if that part is bad."""
        pending, self._pending = self._pending, None
        if pending is None:
            return self
        if isinstance(pending, str):
            fields, self._has_float = _parse_form(pending), False
        else:
            self._has_float = contains_float(self._view)
            if not self._has_float:
                return self  # orjson read every number exactly
            fields = _parse_json_exactly(pending)
            if self._wrapper is not None:
                fields = fields[self._wrapper]
            self._has_float = contains_float(fields)
        self._view = fields
        self._keys = _lowercase_keys(fields)
        return self

    def get(self, name: str) -> Any:
        """The value of `name` (given in lowercase) whatever its casing on the wire, or None."""
        if self._pending is not None:
            self.complete()
        key = self._keys.get(name)  # _peek's two lines, inline: get runs a dozen times per event
        return None if key is None else self._view[key]

    def _peek(self, name: str) -> Any:
        """`get` without reading the rest: what authentication may look at (Type, SecretKey)."""
        key = self._keys.get(name)
        return None if key is None else self._view[key]

    def text(self, name: str) -> str | None:
        """A field as text: numbers become their decimal form; null, missing and "" become None."""
        if self._pending is not None:
            self.complete()
        key = self._keys.get(name)
        value = None if key is None else self._view[key]
        if value is None or value == "" or isinstance(value, (dict, list)):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def without_secret_key(self) -> dict[str, Any]:
        """The fields minus `SecretKey` in any casing: what may leave the bridge."""
        if self._pending is not None:
            self.complete()
        fields = self._view
        if len(self._keys) == len(fields):  # no two keys differ only in casing: the usual case
            fields = dict(fields)  # a copy and a delete: far cheaper than the comprehension
            fields.pop(self._keys.get("secretkey"), None)  # type: ignore[arg-type]
            return fields
        return {k: v for k, v in fields.items() if k.lower() != "secretkey"}

    @property
    def secret_key(self) -> Any:
        return self._peek("secretkey")

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


# Key sets seen (keys as sent -> lowercase key -> key): SocketLabs sends the same few over and
# over, and looking one up (its keys are orjson's cached strings, hashed once) costs a tenth of
# lowering and storing every key again. Bounded: small key sets only, cleared when full.
_KEY_MAPS: dict[tuple[str, ...], dict[str, str]] = {}
_KEY_MAPS_SIZE = 256  # entries; each at most 64 keys and 1,024 characters of keys


def _lowercase_keys(fields: dict[str, Any]) -> dict[str, str]:
    """Lowercase key -> the key as sent (the last one, if several differ only in casing); shared
    between events with the same keys, so never changed."""
    if len(fields) > 64:  # never kept: not looked up either
        return {key.lower(): key for key in fields}
    keys = tuple(fields)
    known = _KEY_MAPS.get(keys)
    if known is None:
        known = {key.lower(): key for key in keys}
        if sum(map(len, keys)) <= 1024:
            if len(_KEY_MAPS) >= _KEY_MAPS_SIZE:
                _KEY_MAPS.clear()
            _KEY_MAPS[keys] = known
    return known


def _text(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
    senders were not always right about it); otherwise a form body, the legacy encoding. Only
    what authentication needs is read here; the Event reads the rest when it is asked for it.
    """
    stripped = body.lstrip()
    if not stripped:
        raise BadRequest("The request body is empty; expected one SocketLabs event.")
    if stripped[:1] == b"{":
        event = _json_event(body if stripped[1:2] != b"\0" else _utf8(body))
        if event._peek("type") is None:
            event = _unwrap(event)
    elif stripped[:1] == b"[" or (_media_type(content_type) == "application/json" and b"=" not in body):
        raise BadRequest("The request body is not a JSON object; expected one SocketLabs event.")
    else:
        event = _form_event(body)
    key = event._keys.get("type")  # _peek, inline: this runs for every post
    if key is None or _text(event._view[key]) is None:
        raise BadRequest("The event has no Type field.", code="missing_type")
    return event


def _media_type(content_type: str) -> str:
    """`application/json` of a Content-Type header such as `Application/JSON; charset=utf-8`."""
    return content_type.partition(";")[0].strip().lower()


def _json_event(body: bytes) -> Event:
    """The event as orjson reads it: every string exact, an integer past 64 bits a float for now."""
    # Counted before parsing: orjson's time grows with the number of keys and containers far more
    # than with bytes (a body of 80,000 empty arrays takes it 30 times as long as an event's bytes).
    if len(body) > MAX_JSON_QUOTES and body.count(b'"') > MAX_JSON_QUOTES:  # counted only if it can be
        raise _too_complex(
            f"The JSON body has more than {MAX_JSON_QUOTES // 2} keys and strings; an event has about 100."
        )
    # Not counted in a body of at most 1 KiB (most events): the count would add 8% to an accepted
    # event, and orjson's worst over 1 KiB is bounded (docs/security.md).
    if len(body) > 1024 and body.count(b"{") + body.count(b"[") > MAX_JSON_CONTAINERS:
        raise _too_complex(
            f"The JSON body has more than {MAX_JSON_CONTAINERS} objects and arrays; an event has about 15."
        )
    try:
        fields = orjson.loads(body)
    except orjson.JSONDecodeError:
        # What orjson refuses in UTF-8 the standard parser refuses too, or the bridge after it
        # (a lone surrogate, a number too large for a float, NaN, nesting past 1,024 levels).
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(fields, dict):
        raise BadRequest("The request body is not a JSON object; expected one SocketLabs event.")
    if len(fields) > MAX_FIELDS:  # _few_fields, inline: a call per accepted event counts
        _few_fields(fields)
    return Event(fields, pending=body)


def _utf8(body: bytes) -> bytes:
    """A UTF-16 or UTF-32 JSON body (the standard parser accepts them; orjson reads UTF-8 only)."""
    try:
        return body.decode(json.detect_encoding(body)).encode("utf-8")
    except UnicodeError:
        raise BadRequest("The request body is not valid JSON.") from None


def _few_fields(fields: dict[str, Any]) -> dict[str, Any]:
    if len(fields) > MAX_FIELDS:
        raise _too_complex(f"The event has more than {MAX_FIELDS} fields; a SocketLabs event has about 20.")
    return fields


def _too_complex(sentence: str) -> BadRequest:
    return BadRequest(sentence, code="too_complex")


def _parse_json_exactly(body: bytes) -> dict[str, Any]:
    """The standard parser's reading, which keeps integers exact; orjson has already accepted it."""
    try:
        fields = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
        # JSON can escape a lone surrogate ("\ud800"), which no UTF-8 output (Kafka, the secret
        # comparison) can carry: UnicodeEncodeError, a ValueError, makes it a bad request.
        json.dumps(fields, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON.") from None
    assert isinstance(fields, dict)
    return fields


def contains_float(container: Any) -> bool:
    """Whether a parsed JSON value holds a float at any depth.

    SocketLabs events are flat but for Data (Meta key/value pairs, Tags): a short walk, cheaper
    than a regex over the body (docs/performance.md), done after authentication. A list of the
    containers still to look into rather than recursion: a call per Meta pair cost more than the
    pair's values.
    """
    kind = type(container)
    if kind is float:
        return True
    if kind is not dict and kind is not list:
        return False
    todo = [container]
    for inner in todo:  # grows while it is walked: each container found is looked into in turn
        for value in inner.values() if type(inner) is dict else inner:
            kind = type(value)
            if kind is float:
                return True
            if kind is dict or kind is list:
                todo.append(value)
    return False


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: orjson refuses it; the standard parser would say inf
        raise ValueError(f"{text} is not a finite number")
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _spelled(name: str) -> str:
    """A pattern for every spelling of a form key that parse_qsl and str.lower() read as `name`
    (in any case, with IGNORECASE): each letter as itself or percent-escaped, and for "k" the
    Kelvin sign, whose lowercase is "k"."""
    letters = []
    for letter in name:
        spellings = [letter, f"%{ord(letter):02x}", f"%{ord(letter.upper()):02x}"]
        if letter == "k":
            spellings.append("%e2%84%aa")
        letters.append(f"(?:{'|'.join(spellings)})")
    return "".join(letters)


# A field named Type or SecretKey: "&" (the text is searched with one in front), the key, then "="
# or the end of the field. A literal first character lets the regex engine skip to each "&", and
# the look-ahead for the keys' first letters turns other fields away at half the cost of trying
# every spelling (with IGNORECASE it also takes "T", "S" and the long s, as the spellings do).
_AUTH_FIELD = re.compile(f"&(?=[ts%])(?:{_spelled('type')}|{_spelled('secretkey')})(?==|&|$)", re.IGNORECASE)


def _form_event(body: bytes) -> Event:
    """A form body's Type and SecretKey, the same as a full parse_qsl would read them; the other
    fields, however many escapes they hold, are decoded only after authentication."""
    try:
        # Raw whitespace cannot be part of a form-encoded field (a space is "+" or "%20"): a trailing
        # newline (a body sent from a file) must not end up in the last value.
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadRequest("The request body is neither a JSON object nor a form body.") from None
    if not text.strip("&"):
        raise BadRequest("The request body is neither a JSON object nor a form body.")
    if text.count("&") >= MAX_FORM_FIELDS:
        raise _too_complex(
            f"The form body has more than {MAX_FORM_FIELDS} fields; a SocketLabs event has about 20."
        )
    searched = "&" + text
    pieces = []
    for match in _AUTH_FIELD.finditer(searched):
        end = searched.find("&", match.end())
        pieces.append(searched[match.start() + 1 : None if end < 0 else end])
    if sum(map(len, pieces)) > MAX_FORM_AUTH_BYTES:
        raise _too_complex(
            f"The form body's Type and SecretKey fields exceed {MAX_FORM_AUTH_BYTES} bytes; SocketLabs' take a few dozen."
        )
    return Event(_parse_form("&".join(pieces)) if pieces else {}, False, pending=text)


def _parse_form(text: str) -> dict[str, Any]:
    """What `dict(parse_qsl(text, keep_blank_values=True, errors="strict"))` reads, in half the time:
    parse_qsl unquotes every name and value, and most hold no escape (tests compare the two)."""
    fields = {}
    try:
        for field in text.split("&"):
            if field:  # an empty field is skipped; a field without "=" is a name with an empty value
                name, _, value = field.partition("=")
                if "+" in name:
                    name = name.replace("+", " ")
                if "%" in name:
                    name = unquote(name, errors="strict")
                if "+" in value:
                    value = value.replace("+", " ")
                if "%" in value:
                    value = unquote(value, errors="strict")
                fields[name] = value  # empty values are meaningful in legacy posts ("MailingId=")
    except UnicodeDecodeError:
        raise BadRequest("The request body is neither a JSON object nor a form body.") from None
    return fields


def _unwrap(event: Event) -> Event:
    """Accept the `{"data": {...event...}}` wrapper one SocketLabs sample uses (for a JSON event
    without a Type). A `Data` object without a `Type` is the normal Meta/Tags object and is left alone.
    """
    key = event._keys.get("data")
    inner = None if key is None else event._view[key]
    if isinstance(inner, dict):
        wrapped = Event(_few_fields(inner), pending=event._pending, wrapper=key)
        if wrapped._peek("type") is not None:
            return wrapped
    return event
