"""A small client for the three SocketLabs API calls an operator makes while wiring a webhook.

`GET /v2/event-webhook/generate-secret-key`, `GET /v2/event-webhook/{id}/perform-test?type=...`
and `GET /v2/event-webhook/{id}`, each with `Authorization: Bearer <API key>`.

Response shapes: SocketLabs documents the perform-test answer (the notification's preview under
`data`) but not the other two, and the real API was not reachable while this was written. So the
answers are read defensively: the payload is whatever sits under `data` (or the whole body when
there is no `data`), and the secret key is taken from a bare string or from a `secretKey`-like
field in any casing (see `secret_key_from`).

Every failure becomes an `ApiError` carrying one sentence and the exit code: 2 when the user can
fix it (wrong API key, unknown webhook, bad URL), 1 when the API failed or could not be reached.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp

DEFAULT_API_URL = "https://api.socketlabs.com"
REQUEST_TIMEOUT = 30.0  # seconds for one API call, connection included
# perform-test's `type` values, as SocketLabs names them (the UI's "Sent" is the wire's Delivered).
TEST_TYPES = ("sent", "queued", "failed", "deferred", "complaint", "click", "open")
_SECRET_FIELDS = ("secretkey", "secret_key", "secret", "key", "value")


class ApiError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class SocketLabsApi:
    """`async with SocketLabsApi(key, url) as api:` one HTTP session for a few calls."""

    def __init__(self, api_key: str, api_url: str = DEFAULT_API_URL) -> None:
        self._api_key = api_key
        self._api_url = api_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SocketLabsApi:
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def generate_secret_key(self) -> str:
        body = await self._get("/v2/event-webhook/generate-secret-key", what="the secret-key endpoint")
        secret = secret_key_from(body)
        if secret is None:
            raise ApiError("The SocketLabs API answered without a secret key in a shape this tool knows.", 1)
        return secret

    async def perform_test(self, webhook_id: str, test_type: str) -> dict[str, Any] | None:
        """Ask SocketLabs to post a sample `test_type` notification; return its preview, if any."""
        body = await self._get(
            f"/v2/event-webhook/{quote(webhook_id, safe='')}/perform-test",
            params={"type": test_type},
            what=f"webhook {webhook_id}",
        )
        preview = payload_of(body)
        return preview if isinstance(preview, dict) else None

    async def webhook(self, webhook_id: str) -> Any:
        body = await self._get(
            f"/v2/event-webhook/{quote(webhook_id, safe='')}", what=f"webhook {webhook_id}"
        )
        return payload_of(body)

    async def _get(self, path: str, *, what: str, params: dict[str, str] | None = None) -> Any:
        assert self._session is not None, "use SocketLabsApi as an async context manager"
        url = self._api_url + path
        try:
            async with self._session.get(url, params=params) as response:
                status = response.status
                text = await response.text(errors="replace")
        except aiohttp.InvalidURL:
            raise ApiError(f"--api-url {self._api_url!r} is not a valid URL.", 2) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            timed_out = isinstance(exc, TimeoutError)
            reason = (
                f"no answer within {REQUEST_TIMEOUT:g} seconds"
                if timed_out
                else (str(exc) or type(exc).__name__)
            )
            raise ApiError(f"Cannot reach the SocketLabs API at {self._api_url}: {reason}.", 1) from None
        if status in (401, 403):
            raise ApiError(
                f"The SocketLabs API refused the API key (HTTP {status}): check SOCKETLABS_API_KEY "
                "and that the key may manage event webhooks.",
                2,
            )
        if status == 404:
            raise ApiError(f"The SocketLabs API does not know {what} (HTTP 404).", 2)
        if status >= 400:
            raise ApiError(f"The SocketLabs API answered HTTP {status} for {what}: {_gist(text)}", 1)
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise ApiError(
                f"The SocketLabs API answered HTTP {status} with a body that is not JSON.", 1
            ) from None


def payload_of(body: Any) -> Any:
    """SocketLabs v2 wraps answers as `{"data": ...}`; accept a bare payload too."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key.lower() == "data":
                return value
    return body


def secret_key_from(body: Any) -> str | None:
    """The secret key from the generate-secret-key answer, whichever plausible shape it has:
    `"key"`, `{"data": "key"}`, `{"data": {"secretKey": "key"}}` (any casing, or `secret`,
    `key`, `value`)."""
    payload = payload_of(body)
    if isinstance(payload, str) and payload.strip():
        return payload.strip()
    if isinstance(payload, dict):
        fields = {key.lower(): value for key, value in payload.items()}
        for name in _SECRET_FIELDS:
            value = fields.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _gist(text: str) -> str:
    """An error body shortened to one line, so the message stays one sentence."""
    line = " ".join(text.split())[:200]
    return (line or "(empty body)").rstrip(".") + "."
