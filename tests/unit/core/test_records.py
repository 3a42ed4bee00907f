"""to_record: the Kafka record the contract describes, and properties of parse_body + to_record."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.core.errors import BadRequest
from bridge.core.events import EVENT_KINDS, Event, Kind, parse_body
from bridge.core.records import Record, canonical_json, rfc3339, to_record
from bridge.core.settings import load_settings
from tests.helpers import SAMPLE_EVENT_KINDS, SAMPLE_SECRET, micros, read_sample

RECEIVED_AT = datetime(2026, 5, 18, 8, 12, 45, 123456, tzinfo=UTC)
RECEIVED_MS = 1779091965123
HEADER_NAMES = ["event-type", "event-id", "webhook", "server-id", "received-at", "content-type"]
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
PRODUCED_SAMPLES = [name for name, kind in SAMPLE_EVENT_KINDS.items() if kind is not Kind.VALIDATION]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def topics() -> dict[Kind, str]:
    """The topic map the configuration builds, with a non-default prefix."""
    environ = {
        "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "BRIDGE_SECRET_KEY": "s",
        "BRIDGE_TOPIC_PREFIX": "acme",
    }
    return dict(load_settings(None, environ).topics)


def expected_event_id(value: dict[str, Any]) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(canonical).hexdigest()


def ordered(value: Any) -> Any:
    """A JSON value with every object as its list of pairs and every scalar tagged with its type,
    so equality also checks key order and does not take true for 1 or 1 for 1.0."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return (type(value).__name__, value)


def headers_of(record: Record) -> dict[str, str]:
    names = [name for name, _ in record.headers]
    assert len(names) == len(set(names)), names
    assert all(isinstance(v, bytes) for _, v in record.headers)
    return {name: value.decode() for name, value in record.headers}


def record_of(body: bytes, content_type: str, topics: dict[Kind, str], webhook: str = "default") -> Record:
    event = parse_body(body, content_type)
    return to_record(event, event.kind, webhook=webhook, topics=topics, received_us=micros(RECEIVED_AT))


def _content_type(name: str) -> str:
    return "application/json" if name.endswith(".json") else "application/x-www-form-urlencoded"


def _input_fields(name: str) -> dict[str, Any]:
    body = read_sample(name)
    if name.endswith(".json"):
        return json.loads(body)
    return dict(parse_qsl(body.decode().strip(), keep_blank_values=True))


# --- the samples ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRODUCED_SAMPLES)
def test_sample_record(name: str, topics: dict[Kind, str]) -> None:
    kind = SAMPLE_EVENT_KINDS[name]
    record = record_of(read_sample(name), _content_type(name), topics, webhook="account")

    assert record.topic == f"acme.{kind}"
    assert record.key == _input_fields(name)["MessageId"].encode()
    assert record.key in (b"ord-77120-a", b"ord-77121-a")

    expected = {k: v for k, v in _input_fields(name).items() if k.lower() != "secretkey"}
    value = json.loads(record.value.decode("utf-8"))
    assert ordered(value) == ordered(expected)  # exactly the input minus the secret, in order
    assert SAMPLE_SECRET.encode() not in record.value

    headers = headers_of(record)
    assert sorted(headers) == sorted(HEADER_NAMES)
    assert headers["event-type"] == str(kind)
    assert headers["webhook"] == "account"
    assert headers["server-id"] == "30117"
    assert headers["content-type"] == "application/json"
    assert RFC3339_UTC.match(headers["received-at"])
    assert datetime.fromisoformat(headers["received-at"]) == RECEIVED_AT
    assert headers["event-id"] == record.event_id == expected_event_id(expected)
    assert re.fullmatch(r"[0-9a-f]{64}", record.event_id)
    assert all(SAMPLE_SECRET.encode() not in v for _, v in record.headers)

    assert record.timestamp_ms == RECEIVED_MS


def test_topics_cover_every_event_kind(topics: dict[Kind, str]) -> None:
    assert topics == {kind: f"acme.{kind}" for kind in EVENT_KINDS}
    assert Kind.VALIDATION not in topics


