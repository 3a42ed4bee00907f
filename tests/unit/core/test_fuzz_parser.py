"""Property tests of the pure pipeline: parse, authenticate, map. Any bytes, never a crash.

Whatever the body, `parse_body` returns an Event or raises BadRequest; `authenticate` returns a
webhook only when the event's SecretKey is one of its keys; the record never holds a secret.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bridge.core.auth import authenticate
from bridge.core.errors import BadRequest, Unauthorized
from bridge.core.events import Kind, parse_body
from bridge.core.records import to_record
from bridge.core.settings import Secret, Webhook
from tests.fuzzing import (
    ALL_SECRETS,
    CONTENT_TYPES,
    FUZZ,
    SECRETS,
    Post,
    posts,
    progress,
    record_failure,
    webhook_of,
)
from tests.helpers import micros

WEBHOOKS = tuple(Webhook(name, tuple(Secret(k) for k in keys)) for name, keys in SECRETS.items())
TOPICS = {kind: f"t.{kind}" for kind in Kind}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _pipeline(body: bytes, content_type: str) -> tuple[str, Webhook | None]:
    progress("parser")
    try:
        event = parse_body(body, content_type)
    except BadRequest:
        return "bad_request", None
    try:
        webhook: Webhook | None = authenticate(event, WEBHOOKS)
    except Unauthorized:
        webhook = None
    try:
        event.complete()  # the rest of the body, read after a match (here for every post, to fuzz it)
    except BadRequest:
        return ("bad_request" if webhook else "unauthorized"), None
    event.kind  # noqa: B018 (computing the kind must not raise either)
    event.occurred_at()
    event.server_id  # noqa: B018
    if webhook is None:
        return "unauthorized", None
    assert isinstance(event.secret_key, str)
    assert event.secret_key in {k.reveal() for k in webhook.secret_keys}
    record = to_record(event, event.kind, webhook=webhook.name, topics=TOPICS, received_us=micros(NOW))
    for secret in ALL_SECRETS:
        assert secret.encode() not in record.value
        assert all(secret.encode() not in value for _, value in record.headers)
    return "ok", webhook


@FUZZ
@given(body=st.binary(max_size=2000), content_type=st.sampled_from(CONTENT_TYPES))
def test_any_bytes_parse_or_are_refused(body: bytes, content_type: str) -> None:
    try:
        outcome, _ = _pipeline(body, content_type)
    except BaseException as exc:
        record_failure("parser", (body, exc))
        raise
    assert outcome in ("bad_request", "unauthorized", "ok")


@FUZZ
@given(post=posts())
def test_generated_posts_authenticate_only_with_a_configured_secret(post: Post) -> None:
    outcome, webhook = _pipeline(post.body, post.content_type)
    if outcome == "ok":
        assert webhook is not None
        assert any(k.reveal().encode() in post.body for k in webhook.secret_keys)
    if post.clean:
        expected = webhook_of(post.secret)
        assert outcome == ("ok" if expected else "unauthorized")
        assert webhook is None or webhook.name == expected
