"""The SocketLabs API client against the local stand-in and a few misbehaving servers, in-process."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from bridge.cli.socketlabs_api import ApiError, SocketLabsApi
from tests.socketlabs_standin import API_KEY, StandinWebhook, running_standin

WEBHOOKS = {"1234": StandinWebhook("http://127.0.0.1:9/webhook", "webhook-secret-Zt5")}


async def test_secret_and_webhook_against_the_standin():
    async with running_standin(WEBHOOKS) as standin, SocketLabsApi(API_KEY, standin.url + "/") as api:
        first, second = await api.generate_secret_key(), await api.generate_secret_key()
        webhook = await api.webhook("1234")
    assert len(first) >= 24 and first != second
    assert webhook["endpointUrl"] == "http://127.0.0.1:9/webhook"


@pytest.mark.parametrize(
    ("key", "webhook_id", "exit_code", "words"),
    [
        ("wrong-key", "1234", 2, "refused the API key (HTTP 401)"),
        (API_KEY, "999", 2, "does not know webhook 999 (HTTP 404)"),
        (API_KEY, "a/b?c", 2, "does not know webhook a/b?c (HTTP 404)"),  # the id is quoted into the path
    ],
)
async def test_user_mistakes_are_one_sentence_and_exit_2(key, webhook_id, exit_code, words):
    async with running_standin(WEBHOOKS) as standin, SocketLabsApi(key, standin.url) as api:
        with pytest.raises(ApiError) as caught:
            await api.perform_test(webhook_id, "sent")
    assert caught.value.exit_code == exit_code
    assert words in caught.value.message
    assert key not in caught.value.message


async def test_unreachable_api_exits_1():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with SocketLabsApi(API_KEY, f"http://127.0.0.1:{port}") as api:
        with pytest.raises(ApiError) as caught:
            await api.generate_secret_key()
    assert caught.value.exit_code == 1
    assert caught.value.message.startswith(f"Cannot reach the SocketLabs API at http://127.0.0.1:{port}: ")


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (
            500,
            "Internal <b>error</b>\n\n",
            "answered HTTP 500 for the secret-key endpoint: Internal <b>error</b>.",
        ),
        (200, "<html>maintenance</html>", "with a body that is not JSON"),
        (200, '{"data": {"unexpected": true}}', "without a secret key"),
        (403, "", "refused the API key (HTTP 403)"),
    ],
)
async def test_api_failures_are_one_sentence(aiohttp_server, status, body, words):
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body)

    app = web.Application()
    app.router.add_get("/v2/event-webhook/generate-secret-key", answer)
    server = await aiohttp_server(app)
    async with SocketLabsApi(API_KEY, str(server.make_url(""))) as api:
        with pytest.raises(ApiError) as caught:
            await api.generate_secret_key()
    assert words in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == (2 if status == 403 else 1)