def test_topic_override_is_used() -> None:
    event = parse_body(read_sample("delivered.json"), "application/json")
    overridden = {kind: f"x.{kind}" for kind in EVENT_KINDS} | {Kind.DELIVERED: "email.delivered.v1"}
    record = to_record(event, Kind.DELIVERED, webhook="w", topics=overridden, received_us=micros(RECEIVED_AT))
    assert record.topic == "email.delivered.v1"


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"MessageId": "ord-1"}, b"ord-1"),
        ({"messageid": "lower"}, b"lower"),
        ({"MessageId": "ünï-çødé"}, "ünï-çødé".encode()),
        ({"MessageId": 12345}, b"12345"),
        ({}, None),
        ({"MessageId": ""}, None),
        ({"MessageId": None}, None),
    ],
)
def test_key(fields: dict[str, Any], key: bytes | None, all_topics: dict[Kind, str]) -> None:
    record = record_of(orjson.dumps({"Type": "Queued", "SecretKey": "s", **fields}), "", all_topics)
    assert record.key == key


def test_form_message_id_empty_means_no_key(all_topics: dict[Kind, str]) -> None:
    record = record_of(b"Type=Queued&MessageId=&SecretKey=s", "application/x-www-form-urlencoded", all_topics)
    assert record.key is None


@pytest.mark.parametrize(
    ("fields", "server_id"),
    [
        ({"ServerId": 30117}, "30117"),
        ({"serverid": "30117"}, "30117"),
        ({"SERVERID": 7}, "7"),
        ({}, None),
        ({"ServerId": None}, None),
        ({"ServerId": ""}, None),
    ],
)
def test_server_id_header_only_when_present(
    fields: dict[str, Any], server_id: str | None, all_topics: dict[Kind, str]
) -> None:
    record = record_of(orjson.dumps({"Type": "Queued", "SecretKey": "s", **fields}), "", all_topics)
    headers = headers_of(record)
    expected_names = [n for n in HEADER_NAMES if n != "server-id" or server_id is not None]
    assert sorted(headers) == sorted(expected_names)
    assert headers.get("server-id") == server_id


@pytest.mark.parametrize("casing", ["SecretKey", "secretkey", "SECRETKEY", "sEcReTkEy"])
def test_secret_removed_in_any_casing(casing: str, all_topics: dict[Kind, str]) -> None:
    body = orjson.dumps({"Type": "Failed", casing: "top-secret-value", "MessageId": "m", "Reason": "x"})
    record = record_of(body, "", all_topics)
    assert orjson.loads(record.value) == {"Type": "Failed", "MessageId": "m", "Reason": "x"}
    assert b"top-secret-value" not in record.value
    assert all(b"top-secret-value" not in v for _, v in record.headers)


@pytest.mark.parametrize(
    "data",
    [
        {"Copy": {"SecretKey": "top-secret-value", "Type": "Failed"}},
        {"Meta": [{"Key": "k", "Value": "v"}, {"secretKEY": "top-secret-value"}]},
        [{"SECRETKEY": "top-secret-value"}],
    ],
)
def test_secret_removed_at_any_depth(data: Any, all_topics: dict[Kind, str]) -> None:
    body = orjson.dumps({"Type": "Failed", "SecretKey": "top-secret-value", "MessageId": "m", "Data": data})
    event = parse_body(body, "application/json")
    record = to_record(event, event.kind, webhook="w", topics=all_topics, received_us=0)
    assert b"top-secret-value" not in record.value
    value = json.loads(record.value)
    assert value["MessageId"] == "m"
    assert "secretkey" not in json.dumps(value).lower()
    assert headers_of(record)["event-id"] == hashlib.sha256(canonical_json(value)).hexdigest()


def test_secret_key_words_inside_a_text_are_kept(all_topics: dict[Kind, str]) -> None:
    text = 'the "SecretKey": field'
    body = orjson.dumps({"Type": "Failed", "SecretKey": "s", "Reason": text, "Data": {"Note": "secretkey"}})
    event = parse_body(body, "application/json")
    record = to_record(event, event.kind, webhook="w", topics=all_topics, received_us=0)
    assert json.loads(record.value) == {"Type": "Failed", "Reason": text, "Data": {"Note": "secretkey"}}


