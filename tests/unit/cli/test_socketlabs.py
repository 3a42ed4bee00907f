"""Pure parts of `socketlabs secret|test|webhook`: answer shapes, masking, and the --watch match."""

from __future__ import annotations

import orjson
import pytest

from bridge.cli.output import masked
from bridge.cli.roundtrip import Expected, describe, match
from bridge.cli.socketlabs_api import payload_of, secret_key_from
from bridge.kafka.client import ConsumedRecord


@pytest.mark.parametrize(
    "answer",
    [
        {"data": "k3y"},
        {"data": {"secretKey": "k3y"}},
        {"Data": {"SecretKey": "k3y"}},
        {"data": {"secret_key": " k3y "}},
        {"secretKey": "k3y"},
        {"data": {"key": "k3y"}},
        "k3y",
    ],
)
def test_secret_key_is_found_in_every_plausible_answer_shape(answer):
    assert secret_key_from(answer) == "k3y"


@pytest.mark.parametrize("answer", [None, {}, {"data": None}, {"data": ""}, {"data": {"other": 1}}, [1]])
def test_no_secret_key_in_the_answer_is_none(answer):
    assert secret_key_from(answer) is None


def test_payload_of_unwraps_data_only_when_present():
    assert payload_of({"data": {"a": 1}}) == {"a": 1}
    assert payload_of({"a": 1}) == {"a": 1}


def test_masked_hides_every_secret_field_at_any_depth():
    value = {"id": 1, "secretKey": "s", "nested": [{"SecretKey": "s2", "x": "y"}], "secret": ""}
    assert masked(value) == {
        "id": 1,
        "secretKey": "**********",
        "nested": [{"SecretKey": "**********", "x": "y"}],
        "secret": "",  # nothing to hide
    }


PREVIEW = {
    "Type": "Delivered",
    "DateTime": "2022-09-07T17:49:08.8139901Z",
    "MessageId": "SampleMessageId",
    "ServerId": 16332,
    "SecretKey": "s",
}


def record(fields: dict, kind: str = "delivered", event_id: str = "other") -> ConsumedRecord:
    headers = {"event-type": kind.encode(), "event-id": event_id.encode()}
    return ConsumedRecord(f"socketlabs.{kind}", 0, 7, None, orjson.dumps(fields), headers, 0)


def test_match_prefers_the_event_id_then_looser_fields():
    want = Expected("sent", PREVIEW, requested_at=0.0)
    forwarded = {k: v for k, v in PREVIEW.items() if k != "SecretKey"}
    assert want.event_id is not None
    assert match(want, record(forwarded, event_id=want.event_id)) == "event-id"
    assert match(want, record({**forwarded, "New": 1})) == "MessageId+Type+DateTime"
    assert match(want, record({**forwarded, "DateTime": "2026-01-01T00:00:00Z"})) == "MessageId+Type"


def test_match_refuses_other_events():
    want = Expected("sent", PREVIEW, requested_at=0.0)
    forwarded = {k: v for k, v in PREVIEW.items() if k != "SecretKey"}
    assert match(want, record({**forwarded, "MessageId": "m-1"})) is None
    assert match(want, record({**forwarded, "Type": "Queued"}, kind="queued")) is None
    assert match(want, record(forwarded, kind="unknown")) is None  # right fields, wrong topic
    click = Expected("click", {**PREVIEW, "Type": "Tracking", "TrackingType": 0}, requested_at=0.0)
    assert match(click, record({**forwarded, "Type": "Tracking", "TrackingType": 1}, kind="open")) is None
    assert match(want, ConsumedRecord("t", 0, 0, None, b"not json", {"event-type": b"delivered"}, 0)) is None


def test_without_a_preview_any_record_of_the_kind_matches():
    want = Expected("queued", None, requested_at=0.0)
    assert want.event_id is None
    assert match(want, record({"Type": "Queued"}, kind="queued")) == "kind"
    assert match(want, record({"Type": "Delivered"})) is None


def test_describe_names_the_record_without_the_address():
    line = describe(record({**PREVIEW, "Address": "ana@example.net"}, event_id="abcdef0123456789ff"))
    assert "socketlabs.delivered [0] offset 7" in line
    assert "'SampleMessageId'" in line
    assert "abcdef0123456789..." in line
    assert "ana@example.net" not in line
