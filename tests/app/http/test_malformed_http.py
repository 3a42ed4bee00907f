"""Requests aiohttp refuses before any route runs, served by `JsonErrorsRunner` as `serve` does.

Raw bytes over a socket, since an HTTP client would not send them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.core.settings import load_settings
from bridge.http.app import JsonErrorsRunner, create_app
from bridge.http.state import BRIDGE
from tests.helpers import SAMPLE_SECRET, RecordingPublisher, sample

ENV = {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "BRIDGE_SECRET_KEY": SAMPLE_SECRET}
MAX_HEADER_BYTES = 1024


@pytest.fixture
async def port(registry: CollectorRegistry) -> AsyncIterator[int]:
    app = create_app(load_settings(None, ENV), publisher=RecordingPublisher(), registry=registry)
    runner = JsonErrorsRunner(
        app, metrics=app[BRIDGE].metrics, max_line_size=MAX_HEADER_BYTES, max_field_size=MAX_HEADER_BYTES
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the answer; for a 400, also checks the bridge closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status_line, *lines = head.decode().rstrip("\r\n").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)
        if status_line.split()[1] == "400":  # the parser lost its place: nothing more is read
            assert await asyncio.wait_for(reader.read(1), 10) == b""
        return int(status_line.split()[1]), headers, body
    finally:
        writer.close()


def post(body: bytes, *extra: str) -> bytes:
    lines = ["POST /webhook HTTP/1.1", "Host: bridge", "Content-Type: application/json", *extra]
    return "\r\n".join([*lines, f"Content-Length: {len(body)}", "", ""]).encode() + body


def assert_json_error(headers: dict[str, str], body: bytes, code: str) -> str:
    assert headers["content-type"].startswith("application/json")
    data = json.loads(body)
    assert set(data) == {"error", "message"} and data["error"] == code
    assert data["message"].endswith(".")
    return str(data["message"])


async def test_a_header_line_past_the_limit_gets_a_json_400(port: int, caplog) -> None:
    body, _ = sample("validation.json")
    status, _, _ = await exchange(port, post(body, "X-Fits: " + "a" * (MAX_HEADER_BYTES - 100)))
    assert status == 200
    with caplog.at_level(logging.INFO):
        status, headers, answer = await exchange(port, post(body, "X-Big: " + "a" * (2 * MAX_HEADER_BYTES)))
    assert status == 400
    assert "BRIDGE_MAX_HEADER_BYTES" in assert_json_error(headers, answer, "bad_request")
    [entry] = [r for r in caplog.records if r.getMessage() == "request refused"]
    assert entry.levelno == logging.WARNING and entry.exc_info is None  # a client's mistake, no traceback


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",  # TLS to a plain port
        b"POST /webhook HTTP/1.1\r\nHost: bridge\r\nContent-Length: x\r\n\r\n",
        b"POST /webhook HTTP/1.1\r\nHost bridge\r\n\r\n",
        b"POST /web hook now HTTP/1.1\r\nHost: bridge\r\n\r\n",
    ],
    ids=["tls-hello", "bad-content-length", "header-without-colon", "bad-request-line"],
)
async def test_what_is_not_http_gets_a_json_400(
    port: int, registry: CollectorRegistry, request_bytes: bytes
) -> None:
    status, headers, answer = await exchange(port, request_bytes)
    assert status == 400
    assert assert_json_error(headers, answer, "bad_request") == "The request is not valid HTTP/1.1."
    assert registry.get_sample_value("bridge_http_requests_total", {"code": "400"}) == 1
