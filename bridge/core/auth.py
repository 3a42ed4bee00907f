"""Authenticating an event by the secret key inside its body (SocketLabs sends no signature).

Pure: no aiohttp, no aiokafka. Every configured secret is compared in constant time, and the loop
does not stop at the first match, so the answer's timing says nothing about which secret matched.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from bridge.core.errors import Unauthorized
from bridge.core.events import Event
from bridge.core.settings import Webhook


def authenticate(event: Event, webhooks: Sequence[Webhook]) -> Webhook:
    """The webhook whose secret the event carries, or Unauthorized with the failure reason."""
    secret = event.secret_key
    if not isinstance(secret, str) or not secret:
        raise Unauthorized("The event carries no SecretKey.", reason="missing_secret")
    offered = secret.encode("utf-8")
    matched: Webhook | None = None
    for webhook in webhooks:
        for key in webhook.secret_keys:
            if hmac.compare_digest(offered, key.encoded) and matched is None:
                matched = webhook
    if matched is None:
        raise Unauthorized("The event's SecretKey matches no configured webhook.", reason="wrong_secret")
    if matched.server_ids is not None and event.server_id not in matched.server_ids:
        raise Unauthorized("The event's ServerId is not allowed for this webhook.", reason="server_id")
    return matched
