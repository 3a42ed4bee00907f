"""One error hierarchy for every answer that is not a 200.

Each error carries its HTTP status, a stable machine-readable code and one human sentence; the
wrapper in `app.py` (`answered`) renders them as `{"error": code, "message": sentence}`. Messages never
contain the secret key.
"""

from __future__ import annotations


class BridgeError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

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

    def __init__(self, message: str, *, reason: str) -> None:
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


class RequestTimeout(BridgeError):
    """The client did not send its body within BRIDGE_READ_TIMEOUT; the connection is closed."""

    status = 408
    code = "request_timeout"


class PayloadTooLarge(BridgeError):
    status = 413
    code = "payload_too_large"


class Unavailable(BridgeError):
    """Kafka did not take the record (or the bridge is overloaded): SocketLabs should retry.

    `reason` is the `bridge_produce_errors_total` label.
    """

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, reason: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
