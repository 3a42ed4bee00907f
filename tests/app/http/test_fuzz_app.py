"""The whole public app under random posts (aiohttp test server, real HTTP, recording publisher).

Never a 500 or a crash, every answer a JSON body, and never a record without a matching secret:
a record appears only for a post that carried one of its webhook's keys, and holds no secret.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import event, given
from prometheus_client import CollectorRegistry

from bridge.core.settings import load_settings
from bridge.http.app import create_app
from tests.fuzzing import (
    ALL_SECRETS,
    FUZZ,
    SECRET_KEYS_TOML,
    SECRETS,
    Post,
    posts,
    progress,
    record_failure,
    webhook_of,
)
from tests.helpers import RecordingPublisher

MAX_BODY = 65536


class App:
    """One server and client for all examples: a fresh one per example would dominate the time."""

    def __init__(self, config: Path) -> None:
        settings = load_settings(
            str(config),
            {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "BRIDGE_MAX_BODY_BYTES": str(MAX_BODY)},
        )
        self.publisher = RecordingPublisher()
        self.loop = asyncio.new_event_loop()
        app = create_app(settings, publisher=self.publisher, registry=CollectorRegistry())
        self.client = TestClient(TestServer(app), loop=self.loop)
        self.loop.run_until_complete(self.client.start_server())

    def post(self, post: Post) -> tuple[int, bytes, str]:
        async def send() -> tuple[int, bytes, str]:
            headers = {"Content-Type": post.content_type} if post.content_type else {}
            async with self.client.post(post.path, data=post.body, headers=headers) as response:
                return response.status, await response.read(), response.content_type

        return self.loop.run_until_complete(send())

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    config = tmp_path_factory.mktemp("fuzz") / "bridge.toml"
    config.write_text(SECRET_KEYS_TOML)
    running = App(config)
    yield running
    running.close()


@FUZZ
@given(post=posts())
def test_random_posts_never_fail_and_never_produce_without_a_secret(app: App, post: Post) -> None:
    progress("app")
    try:
        _check(app, post)
    except BaseException as exc:
        record_failure("app", (post, exc))
        raise


def _check(app: App, post: Post) -> None:
    before = len(app.publisher.records)
    status, body, content_type = app.post(post)
    new = app.publisher.records[before:]
    event(f"status {status}")  # the spread of answers, in --hypothesis-show-statistics

    assert status in (200, 400, 401, 404, 413), (status, body)
    assert content_type == "application/json"
    reply = json.loads(body)
    if status != 200:
        assert set(reply) == {"error", "message"} and not new
        assert not any(s.encode() in body for s in ALL_SECRETS)
    assert len(new) <= 1
    for record in new:
        webhook = dict(record.headers)["webhook"].decode()
        assert any(key.encode() in post.body for key in SECRETS[webhook]), "a record without its secret"
        assert post.path in ("/webhook", f"/webhook/{webhook}")
        for secret in ALL_SECRETS:
            assert secret.encode() not in record.value
    if post.clean:
        expected = webhook_of(post.secret)
        if post.path == "/webhook/nope":  # the name is checked before the body is read
            assert status == 404
        elif len(post.body) > MAX_BODY:
            assert status == 413
        elif expected is not None and post.path in ("/webhook", f"/webhook/{expected}"):
            assert status == 200, body
        else:
            assert status == 401, body
