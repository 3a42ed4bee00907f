"""A local stand-in for the three SocketLabs API calls `socketlabs-bridge socketlabs` makes.

It answers as SocketLabs documents (bearer API key; 401 for a wrong key; 404 for an unknown
webhook; the perform-test answer previews the notification under `data`) and, like SocketLabs,
then really posts that notification, with the webhook's secret key, to the webhook's endpoint:
a running bridge. The generate-secret-key and webhook answers are undocumented; the shapes here
(`{"data": {"secretKey": ...}}`, `{"data": {...webhook...}}`) are assumptions, see
bridge/cli/socketlabs_api.py.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

API_KEY = "standin-api-key-7Hq2Zx"

# The perform-test answer exactly as SocketLabs' help pages show it (SecretKey elided there too).
# Note `LocalIP` in capitals and a Meta entry that is a one-key object, not {"Key", "Value"}.
DOCUMENTED_ANSWER: dict[str, Any] = {
    "data": {
        "Type": "Delivered",
        "Response": "Sample Response",
        "LocalIP": ":01",
        "RemoteMta": "Sample RemoteMta",
        "DateTime": "2022-09-07T17:49:08.8139901Z",
        "MailingId": "SLNL-0-9999999-9999999",
        "MessageId": "SampleMessageId",
        "Address": "email@example.com",
        "ServerId": 16332,
        "SecretKey": "...",
        "Data": {
            "Meta": [{"x-mycustommetadata": "I am custom metadata"}],
            "Tags": ["Same Tag", "Same Message"],
        },
    }
}
_DOCUMENTED = DOCUMENTED_ANSWER["data"]
# The stand-in makes DateTime current per call, so every run posts a distinguishable event; the
# other types keep the documented common fields.
_SPECIFIC: dict[str, dict[str, Any]] = {
    "sent": {
        "Type": "Delivered",
        "Response": "Sample Response",
        "LocalIP": ":01",
        "RemoteMta": "Sample RemoteMta",
    },
    "queued": {
        "Type": "Queued",
        "FromAddress": "from@example.com",
        "Subject": "Sample Subject",
        "MessageSize": 1024,
    },
    "failed": {"Type": "Failed", "Reason": "Sample Reason", "BounceStatus": "5.1.1", "FailureCode": 2001},
    "deferred": {"Type": "Deferred", "DeferralCode": 3001, "Reason": "Sample Reason"},
    "complaint": {"Type": "Complaint", "FblType": "abuse", "UserAgent": "Sample UserAgent", "Length": 100},
    "click": {"Type": "Tracking", "TrackingType": 0, "ClientIp": "127.0.0.1", "Url": "https://example.com"},
    "open": {"Type": "Tracking", "TrackingType": 1, "ClientIp": "127.0.0.1", "UserAgent": "Sample UserAgent"},
}
_COMMON = ("DateTime", "MailingId", "MessageId", "Address", "ServerId", "SecretKey", "Data")


def preview(test_type: str, secret_key: str) -> dict[str, Any]:
    body = {**_SPECIFIC[test_type], **{k: _DOCUMENTED[k] for k in _COMMON}}
    body["DateTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    body["SecretKey"] = secret_key
    return body


@dataclass
class StandinWebhook:
    endpoint_url: str
    secret_key: str


@dataclass
class Standin:
    webhooks: dict[str, StandinWebhook]
    url: str = ""
    posts: list[tuple[str, int]] = field(default_factory=list)  # (type, the endpoint's status)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._bearer])
        app.router.add_get("/v2/event-webhook/generate-secret-key", self._generate)
        app.router.add_get("/v2/event-webhook/{id}/perform-test", self._perform_test)
        app.router.add_get("/v2/event-webhook/{id}", self._webhook)
        return app

    @web.middleware
    async def _bearer(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"errors": [{"errorType": "Unauthorized"}]}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def _generate(self, request: web.Request) -> web.Response:
        return web.json_response({"data": {"secretKey": secrets.token_urlsafe(24)}})

    async def _webhook(self, request: web.Request) -> web.Response:
        webhook_id = request.match_info["id"]
        webhook = self.webhooks.get(webhook_id)
        if webhook is None:
            return web.json_response({"errors": [{"errorType": "NotFound"}]}, status=404)
        return web.json_response(
            {
                "data": {
                    "id": int(webhook_id) if webhook_id.isdigit() else webhook_id,
                    "name": "bridge",
                    "endpointUrl": webhook.endpoint_url,
                    "secretKey": webhook.secret_key,
                    "enabled": True,
                    "events": list(_SPECIFIC),
                }
            }
        )

    async def _perform_test(self, request: web.Request) -> web.Response:
        webhook = self.webhooks.get(request.match_info["id"])
        if webhook is None:
            return web.json_response({"errors": [{"errorType": "NotFound"}]}, status=404)
        test_type = request.query.get("type", "").lower()
        if test_type not in _SPECIFIC:
            return web.json_response({"errors": [{"errorType": "InvalidType"}]}, status=400)
        body = preview(test_type, webhook.secret_key)
        # Like SocketLabs: answer first, post the notification on its own.
        task = asyncio.create_task(self._post(webhook, test_type, body))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return web.json_response({"data": body})

    async def _post(self, webhook: StandinWebhook, test_type: str, body: dict[str, Any]) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(webhook.endpoint_url, json=body) as response,
        ):
            self.posts.append((test_type, response.status))


@asynccontextmanager
async def running_standin(webhooks: dict[str, StandinWebhook]) -> AsyncIterator[Standin]:
    """The stand-in on a free 127.0.0.1 port, in the caller's event loop."""
    standin = Standin(webhooks)
    runner = web.AppRunner(standin.app())
    await runner.setup()
    sock = socket.socket()  # bound here and handed over: no window for another process to take the port
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    site = web.SockSite(runner, sock)
    await site.start()
    standin.url = f"http://127.0.0.1:{port}"
    try:
        yield standin
    finally:
        await asyncio.gather(*standin.tasks, return_exceptions=True)
        await runner.cleanup()


@contextmanager
def standin_in_thread(webhooks: dict[str, StandinWebhook]) -> Iterator[Standin]:
    """The stand-in on an event loop of its own thread, for tests that call the blocking CLI
    entry point (`main([...])`, which runs its own `asyncio.run`) in-process."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="socketlabs-standin", daemon=True)
    thread.start()
    manager = running_standin(webhooks)
    try:
        standin = asyncio.run_coroutine_threadsafe(manager.__aenter__(), loop).result(timeout=30)
        try:
            yield standin
        finally:
            asyncio.run_coroutine_threadsafe(manager.__aexit__(None, None, None), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
