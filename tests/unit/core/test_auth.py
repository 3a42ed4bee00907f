"""authenticate: the body's SecretKey against every configured webhook, then the ServerId allow-list."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bridge.core.auth import authenticate
from bridge.core.errors import Unauthorized
from bridge.core.events import Event, parse_body
from bridge.core.settings import Secret, Webhook
from tests.helpers import SAMPLE_EVENT_KINDS, SAMPLE_SECRET, read_sample

ACCOUNT = Webhook(name="account", secret_keys=(Secret("current-secret"), Secret("next-secret")))
LEGACY = Webhook(
    name="legacy", secret_keys=(Secret("legacy-secret"),), validation_key=Secret("validation-key")
)
PINNED = Webhook(name="pinned", secret_keys=(Secret("pinned-secret"),), server_ids=frozenset({30117, 42}))
WEBHOOKS = (ACCOUNT, LEGACY, PINNED)


def _event(**fields: Any) -> Event:
    return parse_body(orjson.dumps({"Type": "Delivered", **fields}), "application/json")


def _refused(event: Event, webhooks: tuple[Webhook, ...] = WEBHOOKS) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        authenticate(event, webhooks)
    assert info.value.status == 401
    assert info.value.code == "unauthorized"
    return info.value


@pytest.mark.parametrize(
    ("secret", "webhook"),
    [
        ("current-secret", ACCOUNT),
        ("next-secret", ACCOUNT),  # rotation: both keys of one webhook are valid at once
        ("legacy-secret", LEGACY),
        ("pinned-secret", PINNED),
    ],
)
def test_the_matching_webhook_is_returned(secret: str, webhook: Webhook) -> None:
    assert authenticate(_event(SecretKey=secret, ServerId=30117), WEBHOOKS) is webhook


@pytest.mark.parametrize("order", [WEBHOOKS, WEBHOOKS[::-1], (PINNED, ACCOUNT, LEGACY)])
def test_match_does_not_depend_on_webhook_order(order: tuple[Webhook, ...]) -> None:
    assert authenticate(_event(SecretKey="legacy-secret"), order) is LEGACY
    assert authenticate(_event(SecretKey="next-secret"), order) is ACCOUNT


@pytest.mark.parametrize("key", ["SecretKey", "secretkey", "SECRETKEY", "secretKey", "Secretkey"])
def test_secret_key_is_looked_up_case_insensitively(key: str) -> None:
    event = _event(**{key: "current-secret"})
    assert authenticate(event, WEBHOOKS) is ACCOUNT


def test_every_sample_authenticates_with_the_sample_secret() -> None:
    webhook = Webhook(name="default", secret_keys=(Secret("other"), Secret(SAMPLE_SECRET)))
    for name in SAMPLE_EVENT_KINDS:
        content_type = "application/json" if name.endswith(".json") else "application/x-www-form-urlencoded"
        event = parse_body(read_sample(name), content_type)
        assert authenticate(event, (ACCOUNT, webhook)) is webhook, name


@pytest.mark.parametrize("value", ["absent", "", None, 12345, 0, True, ["current-secret"], {"k": "v"}])
def test_missing_secret(value: Any) -> None:
    fields = {} if value == "absent" else {"SecretKey": value}
    refused = _refused(_event(**fields))
    assert refused.reason == "missing_secret"


def test_missing_secret_in_a_form_body() -> None:
    event = parse_body(b"Type=Delivered&SecretKey=&ServerId=30117", "application/x-www-form-urlencoded")
    assert _refused(event).reason == "missing_secret"


@pytest.mark.parametrize(
    "secret",
    [
        "wrong",
        "current-secre",  # a prefix
        "current-secretX",  # an extension
        "CURRENT-SECRET",  # secret values are case-sensitive
        " current-secret",
        "current-secret ",
        "current-secret,next-secret",
        "validation-key",  # the validation key is not a secret key
        "**********",  # what a masked secret prints as
    ],
)
def test_wrong_secret(secret: str) -> None:
    refused = _refused(_event(SecretKey=secret, ServerId=30117))
    assert refused.reason == "wrong_secret"
    assert secret not in refused.message


def test_no_webhooks_means_wrong_secret() -> None:
    assert _refused(_event(SecretKey="current-secret"), ()).reason == "wrong_secret"


def test_non_ascii_secret() -> None:
    webhook = Webhook(name="intl", secret_keys=(Secret("clé-ümlaut-秘密"),))
    assert authenticate(_event(SecretKey="clé-ümlaut-秘密"), (webhook,)) is webhook
    assert _refused(_event(SecretKey="cle-umlaut-秘密"), (webhook,)).reason == "wrong_secret"


@pytest.mark.parametrize("server_id", [30117, "30117", 42, " 42 "])
def test_server_id_allowed(server_id: Any) -> None:
    assert authenticate(_event(SecretKey="pinned-secret", ServerId=server_id), WEBHOOKS) is PINNED


def test_server_id_allowed_from_a_form_body() -> None:
    event = parse_body(
        b"Type=Delivered&SecretKey=pinned-secret&ServerId=30117", "application/x-www-form-urlencoded"
    )
    assert authenticate(event, WEBHOOKS) is PINNED


@pytest.mark.parametrize(
    "server_id", ["absent", None, 99, "99", "", "abc", 30117.5, "30117.0", True, [30117], "\u00b3", "-42"]
)
def test_server_id_not_allowed(server_id: Any) -> None:
    fields: dict[str, Any] = {"SecretKey": "pinned-secret"}
    if server_id != "absent":
        fields["ServerId"] = server_id
    refused = _refused(_event(**fields))
    assert refused.reason == "server_id"


@pytest.mark.parametrize("server_id", ["absent", None, 99, "abc"])
def test_webhook_without_allow_list_takes_any_server_id(server_id: Any) -> None:
    fields: dict[str, Any] = {"SecretKey": "current-secret"}
    if server_id != "absent":
        fields["ServerId"] = server_id
    assert authenticate(_event(**fields), WEBHOOKS) is ACCOUNT


def test_server_id_is_checked_after_the_secret() -> None:
    # a wrong secret is reported as such even when the ServerId would not be allowed either
    assert _refused(_event(SecretKey="nope", ServerId=99)).reason == "wrong_secret"


def test_messages_never_contain_the_secret() -> None:
    for fields in (
        {"SecretKey": "pinned-secret", "ServerId": 1},
        {"SecretKey": "not-configured-secret"},
    ):
        refused = _refused(_event(**fields))
        assert str(fields["SecretKey"]) not in refused.message
        assert str(fields["SecretKey"]) not in str(refused)
