"""The webhook endpoint: read, parse, authenticate, map, publish, reply.

Each step is a pure function from `socketlabs`, `auth` or `records`, or the publisher; anything
that is not a 200 is raised as a `BridgeError` and rendered by `answered` in `app.py`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from aiohttp import web

from bridge.core.auth import authenticate
from bridge.core.errors import Forbidden, NotFound, PayloadTooLarge, RequestTimeout
from bridge.core.events import Event, Kind, parse_body
from bridge.core.records import to_record
from bridge.core.settings import Webhook
from bridge.core.sources import Address, client_address, is_allowed
from bridge.http.state import BRIDGE, Bridge

log = logging.getLogger(__name__)


async def receive_webhook(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    received_us = time.time_ns() // 1000
    webhooks = _candidates(bridge, request.match_info.get("name"))
    _check_source(bridge, request)
    body = await _read_body(bridge, request)
    # The raw header: parse_body looks at it only for a body that is not a JSON object, and
    # aiohttp's parsed `request.content_type` costs on every request (docs/performance.md).
    event = parse_body(body, request.headers.get("Content-Type", ""))
    webhook = authenticate(event, webhooks)
    kind = event.kind
    if kind is Kind.VALIDATION:
        return _validation_reply(event, webhook)

    occurred_at = event.occurred_at()
    delay = None if occurred_at is None else max(received_us / 1e6 - occurred_at.timestamp(), 0.0)
    bridge.metrics.received(webhook.name, kind.value, delay)
    record = to_record(
        event, kind, webhook=webhook.name, topics=bridge.settings.topics, received_us=received_us
    )
    started = time.perf_counter()
    delivery = await bridge.publisher.publish(record)
    bridge.metrics.produced(delivery.topic, time.perf_counter() - started)
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "event produced",
            extra={
                "kind": kind.value,
                "webhook": webhook.name,
                "topic": delivery.topic,
                "partition": delivery.partition,
                "offset": delivery.offset,
                "event_id": record.event_id,
            },
        )
    reply: dict[str, Any] = {
        "status": "ok",
        "kind": kind.value,
        "event_id": record.event_id,
        "topic": delivery.topic,
        "partition": delivery.partition,
        "offset": delivery.offset,
    }
    if webhook.validation_key is not None:
        # Legacy Notification API: the validation key must appear in every 200 body.
        reply["ValidationKey"] = webhook.validation_key.reveal()
    return _json(reply)


def _candidates(bridge: Bridge, name: str | None) -> tuple[Webhook, ...]:
    if name is None:
        return bridge.settings.webhooks
    webhook = bridge.webhooks_by_name.get(name)
    if webhook is None:
        raise NotFound(f"No webhook named {name!r} is configured.", code="unknown_webhook")
    return (webhook,)


def _check_source(bridge: Bridge, request: web.Request) -> None:
    settings = bridge.settings
    if settings.allowed_sources is None:
        return
    address = client_of(bridge, request)
    if not is_allowed(address, settings.allowed_sources):
        raise Forbidden(f"Posts from {address or 'an unknown address'} are not allowed.")


def client_of(bridge: Bridge, request: web.Request) -> Address | None:
    """The poster's address: the peer, or behind a trusted proxy the X-Forwarded-For hop before it."""
    # A proxy may add its own X-Forwarded-For line instead of appending to the one it received.
    forwarded_for = ",".join(request.headers.getall("X-Forwarded-For", ())) or None
    return client_address(request.remote, forwarded_for, bridge.settings.trusted_proxies)


async def _read_body(bridge: Bridge, request: web.Request) -> bytes:
    limit = bridge.settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
    # Past the limit, aiohttp raises HTTPRequestEntityTooLarge (client_max_size in app.py).
    if request.content.is_eof():  # the whole body has arrived (the usual case): nothing to wait for
        return await request.read()
    # aiohttp has no body read timeout of its own: without this, a client trickling its body
    # (or stalling) would hold a connection and an in-flight slot forever.
    try:
        with bridge.read_deadlines.limit():
            return await request.read()
    except TimeoutError:
        seconds = bridge.read_deadlines.seconds
        raise RequestTimeout(f"The request body did not arrive within {seconds:g} seconds.") from None


def _validation_reply(event: Event, webhook: Webhook) -> web.Response:
    """Answer the handshake so every reading of SocketLabs' documents is satisfied.

    The body carries the secret key (the caller just proved it knows it) and every validation
    key received or configured; nothing is produced to Kafka.
    """
    keys: list[str] = []
    for key in (event.text("validationkey"), webhook.validation_key and webhook.validation_key.reveal()):
        if key and key not in keys:
            keys.append(key)
    reply: dict[str, Any] = {"status": "ok", "type": "Validation", "SecretKey": event.secret_key}
    if keys:
        reply["ValidationKey"] = keys[0]
        reply["ValidationKeys"] = keys
    return _json(reply)


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