def test_same_event_with_another_secret_has_the_same_id(all_topics: dict[Kind, str]) -> None:
    base = json.loads(read_sample("delivered.json"))
    first = record_of(orjson.dumps(base), "application/json", all_topics)
    rotated = {**base, "SecretKey": "the-next-secret"}
    second = record_of(orjson.dumps(rotated), "application/json", all_topics)
    lowered = {("secretkey" if k == "SecretKey" else k): v for k, v in base.items()}
    third = record_of(orjson.dumps(lowered), "application/json", all_topics)
    assert first.event_id == second.event_id == third.event_id
    assert first.value == second.value == third.value


def test_same_event_received_twice_has_the_same_id(all_topics: dict[Kind, str]) -> None:
    event = parse_body(read_sample("failed.json"), "application/json")
    later = RECEIVED_AT + timedelta(hours=3)
    first = to_record(event, event.kind, webhook="a", topics=all_topics, received_us=micros(RECEIVED_AT))
    second = to_record(event, event.kind, webhook="b", topics=all_topics, received_us=micros(later))
    assert first.event_id == second.event_id
    assert first.timestamp_ms != second.timestamp_ms


def test_event_id_ignores_key_order_but_not_content(all_topics: dict[Kind, str]) -> None:
    base = json.loads(read_sample("tracking-click.json"))
    reordered = dict(reversed(list(base.items())))
    reordered["Data"] = {
        "Tags": base["Data"]["Tags"],
        "Meta": [dict(reversed(m.items())) for m in base["Data"]["Meta"]],
    }
    changed = {**base, "Url": base["Url"] + "&x=1"}
    a = record_of(orjson.dumps(base), "", all_topics)
    b = record_of(orjson.dumps(reordered), "", all_topics)
    c = record_of(orjson.dumps(changed), "", all_topics)
    assert a.event_id == b.event_id
    assert a.value != b.value  # the value keeps the order as received
    assert a.event_id != c.event_id


def test_json_and_form_posts_of_different_values_have_different_ids(all_topics: dict[Kind, str]) -> None:
    json_record = record_of(b'{"Type": "Queued", "ServerId": 1, "SecretKey": "s"}', "", all_topics)
    form_record = record_of(b"Type=Queued&ServerId=1&SecretKey=s", "", all_topics)
    assert orjson.loads(form_record.value) == {"Type": "Queued", "ServerId": "1"}  # strings
    assert json_record.event_id != form_record.event_id


def test_unwrapped_event_record(all_topics: dict[Kind, str]) -> None:
    inner = {
        "Type": "Delivered",
        "MessageId": "SampleMessageId",
        "ServerId": 16332,
        "SecretKey": "x",
        "Data": {"Meta": [], "Tags": []},
    }
    record = record_of(orjson.dumps({"data": inner}), "application/json", all_topics)
    assert record.topic == "t.delivered"
    assert ordered(orjson.loads(record.value)) == ordered(
        {k: v for k, v in inner.items() if k != "SecretKey"}
    )
    assert record.key == b"SampleMessageId"


def test_big_integers_survive_into_the_record(all_topics: dict[Kind, str]) -> None:
    big = 2**64 + 12345
    body = b'{"Type": "Queued", "MessageSize": %d, "ServerId": -%d, "Ratio": 1e-7, "SecretKey": "s"}' % (
        big,
        big,
    )
    record = record_of(body, "application/json", all_topics)
    value = json.loads(record.value)
    assert value == {"Type": "Queued", "MessageSize": big, "ServerId": -big, "Ratio": 1e-7}
    assert record.event_id == expected_event_id(value)
    assert headers_of(record)["server-id"] == str(-big)


