"""One error hierarchy for every answer that is not a 200.

Each error carries its HTTP status, a stable machine-readable code and one human sentence; the
wrapper in `bridge/http/app.py` (`answered`) renders them as `{"error": code, "message": sentence}`.
This module is the one home of every status-to-code pair, aiohttp's own refusals included
(`for_status`). Messages never contain the secret key.
"""

from __future__ import annotations

from typing import Literal

# The label values of bridge_auth_failures_total and bridge_produce_errors_total (the contract's).
AuthFailure = Literal["missing_secret", "wrong_secret", "server_id", "source_ip"]
ProduceError = Literal["timeout", "unavailable", "not_connected", "topic_missing", "rejected", "overload"]


class BridgeError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(BridgeError):
    status = 400
    code = "invalid_body"


class Unauthorized(BridgeError):
    """The body's secret key (or its ServerId) does not match a configured webhook.

    `reason` is the `bridge_auth_failures_total` label: missing_secret, wrong_secret, server_id.
    """

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, reason: AuthFailure) -> None:
        super().__init__(message)
        self.reason = reason


class Forbidden(BridgeError):
    status = 403
    code = "forbidden_source"


class NotFound(BridgeError):
    status = 404
    code = "not_found"


class MethodNotAllowed(BridgeError):
    status = 405
    code = "method_not_allowed"

    def headers(self) -> dict[str, str]:
        return {"Allow": "POST"}


class RequestTimeout(BridgeError):
    """The client did not send its body within BRIDGE_READ_TIMEOUT; the connection is closed."""

    status = 408
    code = "request_timeout"


class PayloadTooLarge(BridgeError):
    status = 413
    code = "payload_too_large"


class MalformedRequest(BridgeError):
    """What aiohttp's parser could not read (not HTTP, a header line too long); the connection closes."""

    status = 400
    code = "bad_request"


class NotReady(BridgeError):
    """The admin listener's readiness answer: shutting down, or Kafka not reachable yet."""

    status = 503
    code = "not_ready"


class Unavailable(BridgeError):
    """Kafka did not take the record (or the bridge is overloaded): SocketLabs should retry.

    `reason` is the `bridge_produce_errors_total` label.
    """

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, reason: ProduceError, retry_after: int = 5) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


_BY_STATUS: dict[int, type[BridgeError]] = {
    e.status: e for e in (NotFound, MethodNotAllowed, PayloadTooLarge)
}


def for_status(status: int, *, method: str = "", reason: str = "") -> BridgeError:
    """An answer aiohttp chose itself (no route, a method other than POST, a body past the limit)."""
    if status == 404:
        return NotFound("No such endpoint; SocketLabs posts to /webhook or /webhook/{name}.")
    if status == 405:
        return MethodNotAllowed(f"Method {method} is not allowed; the webhook endpoint takes POST only.")
    if status == 413:
        return PayloadTooLarge("The request body exceeds the configured limit.")
    return BridgeError(reason, code="http_error", status=status)


def malformed(status: int, sentence: str) -> BridgeError:
    """A request aiohttp's parser refused with `status` (400 for everything it sends today)."""
    if status == 500:
        return BridgeError("The bridge failed to handle the request.")
    code = _BY_STATUS[status].code if status in _BY_STATUS else MalformedRequest.code
    return MalformedRequest(sentence, code=code, status=status)
