"""parse_body, Event and enum_index: what SocketLabs sends, read by the wire rules of docs/architecture.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.core import events
from bridge.core.errors import BadRequest
from bridge.core.events import (
    EVENT_KINDS,
    TRACKING_TYPES,
    Event,
    Kind,
    _parse_form,
    contains_float,
    enum_index,
    parse_body,
)
from tests.helpers import SAMPLE_EVENT_KINDS, SAMPLE_SECRET, read_sample, sample_files

JSON_CONTENT_TYPES = ["application/json", "", "application/octet-stream", "text/plain"]
FORM_CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "",
    "application/octet-stream",
    "text/plain",
    "application/json",  # wrong: a legacy sender mislabelling its form body
]

JSON_SAMPLES = [name for name in SAMPLE_EVENT_KINDS if name.endswith(".json")]
FORM_SAMPLES = [name for name in SAMPLE_EVENT_KINDS if name.endswith(".form")]


def _event(**fields: Any) -> Event:
    return parse_body(orjson.dumps(fields), "application/json")


# --- the samples ---------------------------------------------------------------------------------


def test_every_sample_file_has_an_expected_kind() -> None:
    assert {p.name for p in sample_files()} == set(SAMPLE_EVENT_KINDS)


@pytest.mark.parametrize("content_type", JSON_CONTENT_TYPES)
@pytest.mark.parametrize("name", JSON_SAMPLES)
def test_json_sample_parses_to_its_kind(name: str, content_type: str) -> None:
    body = read_sample(name)
    event = parse_body(body, content_type)
    assert event.kind is SAMPLE_EVENT_KINDS[name]
    original = json.loads(body)
    assert event.fields == original
    assert list(event.fields) == list(original)  # key order as received
    assert event.secret_key == SAMPLE_SECRET
    assert event.server_id == 30117


@pytest.mark.parametrize("content_type", FORM_CONTENT_TYPES)
@pytest.mark.parametrize("name", FORM_SAMPLES)
def test_form_sample_parses_to_its_kind(name: str, content_type: str) -> None:
    body = read_sample(name)
    event = parse_body(body, content_type)
    assert event.kind is SAMPLE_EVENT_KINDS[name]
    expected = dict(parse_qsl(body.decode().strip(), keep_blank_values=True))
    assert event.fields == expected
    assert all(isinstance(v, str) for v in event.fields.values())
    assert event.secret_key == SAMPLE_SECRET
    assert event.server_id == 30117  # a string on the wire, read as a number


def test_legacy_form_keeps_empty_values_and_decodes_escapes() -> None:
    event = parse_body(read_sample("legacy-delivered.form"), "application/x-www-form-urlencoded")
    assert event.fields["MailingId"] == ""
    assert event.fields["Response"] == "250 2.0.0 Ok\r\n"
    assert event.fields["Address"] == "ana.lima@example.net"
    assert event.fields["ServerId"] == "30117"
    assert list(event.fields)[:4] == ["Type", "DateTime", "MailingId", "MessageId"]
    failed = parse_body(read_sample("legacy-failed.form"), "application/x-www-form-urlencoded")
    assert failed.fields["RemoteMta"] == ""
    assert failed.fields["BounceStatus"] == ""
    assert failed.fields["DiagnosticCode"] == ""  # the last pair, empty too


def test_form_body_keeps_unknown_keys_verbatim() -> None:
    body = b"Type=Delivered&MailingId=&Data%5BTags%5D%5B0%5D=promo&X-Custom=a%3Db%26c&Meta.Key=&Weird+Key=v+1"
    event = parse_body(body, "application/x-www-form-urlencoded")
    assert event.fields == {
        "Type": "Delivered",
        "MailingId": "",
        "Data[Tags][0]": "promo",
        "X-Custom": "a=b&c",
        "Meta.Key": "",
        "Weird Key": "v 1",
    }
    assert event.kind is Kind.DELIVERED


# --- kinds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("Queued", Kind.QUEUED),
        ("Deferred", Kind.DEFERRED),
        ("Delivered", Kind.DELIVERED),
        ("Sent", Kind.DELIVERED),
        ("Failed", Kind.FAILED),
        ("Complaint", Kind.COMPLAINT),
        ("Validation", Kind.VALIDATION),
        ("delivered", Kind.DELIVERED),
        ("FAILED", Kind.FAILED),
        (" Queued ", Kind.QUEUED),
        ("Bounced", Kind.UNKNOWN),
        ("SomethingNew", Kind.UNKNOWN),
        ("Delivered!", Kind.UNKNOWN),
        (7, Kind.UNKNOWN),
        (True, Kind.UNKNOWN),
    ],
)
def test_type_to_kind(event_type: Any, kind: Kind) -> None:
    assert _event(Type=event_type, SecretKey="s").kind is kind


@pytest.mark.parametrize(
    ("tracking_type", "kind"),
    [
        (0, Kind.CLICK),
        (1, Kind.OPEN),
        (2, Kind.UNSUBSCRIBE),
        (1.0, Kind.OPEN),
        ("0", Kind.CLICK),
        ("1", Kind.OPEN),
        ("2", Kind.UNSUBSCRIBE),
        (" 2 ", Kind.UNSUBSCRIBE),
        ("Click", Kind.CLICK),
        ("click", Kind.CLICK),
        ("OPEN", Kind.OPEN),
        ("oPeN", Kind.OPEN),
        ("Unsubscribe", Kind.UNSUBSCRIBE),
        ("UNSUBSCRIBE", Kind.UNSUBSCRIBE),
        # missing, out of range or not an enumeration value at all: unknown, never dropped
        (None, Kind.UNKNOWN),
        (3, Kind.UNKNOWN),
        (-1, Kind.UNKNOWN),
        ("3", Kind.UNKNOWN),
        ("-1", Kind.UNKNOWN),
        ("", Kind.UNKNOWN),
        ("Bounce", Kind.UNKNOWN),
        (True, Kind.UNKNOWN),
        (False, Kind.UNKNOWN),
        (1.5, Kind.UNKNOWN),
        ([1], Kind.UNKNOWN),
        ({"x": 1}, Kind.UNKNOWN),
        ("\u00b9", Kind.UNKNOWN),  # superscript one: str.isdigit() says yes, int() says no
        ("1" * 5000, Kind.UNKNOWN),  # past int()'s 4300-digit limit
    ],
)
def test_tracking_split_by_tracking_type(tracking_type: Any, kind: Kind) -> None:
    fields: dict[str, Any] = {"Type": "Tracking", "SecretKey": "s"}
    if tracking_type is not None:
        fields["TrackingType"] = tracking_type
    assert _event(**fields).kind is kind


def test_tracking_without_tracking_type_key_is_unknown() -> None:
    assert _event(Type="Tracking", SecretKey="s").kind is Kind.UNKNOWN
    assert _event(Type="Tracking", TrackingType=None).kind is Kind.UNKNOWN


@pytest.mark.parametrize("type_key", ["type", "TYPE", "tYpE"])
@pytest.mark.parametrize("tracking_key", ["trackingtype", "TRACKINGTYPE", "trackingType"])
def test_type_and_tracking_type_keys_are_case_insensitive(type_key: str, tracking_key: str) -> None:
    event = parse_body(orjson.dumps({type_key: "tracking", tracking_key: "Open"}), "application/json")
    assert event.kind is Kind.OPEN
    assert list(event.fields) == [type_key, tracking_key]


def test_event_kinds_are_the_topic_kinds() -> None:
    assert [str(k) for k in EVENT_KINDS] == [
        "queued",
        "deferred",
        "delivered",
        "failed",
        "complaint",
        "click",
        "open",
        "unsubscribe",
        "unknown",
    ]
    assert Kind.VALIDATION not in EVENT_KINDS


# --- keys: read case-insensitively, forwarded with the original casing ------------------------------


@pytest.mark.parametrize(
    ("server_key", "ip_key", "secret_key"),
    [
        ("ServerId", "LocalIp", "SecretKey"),
        ("serverid", "LocalIP", "secretkey"),
        ("SERVERID", "localip", "SECRETKEY"),
        ("ServerID", "LOCALIP", "secretKey"),
    ],
)
def test_keys_read_case_insensitively_forwarded_as_received(
    server_key: str, ip_key: str, secret_key: str
) -> None:
    body = orjson.dumps({"Type": "Delivered", server_key: 30117, ip_key: "142.0.181.40", secret_key: "s3"})
    event = parse_body(body, "application/json")
    assert event.server_id == 30117
    assert event.get("localip") == "142.0.181.40"
    assert event.secret_key == "s3"
    assert list(event.fields) == ["Type", server_key, ip_key, secret_key]
    assert event.without_secret_key() == {"Type": "Delivered", server_key: 30117, ip_key: "142.0.181.40"}


def test_get_missing_key_is_none_and_text_normalises() -> None:
    event = _event(
        Type="Delivered",
        MessageId="",
        MailingId=None,
        ServerId=30117,
        Flag=True,
        Data={"Meta": []},
        Tags=["a"],
        Size=1.5,
    )
    assert event.get("nothere") is None
    assert event.text("nothere") is None
    assert event.text("messageid") is None
    assert event.text("mailingid") is None
    assert event.text("serverid") == "30117"
    assert event.text("flag") == "true"
    assert event.text("data") is None
    assert event.text("tags") is None
    assert event.text("size") == "1.5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (30117, 30117),
        ("30117", 30117),
        (" 30117 ", 30117),
        (0, 0),
        (None, None),
        ("", None),
        ("abc", None),
        ("-5", None),
        ("30117.0", None),
        (True, None),
        (30117.5, None),
        ([30117], None),
        ("\u00b2", None),  # superscript two: isdigit() but not int()
        ("9" * 5000, None),  # past int()'s digit limit
    ],
)
def test_server_id(value: Any, expected: int | None) -> None:
    assert Event({"Type": "Delivered", "ServerId": value}).server_id == expected


# --- the {"data": {...}} wrapper ----------------------------------------------------------------------

PERFORM_TEST_BODY = (
    b'{"data": {"Type": "Delivered", "Response": "Sample Response", "LocalIP": ":01", '
    b'"RemoteMta": "Sample RemoteMta", "DateTime": "2022-09-07T17:49:08.8139901Z", '
    b'"MailingId": "SLNL-0-9999999-9999999", "MessageId": "SampleMessageId", '
    b'"Address": "email@example.com", "ServerId": 16332, "SecretKey": "x", '
    b'"Data": {"Meta": [{"x-mycustommetadata": "I am custom metadata"}], '
    b'"Tags": ["Same Tag", "Same Message"]}}}'
)


@pytest.mark.parametrize("content_type", ["application/json", ""])
def test_perform_test_preview_body_is_unwrapped(content_type: str) -> None:
    event = parse_body(PERFORM_TEST_BODY, content_type)
    assert event.kind is Kind.DELIVERED
    assert event.fields == json.loads(PERFORM_TEST_BODY)["data"]
    assert event.secret_key == "x"
    assert event.server_id == 16332
    assert event.get("localip") == ":01"
    assert event.fields["Data"] == {
        "Meta": [{"x-mycustommetadata": "I am custom metadata"}],
        "Tags": ["Same Tag", "Same Message"],
    }
    assert event.occurred_at() == datetime(2022, 9, 7, 17, 49, 8, 813990, tzinfo=UTC)


@pytest.mark.parametrize("wrapper_key", ["data", "Data", "DATA"])
def test_wrapper_key_any_casing(wrapper_key: str) -> None:
    inner = {"Type": "Tracking", "TrackingType": 1, "SecretKey": "s", "MessageId": "m"}
    event = parse_body(orjson.dumps({wrapper_key: inner}), "application/json")
    assert event.kind is Kind.OPEN
    assert event.fields == inner


def test_metadata_data_object_is_left_alone() -> None:
    body = {
        "Type": "Delivered",
        "SecretKey": "s",
        "Data": {"Meta": [{"Key": "Type", "Value": "Failed"}], "Tags": ["Type"]},
    }
    event = parse_body(orjson.dumps(body), "application/json")
    assert event.kind is Kind.DELIVERED
    assert event.fields == body


def test_data_with_only_meta_and_tags_is_not_a_wrapper() -> None:
    body = {"SecretKey": "s", "Data": {"Meta": [{"Key": "k", "Value": "v"}], "Tags": ["t"]}}
    with pytest.raises(BadRequest) as info:
        parse_body(orjson.dumps(body), "application/json")
    assert info.value.status == 400
    assert info.value.code == "missing_type"


def test_top_level_type_wins_over_a_wrapper() -> None:
    body = {"Type": "Queued", "data": {"Type": "Delivered"}}
    event = parse_body(orjson.dumps(body), "application/json")
    assert event.kind is Kind.QUEUED
    assert event.fields == body


# --- bad bodies -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"", ""),
        (b"   \r\n\t", "application/x-www-form-urlencoded"),
        (b'[{"Type": "Delivered", "SecretKey": "s"}]', "application/json"),
        (b'  [{"Type": "Delivered"}]', ""),
        (b"[]", "text/plain"),
        (b'{"Type": "Delivered",', "application/json"),
        (b'{"Type": "Delivered"} trailing', "application/json"),
        (b"{Type: Delivered}", "application/json"),
        (b'{"Type": "Delivered", "x": NaN}', "application/json"),
        (b'{"Type": "Delivered", "x": Infinity}', ""),
        (b'{"Type": "Delivered", "x": 1e400}', "application/json"),  # overflows to infinity
        (b'{"Type": "Delivered", "x": -1e400, "ServerId": 12345678901234567890123}', ""),
        (b'{"Type": "Delivered", "x": "\xff\xfe"}', "application/json"),
        (b'"Delivered"', "application/json"),
        (b"42", "application/json"),
        (b"null", "application/json"),
        (b"true", "application/json"),
        (b"42", "text/plain"),
        (b'"Type=Delivered"', "application/json"),
        (b"{}", "application/json"),
        (b'{"ServerId": 30117, "SecretKey": "s"}', "application/json"),
        (b'{"Type": null, "SecretKey": "s"}', "application/json"),
        (b'{"Type": "", "SecretKey": "s"}', "application/json"),
        (b'{"Type": {}, "SecretKey": "s"}', "application/json"),
        (b'{"Type": ["Delivered"], "SecretKey": "s"}', "application/json"),
        (b"ServerId=30117&SecretKey=s", "application/x-www-form-urlencoded"),
        (b"Type=&SecretKey=s", "application/x-www-form-urlencoded"),
        (b"Type=Delivered&Address=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"Type=Delivered&Address=%ff%fe", "application/x-www-form-urlencoded"),
        (b"Type=Delivered&Address=%ED%A0%80", "application/x-www-form-urlencoded"),  # a surrogate
        (b"&&&", "application/x-www-form-urlencoded"),
        # JSON allows \ud800 escapes, but a lone surrogate cannot be written out as UTF-8 again
        (b'{"Type": "Delivered", "SecretKey": "\\ud800"}', "application/json"),
        (b'{"Type": "Delivered", "SecretKey": "s", "Address": "a\\udfff@example.net"}', ""),
        (b'{"Type": "Delivered", "SecretKey": "s", "Big": 1' + b"0" * 30 + b', "x": "\\ud800"}', ""),
    ],
)
def test_bad_bodies_are_bad_requests(body: bytes, content_type: str) -> None:
    with pytest.raises(BadRequest) as info:
        # The whole reading, as for a matched secret: a form's other fields are decoded only then.
        parse_body(body, content_type).complete()
    assert info.value.status == 400
    assert info.value.message  # a human sentence for the JSON error body


def test_missing_type_has_its_own_code() -> None:
    with pytest.raises(BadRequest) as info:
        parse_body(b'{"Type": null}', "application/json")
    assert info.value.code == "missing_type"


def test_leading_whitespace_before_json_is_fine() -> None:
    event = parse_body(b' \r\n {"Type": "Queued"}', "text/plain")
    assert event.kind is Kind.QUEUED


def test_integers_beyond_64_bits_are_kept_exact() -> None:
    big = 123456789012345678901234567890
    body = b'{"Type": "Delivered", "ServerId": %d, "MessageSize": -%d, "SecretKey": "s"}' % (big, big)
    event = parse_body(body, "application/json")
    assert event.kind is Kind.DELIVERED
    assert type(event.fields["MessageSize"]) is int  # not silently turned into a float
    assert event.fields["MessageSize"] == -big
    assert event.server_id == big
    assert list(event.fields) == ["Type", "ServerId", "MessageSize", "SecretKey"]


@pytest.mark.parametrize(
    "number",
    [
        2**63 - 1,
        2**63,
        2**64 - 1,
        2**64,
        -(2**63),
        -(2**63) - 1,
        -(2**64),
        10**19,
        -(10**19),
        10**100,
    ],
)
def test_integers_at_and_past_64_bit_edges_are_exact(number: int) -> None:
    body = b'{"Type": "Queued", "MessageSize": %d, "Nested": {"List": [%d, 1.5, "x"]}}' % (number, number)
    event = parse_body(body, "application/json")
    assert event.fields == {"Type": "Queued", "MessageSize": number, "Nested": {"List": [number, 1.5, "x"]}}
    assert type(event.fields["MessageSize"]) is int


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["21:43:58.7138610Z", "[1.5", ", 2e5", '":1.5', "1234567890123456789", "x,-0.0"]
)
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
)
_LAYOUTS = [
    {"separators": (",", ":")},
    {"separators": (", ", ": ")},
    {"indent": 1},
    {"indent": "\t", "separators": (" ,", " : ")},
]


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_TEXT, _VALUES, max_size=6), st.sampled_from(_LAYOUTS))
def test_json_numbers_are_exact_and_floats_are_noticed(value: dict[str, Any], layout: dict[str, Any]) -> None:
    # Whatever the layout, no integer changes (orjson reads big ones as floats) and every float is
    # noticed: the event id's canonical form depends on it.
    body = json.dumps({**value, "Type": "Queued"}, ensure_ascii=False, **layout).encode()
    event = parse_body(body, "application/json")
    expected = json.loads(body)
    assert event.fields == expected
    assert event.has_float == contains_float(expected)


def test_long_digit_strings_parse_the_same() -> None:
    body = (
        b'{"Type": "Delivered", "MessageId": "12345678901234567890123456", '
        b'"Ratio": 0.1, "Small": 1e-7, "Text": "caf\\u00e9 \\ud83d\\ude00"}'
    )
    event = parse_body(body, "application/json")
    assert event.fields == {
        "Type": "Delivered",
        "MessageId": "12345678901234567890123456",
        "Ratio": 0.1,
        "Small": 1e-7,
        "Text": "caf\u00e9 \U0001f600",
    }


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\n\n", b" \t\r\n"])
def test_form_body_trailing_newline_is_not_part_of_the_last_value(ending: bytes) -> None:
    body = b"Type=Delivered&MessageId=m-1&SecretKey=sample-secret" + ending
    event = parse_body(body, "application/x-www-form-urlencoded")
    assert event.secret_key == "sample-secret"
    assert event.fields == {"Type": "Delivered", "MessageId": "m-1", "SecretKey": "sample-secret"}


def test_form_body_encoded_whitespace_is_kept() -> None:
    body = b"Type=Delivered&Response=250+Ok%0D%0A&Reason=%20x%20"
    event = parse_body(body, "application/x-www-form-urlencoded")
    assert event.fields["Response"] == "250 Ok\r\n"
    assert event.fields["Reason"] == " x "


_FORM_PIECES = [
    "&",
    "=",
    "+",
    "%",
    "%4",
    "%41",
    "%2B",
    "%26",
    "%3D",
    "%c3%a9",
    "%e2%84%aa",
    "%ff",
    "a",
    "K",
    "é",
    " ",
]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_FORM_PIECES), max_size=40).map("".join))
def test_a_form_body_reads_as_parse_qsl_reads_it(text: str) -> None:
    # The bridge's own form reader skips unquote for fields without escapes: same fields, same errors.
    try:
        expected: dict[str, str] | None = dict(parse_qsl(text, keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        expected = None
    try:
        fields: dict[str, str] | None = _parse_form(text)
    except BadRequest:
        fields = None
    assert fields == expected
    if fields is not None:
        assert list(fields) == list(expected or {})


def test_events_with_the_same_keys_share_one_key_map_and_the_maps_are_bounded() -> None:
    first = parse_body(b'{"Type":"Queued","SecretKey":"a"}', "application/json")
    second = parse_body(b'{"Type":"Failed","SecretKey":"b"}', "application/json")
    recased = parse_body(b'{"Type":"Queued","SECRETKEY":"c","secretKey":"d"}', "application/json")
    assert first._keys is second._keys
    assert (first.secret_key, second.secret_key, recased.secret_key) == ("a", "b", "d")
    assert recased.without_secret_key() == {"Type": "Queued"}
    for count in range(events._KEY_MAPS_SIZE * 2):
        parse_body(b'{"Type":"Queued","k%d":1}' % count, "application/json")
        assert len(events._KEY_MAPS) <= events._KEY_MAPS_SIZE
    many = orjson.dumps({"Type": "Queued", **{f"k{i}": i for i in range(65)}})
    long = orjson.dumps({"Type": "Queued", "k" * 1100: 1})
    for body in (many, long):
        event = parse_body(body, "application/json")
        assert tuple(event.fields) not in events._KEY_MAPS  # too large to keep
        assert event.get("k64" if body is many else "k" * 1100) is not None


def test_deeply_nested_json_is_a_bad_request_not_a_crash() -> None:
    depth = 5000
    body = b'{"Type": "Delivered", "x": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(BadRequest):
        parse_body(body, "application/json")


# --- DateTime ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-04T10:05:12.9001234Z", datetime(2025, 3, 4, 10, 5, 12, 900123, tzinfo=UTC)),
        ("2026-05-18T08:12:44.1234567Z", datetime(2026, 5, 18, 8, 12, 44, 123456, tzinfo=UTC)),
        ("2026-05-19T21:03:09.0000000Z", datetime(2026, 5, 19, 21, 3, 9, tzinfo=UTC)),
        ("2026-05-18T08:12:44Z", datetime(2026, 5, 18, 8, 12, 44, tzinfo=UTC)),
        ("2026-05-18T08:12:44", datetime(2026, 5, 18, 8, 12, 44, tzinfo=UTC)),  # no zone: UTC
        ("2026-05-18T10:12:44+02:00", datetime(2026, 5, 18, 8, 12, 44, tzinfo=UTC)),
        ("Tue, 04 Mar 2025 10:05:12 GMT", datetime(2025, 3, 4, 10, 5, 12, tzinfo=UTC)),
        ("Mon, 18 May 2026 08:12:44 GMT", datetime(2026, 5, 18, 8, 12, 44, tzinfo=UTC)),
        ("Mon, 18 May 2026 08:12:44 +0000", datetime(2026, 5, 18, 8, 12, 44, tzinfo=UTC)),
    ],
)
def test_occurred_at(value: str, expected: datetime) -> None:
    occurred = _event(Type="Delivered", DateTime=value).occurred_at()
    assert occurred == expected
    assert occurred is not None and occurred.utcoffset() is not None


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-45T99:00:00Z", 1747555964, [], {}])
def test_occurred_at_unreadable_is_none(value: Any) -> None:
    assert _event(Type="Delivered", DateTime=value).occurred_at() is None


def test_occurred_at_missing_is_none() -> None:
    assert _event(Type="Delivered").occurred_at() is None


def test_occurred_at_of_legacy_form_sample() -> None:
    event = parse_body(read_sample("legacy-delivered.form"), "application/x-www-form-urlencoded")
    assert event.occurred_at() == datetime(2026, 5, 18, 8, 12, 44, tzinfo=UTC)


def test_occurred_at_reads_datetime_case_insensitively() -> None:
    event = _event(Type="Delivered", datetime="2026-05-18T08:12:44Z")
    assert event.occurred_at() == datetime(2026, 5, 18, 8, 12, 44, tzinfo=UTC)


# --- enum_index ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1, 1),
        (2, 2),
        (3, None),
        (-1, None),
        (10**30, None),
        (1.0, 1),
        (0.0, 0),
        (2.0, 2),
        (1.5, None),
        (3.0, None),
        (float("nan"), None),
        (float("inf"), None),
        (True, None),
        (False, None),
        ("0", 0),
        ("2", 2),
        (" 1 ", 1),
        ("01", 1),
        ("3", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("", None),
        ("   ", None),
        ("click", 0),
        ("Open", 1),
        ("UNSUBSCRIBE", 2),
        (" open ", 1),
        ("opened", None),
        ("\u00b2", None),
        ("\u2460", None),  # circled digit one
        ("1" * 5000, None),
        (None, None),
        ([], None),
        ({}, None),
        (b"1", None),
    ],
)
def test_enum_index(value: Any, expected: int | None) -> None:
    assert enum_index(value, TRACKING_TYPES) == expected


# FailureType 0, 1, 2: the bridge forwards it as sent, but it is read like TrackingType.
FAILURE_TYPES = ("temporary", "permanent", "suppressed")


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), ("1", 1), ("Permanent", 1), ("suppressed", 2), ("Soft", None)]
)
def test_enum_index_failure_types(value: Any, expected: int | None) -> None:
    assert enum_index(value, FAILURE_TYPES) == expected