def test_non_ascii_is_utf8_not_escaped(all_topics: dict[Kind, str]) -> None:
    body = orjson.dumps({"Type": "Queued", "Subject": "Olá — 春のセール 🎉", "SecretKey": "s"})
    record = record_of(body, "", all_topics)
    assert "Olá — 春のセール 🎉".encode() in record.value
    assert record.event_id == expected_event_id({"Type": "Queued", "Subject": "Olá — 春のセール 🎉"})


def test_canonical_json_is_sorted_compact_utf8() -> None:
    value = {"b": 1, "a": {"z": [1.5, None, True], "y": "é"}, "A": 1e-7}
    assert canonical_json(value) == '{"A":1e-07,"a":{"y":"é","z":[1.5,null,true]},"b":1}'.encode()


_JSON_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-5, 1e-7, 2.5e-9, 1e-10, 1e16, 1e15, 0.0001, -0.0, 123456789.123])
    | _JSON_TEXT
    | st.sampled_from(["3e-4", "1e-7x", "value-001", "e-", "9e-"])
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4)
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_JSON_TEXT, _JSON_VALUES, max_size=6))
def test_canonical_json_fast_path_equals_the_standard_library(value: dict[str, Any]) -> None:
    # canonical_json writes with orjson unless the output could differ; the id must not change.
    stdlib = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_json(value) == stdlib


@pytest.mark.parametrize(
    ("moment", "header", "ms"),
    [
        (datetime(2026, 5, 18, 8, 12, 45, 123456, tzinfo=UTC), "2026-05-18T08:12:45.123456Z", 1779091965123),
        (
            datetime(2026, 5, 18, 10, 12, 45, 999999, tzinfo=timezone(timedelta(hours=2))),
            "2026-05-18T08:12:45.999999Z",
            1779091965999,
        ),
        (datetime(2026, 5, 18, 8, 12, 45, tzinfo=UTC), "2026-05-18T08:12:45.000000Z", 1779091965000),
        (datetime(2026, 5, 18, 8, 12, 45, 1000, tzinfo=UTC), "2026-05-18T08:12:45.001000Z", 1779091965001),
    ],
)
def test_received_at_and_timestamp(
    moment: datetime, header: str, ms: int, all_topics: dict[Kind, str]
) -> None:
    event = parse_body(b'{"Type": "Queued"}', "")
    record = to_record(event, event.kind, webhook="w", topics=all_topics, received_us=micros(moment))
    assert headers_of(record)["received-at"] == header
    assert rfc3339(micros(moment)) == header
    assert record.timestamp_ms == ms


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_timestamp_ms_is_the_received_time(moment: datetime) -> None:
    event = Event({"Type": "Queued"})
    topics = {Kind.QUEUED: "q"}
    record = to_record(event, Kind.QUEUED, webhook="w", topics=topics, received_us=micros(moment))
    assert record.timestamp_ms == (moment - EPOCH) // timedelta(milliseconds=1)
    header = headers_of(record)["received-at"]
    assert RFC3339_UTC.match(header)
    assert datetime.fromisoformat(header) == moment


# --- properties ---------------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
KNOWN_TYPES = ["Queued", "Deferred", "Delivered", "Sent", "Failed", "Complaint", "Tracking", "Validation"]
TYPES = st.sampled_from(KNOWN_TYPES) | st.text(min_size=1).filter(lambda s: s.strip() == s and s != "")
RESERVED = {"type", "secretkey", "data"}  # keys the strategy places itself (and the wrapper key)


def casings(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda flags: "".join(c.upper() if f else c.lower() for c, f in zip(word, flags, strict=True))
    )


@st.composite
def events(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    """(the posted object, its SecretKey field name, the secret)."""
    body = draw(
        st.dictionaries(
            st.text(max_size=12).filter(lambda k: k.lower() not in RESERVED), JSON_VALUES, max_size=8
        )
    )
    items = list(body.items())
    secret_name = draw(casings("SecretKey"))
    secret = "sk-" + draw(st.uuids()).hex
    items.insert(draw(st.integers(0, len(items))), (draw(casings("Type")), draw(TYPES)))
    items.insert(draw(st.integers(0, len(items))), (secret_name, secret))
    return dict(items), secret_name, secret


def reorder(value: Any, reverse: bool) -> Any:
    if isinstance(value, dict):
        items = [(k, reorder(v, reverse)) for k, v in value.items()]
        return dict(reversed(items) if reverse else sorted(items, key=lambda kv: kv[0]))
    if isinstance(value, list):
        return [reorder(v, reverse) for v in value]
    return value


CONTENT_TYPES = st.sampled_from(
    ["application/json", "", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream"]
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(), CONTENT_TYPES, st.uuids(), st.booleans())
def test_property_secret_removed_value_round_trips_id_stable(
    posted: tuple[dict[str, Any], str, str], content_type: str, other_secret: Any, reverse: bool
) -> None:
    obj, secret_name, secret = posted
    topics = {kind: f"t.{kind}" for kind in Kind}
    event = parse_body(orjson.dumps(obj), content_type)
    assert event.fields == obj
    record = to_record(event, event.kind, webhook="w", topics=topics, received_us=micros(RECEIVED_AT))

    value = json.loads(record.value.decode("utf-8"))
    assert isinstance(value, dict)
    assert not any(k.lower() == "secretkey" for k in value)
    assert secret.encode() not in record.value
    assert all(secret.encode() not in v for _, v in record.headers)
    expected = {k: v for k, v in obj.items() if k != secret_name}
    assert ordered(value) == ordered(expected)

    assert record.event_id == expected_event_id(expected)
    assert headers_of(record)["event-id"] == record.event_id
    assert headers_of(record)["event-type"] == str(event.kind)

    # the same event, keys in another order at every level and another secret: the same id
    again = reorder(obj, reverse)
    again[secret_name] = "sk-" + other_secret.hex
    event2 = parse_body(orjson.dumps(again), content_type)
    record2 = to_record(event2, event2.kind, webhook="w", topics=topics, received_us=micros(RECEIVED_AT))
    assert record2.event_id == record.event_id
    assert json.loads(record2.value) == value


def _form(pairs: list[tuple[str, str]]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(pairs).encode()


ARBITRARY_BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.binary(max_size=200).map(lambda b: b"{" + b),
    st.binary(max_size=200).map(lambda b: b"Type=" + b),
    JSON_VALUES.map(orjson.dumps),
    st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=6).map(orjson.dumps),
    st.dictionaries(
        st.sampled_from(
            ["Type", "type", "TrackingType", "ServerId", "DateTime", "data", "Data", "SecretKey"]
        ),
        JSON_VALUES
        | st.sampled_from([*KNOWN_TYPES, "0", "1", "2", "open", "²", "Mon, 18 May 2026 08:12:44 GMT"]),
        max_size=6,
    ).map(lambda d: orjson.dumps({"data": d}) if "data" not in d else orjson.dumps(d)),
    st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=6).map(_form),
    st.lists(
        st.tuples(
            st.sampled_from(["Type", "TrackingType", "ServerId", "DateTime", "SecretKey", "x"]),
            st.sampled_from([*KNOWN_TYPES, "0", "1", "3", "²", "", "9" * 30]) | st.text(max_size=8),
        ),
        max_size=6,
    ).map(_form),
)


@settings(max_examples=500, deadline=None)
@given(ARBITRARY_BODIES, CONTENT_TYPES | st.text(max_size=30))
def test_property_parse_body_returns_an_event_or_bad_request(body: bytes, content_type: str) -> None:
    try:
        event = parse_body(body, content_type)
    except BadRequest as exc:
        assert exc.status == 400
        return
    assert isinstance(event, Event)
    assert isinstance(event.type, str) and event.type != ""
    # everything the handler reads next must not blow up either
    assert isinstance(event.kind, Kind)
    assert event.server_id is None or isinstance(event.server_id, int)
    event.occurred_at()
    fields = event.without_secret_key()
    assert not any(k.lower() == "secretkey" for k in fields)
    record = to_record(
        event, event.kind, webhook="w", topics={k: f"t.{k}" for k in Kind}, received_us=micros(RECEIVED_AT)
    )
    assert json.loads(record.value) == json.loads(json.dumps(fields))
