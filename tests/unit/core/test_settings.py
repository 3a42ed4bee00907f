"""load_settings: defaults < TOML < environment, every problem reported at once; check-config CLI."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from bridge.core.events import EVENT_KINDS, Kind
from bridge.core.settings import OPTIONS, ConfigError, Secret, Settings, Webhook, load_settings

MINIMUM = {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "BRIDGE_SECRET_KEY": "env-secret-1f9a"}


def load(environ: dict[str, str] | None = None, config: Path | None = None, **extra: str) -> Settings:
    return load_settings(str(config) if config else None, {**MINIMUM, **(environ or {}), **extra})


def problems_of(environ: dict[str, str], config: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(str(config) if config else None, environ)
    problems = info.value.problems
    assert problems and all(isinstance(p, str) and p for p in problems)
    assert str(info.value) == "; ".join(problems)
    return problems


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def secrets(webhook: Webhook) -> list[str]:
    return [key.reveal() for key in webhook.secret_keys]


# --- the minimum and the defaults ---------------------------------------------------------------------


def test_minimum_configuration_and_defaults() -> None:
    settings = load_settings(None, dict(MINIMUM))
    assert settings.kafka_bootstrap_servers == ("kafka:9092",)
    assert [w.name for w in settings.webhooks] == ["default"]
    default = settings.webhooks[0]
    assert secrets(default) == ["env-secret-1f9a"]
    assert default.validation_key is None
    assert default.server_ids is None
    # the contract's table
    assert settings.listen == ("0.0.0.0", 8080)
    assert settings.admin_listen == ("0.0.0.0", 9090)
    assert settings.topic_prefix == "socketlabs"
    assert settings.produce_timeout == 10
    assert settings.max_body_bytes == 262144
    assert settings.tls_cert_file is None and settings.tls_key_file is None
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert settings.kafka_sasl_mechanism is None
    assert settings.kafka_sasl_username is None
    assert settings.kafka_sasl_password is None
    assert settings.kafka_ssl_cafile is None
    assert settings.kafka_ssl_certfile is None
    assert settings.kafka_ssl_keyfile is None
    assert settings.allowed_sources is None  # any source
    assert settings.trusted_proxies == ()
    assert settings.log_level == "INFO"
    assert settings.log_format == "json"
    assert dict(settings.topics) == {kind: f"socketlabs.{kind}" for kind in EVENT_KINDS}
    assert Kind.VALIDATION not in settings.topics


def test_real_environment_is_not_read_when_environ_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_TOPIC_PREFIX", "from-the-process")
    assert load().topic_prefix == "socketlabs"


@pytest.mark.parametrize("missing", ["BRIDGE_KAFKA_BOOTSTRAP_SERVERS", "BRIDGE_SECRET_KEY"])
def test_minimum_settings_are_required(missing: str) -> None:
    environ = {k: v for k, v in MINIMUM.items() if k != missing}
    problems = problems_of(environ)
    assert len(problems) == 1
    assert missing in problems[0]


def test_empty_environment_reports_both_required_settings() -> None:
    problems = problems_of({})
    assert any("BRIDGE_KAFKA_BOOTSTRAP_SERVERS" in p for p in problems)
    assert any("BRIDGE_SECRET_KEY" in p for p in problems)


def test_bootstrap_servers_list() -> None:
    settings = load(BRIDGE_KAFKA_BOOTSTRAP_SERVERS=" k1:9092, k2:9093 ,,k3:9094")
    assert settings.kafka_bootstrap_servers == ("k1:9092", "k2:9093", "k3:9094")


@pytest.mark.parametrize(
    ("variable", "raw", "attribute", "value"),
    [
        ("BRIDGE_LISTEN", "127.0.0.1:8081", "listen", ("127.0.0.1", 8081)),
        ("BRIDGE_LISTEN", ":8081", "listen", ("0.0.0.0", 8081)),
        ("BRIDGE_LISTEN", "[::1]:8081", "listen", ("::1", 8081)),
        ("BRIDGE_ADMIN_LISTEN", "0.0.0.0:19090", "admin_listen", ("0.0.0.0", 19090)),
        ("BRIDGE_TOPIC_PREFIX", "prod.email", "topic_prefix", "prod.email"),
        ("BRIDGE_PRODUCE_TIMEOUT", "2.5", "produce_timeout", 2.5),
        ("BRIDGE_MAX_BODY_BYTES", "1048576", "max_body_bytes", 1048576),
        ("BRIDGE_KAFKA_SECURITY_PROTOCOL", "ssl", "kafka_security_protocol", "SSL"),
        ("BRIDGE_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("BRIDGE_LOG_FORMAT", "TEXT", "log_format", "text"),
        ("BRIDGE_MASK_EMAILS", "false", "mask_emails", False),
        ("BRIDGE_SHUTDOWN_DELAY", "5", "shutdown_delay", 5.0),
        ("BRIDGE_SHUTDOWN_DELAY", "0", "shutdown_delay", 0.0),
    ],
)
def test_environment_values(variable: str, raw: str, attribute: str, value: Any) -> None:
    assert getattr(load({variable: raw}), attribute) == value


def test_topic_prefix_names_every_topic() -> None:
    settings = load(BRIDGE_TOPIC_PREFIX="prod.email")
    assert dict(settings.topics) == {kind: f"prod.email.{kind}" for kind in EVENT_KINDS}


# --- secrets -----------------------------------------------------------------------------------------


def test_comma_separated_secrets_for_rotation() -> None:
    settings = load(BRIDGE_SECRET_KEY=" old-secret , new-secret,, ")
    assert secrets(settings.webhooks[0]) == ["old-secret", "new-secret"]


def test_secret_key_file_one_per_line(tmp_path: Path) -> None:
    path = write(tmp_path / "secret", "first-secret\r\n\n  second-secret  \n")
    environ = {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "BRIDGE_SECRET_KEY_FILE": str(path)}
    settings = load_settings(None, environ)
    assert [w.name for w in settings.webhooks] == ["default"]
    assert secrets(settings.webhooks[0]) == ["first-secret", "second-secret"]


def test_secret_key_file_missing_names_the_setting(tmp_path: Path) -> None:
    environ = {
        "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "BRIDGE_SECRET_KEY_FILE": str(tmp_path / "nope"),
    }
    problems = problems_of(environ)
    assert any("BRIDGE_SECRET_KEY_FILE" in p for p in problems)


def test_secret_key_file_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"\xff\xfe\x00s\x00e\x00c\x00")
    environ = {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "BRIDGE_SECRET_KEY_FILE": str(path)}
    problems = problems_of(environ)
    assert any("BRIDGE_SECRET_KEY_FILE" in p for p in problems)


def test_validation_key_of_default() -> None:
    settings = load(BRIDGE_VALIDATION_KEY="legacy-validation-key")
    key = settings.webhooks[0].validation_key
    assert isinstance(key, Secret) and key.reveal() == "legacy-validation-key"


def test_validation_key_without_secret_is_a_problem() -> None:
    problems = problems_of({"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "k:1", "BRIDGE_VALIDATION_KEY": "vk"})
    assert any("BRIDGE_VALIDATION_KEY" in p for p in problems)


def test_sasl_password_file(tmp_path: Path) -> None:
    path = write(tmp_path / "password", "kafka-pass-77\n")
    settings = load(
        BRIDGE_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        BRIDGE_KAFKA_SASL_MECHANISM="scram-sha-512",
        BRIDGE_KAFKA_SASL_USERNAME="bridge",
        BRIDGE_KAFKA_SASL_PASSWORD_FILE=str(path),
    )
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.reveal() == "kafka-pass-77"


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xff\xfe\xfa"])
def test_sasl_password_file_unusable_is_a_config_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "password"
    path.write_bytes(content)
    problems = problems_of(
        {
            **MINIMUM,
            "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN",
            "BRIDGE_KAFKA_SASL_USERNAME": "bridge",
            "BRIDGE_KAFKA_SASL_PASSWORD_FILE": str(path),
        }
    )
    assert len(problems) == 1
    assert "BRIDGE_KAFKA_SASL_PASSWORD_FILE" in problems[0]


# --- the socketlabs preset and CIDR lists -------------------------------------------------------------


@pytest.mark.parametrize("word", ["socketlabs", "SocketLabs", " SOCKETLABS "])
def test_socketlabs_preset(word: str) -> None:
    settings = load(BRIDGE_ALLOWED_SOURCES=word)
    assert settings.allowed_sources == (
        ipaddress.ip_network("142.0.176.0/20"),
        ipaddress.ip_network("52.152.150.178/32"),
    )


def test_allowed_sources_mixed_list_and_trusted_proxies() -> None:
    settings = load(
        BRIDGE_ALLOWED_SOURCES="10.1.2.3/8, socketlabs,2001:db8::/32",
        BRIDGE_TRUSTED_PROXIES="10.0.0.0/8,192.168.1.1",
    )
    assert settings.allowed_sources == (
        ipaddress.ip_network("10.0.0.0/8"),  # host bits are forgiven
        ipaddress.ip_network("142.0.176.0/20"),
        ipaddress.ip_network("52.152.150.178/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
    )


# --- TOML ----------------------------------------------------------------------------------------------


def full_toml(tmp_path: Path) -> Path:
    legacy = write(tmp_path / "legacy-secret", "# rotated 2026-05\nlegacy-secret-a\nlegacy-secret-b\n")
    return write(
        tmp_path / "bridge.toml",
        f"""
kafka_bootstrap_servers = ["k1:9092", "k2:9092"]
listen = "127.0.0.1:8081"
produce_timeout = 2.5
max_body_bytes = 65536
topic_prefix = "mail"
allowed_sources = ["socketlabs", "10.0.0.0/8"]
log_format = "text"

[[webhooks]]
name = "account"
secret_keys = ["toml-current-secret", "toml-next-secret"]
server_ids = [30117, 30118]

[[webhooks]]
name = "legacy"
secret_keys_file = "{legacy}"
validation_key = "toml-validation-key"

[topics]
delivered = "email.delivered.v1"
unknown = "mail.dead-letter"
""",
    )


def test_toml_file(tmp_path: Path) -> None:
    settings = load_settings(str(full_toml(tmp_path)), {})
    assert settings.kafka_bootstrap_servers == ("k1:9092", "k2:9092")
    assert settings.listen == ("127.0.0.1", 8081)
    assert settings.produce_timeout == 2.5
    assert settings.max_body_bytes == 65536
    assert settings.log_format == "text"
    assert settings.allowed_sources is not None and len(settings.allowed_sources) == 3

    by_name = {w.name: w for w in settings.webhooks}
    assert list(by_name) == ["account", "legacy"]  # no `default` without BRIDGE_SECRET_KEY
    assert secrets(by_name["account"]) == ["toml-current-secret", "toml-next-secret"]
    assert by_name["account"].server_ids == frozenset({30117, 30118})
    assert by_name["account"].validation_key is None
    assert secrets(by_name["legacy"]) == ["legacy-secret-a", "legacy-secret-b"]
    assert by_name["legacy"].server_ids is None
    key = by_name["legacy"].validation_key
    assert key is not None and key.reveal() == "toml-validation-key"

    expected = {kind: f"mail.{kind}" for kind in EVENT_KINDS}
    expected[Kind.DELIVERED] = "email.delivered.v1"
    expected[Kind.UNKNOWN] = "mail.dead-letter"
    assert dict(settings.topics) == expected


def test_toml_through_bridge_config(tmp_path: Path) -> None:
    path = full_toml(tmp_path)
    settings = load_settings(None, {"BRIDGE_CONFIG": str(path)})
    assert [w.name for w in settings.webhooks] == ["account", "legacy"]


def test_toml_plus_env_secret_adds_default(tmp_path: Path) -> None:
    settings = load_settings(str(full_toml(tmp_path)), {"BRIDGE_SECRET_KEY": "env-secret"})
    by_name = {w.name: w for w in settings.webhooks}
    assert set(by_name) == {"account", "legacy", "default"}
    assert secrets(by_name["default"]) == ["env-secret"]


def test_environment_wins_over_toml(tmp_path: Path) -> None:
    environ = {
        "BRIDGE_LISTEN": "0.0.0.0:9000",
        "BRIDGE_TOPIC_PREFIX": "envprefix",
        "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "env-kafka:9092",
        "BRIDGE_LOG_FORMAT": "json",
        "BRIDGE_ALLOWED_SOURCES": "",  # empty: any source again
    }
    settings = load_settings(str(full_toml(tmp_path)), environ)
    assert settings.listen == ("0.0.0.0", 9000)
    assert settings.kafka_bootstrap_servers == ("env-kafka:9092",)
    assert settings.log_format == "json"
    assert settings.allowed_sources is None
    assert settings.produce_timeout == 2.5  # not in the environment: the file's value
    assert settings.topics[Kind.QUEUED] == "envprefix.queued"
    assert settings.topics[Kind.DELIVERED] == "email.delivered.v1"  # an explicit override stays


def test_environment_secret_wins_over_toml_default(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bridge.toml",
        """
kafka_bootstrap_servers = "k:9092"
secret_key = "toml-flat-secret"
validation_key = "toml-vk"
""",
    )
    assert secrets(load_settings(str(path), {}).webhooks[0]) == ["toml-flat-secret"]
    settings = load_settings(
        str(path), {"BRIDGE_SECRET_KEY": "env-a,env-b", "BRIDGE_VALIDATION_KEY": "env-vk"}
    )
    assert [w.name for w in settings.webhooks] == ["default"]
    assert secrets(settings.webhooks[0]) == ["env-a", "env-b"]
    key = settings.webhooks[0].validation_key
    assert key is not None and key.reveal() == "env-vk"


def test_default_webhook_declared_in_toml_keeps_its_allow_list(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bridge.toml",
        """
kafka_bootstrap_servers = "k:9092"
[[webhooks]]
name = "default"
secret_keys = ["toml-secret"]
server_ids = [7]
""",
    )
    settings = load_settings(str(path), {"BRIDGE_SECRET_KEY": "env-secret"})
    (default,) = settings.webhooks
    assert secrets(default) == ["env-secret"]
    assert default.server_ids == frozenset({7})


# --- bad values: every problem names its setting, all reported at once ------------------------------


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("BRIDGE_PRODUCE_TIMEOUT", "abc"),
        ("BRIDGE_PRODUCE_TIMEOUT", "0"),
        ("BRIDGE_PRODUCE_TIMEOUT", "-1"),
        ("BRIDGE_PRODUCE_TIMEOUT", "nan"),
        ("BRIDGE_PRODUCE_TIMEOUT", "inf"),
        ("BRIDGE_PRODUCE_TIMEOUT", ""),
        ("BRIDGE_MAX_BODY_BYTES", "abc"),
        ("BRIDGE_MAX_BODY_BYTES", "1.5"),
        ("BRIDGE_MAX_BODY_BYTES", "0"),
        ("BRIDGE_MAX_INFLIGHT", "-5"),
        ("BRIDGE_DRAIN_TIMEOUT", "NaN"),
        ("BRIDGE_KAFKA_LINGER_MS", "-1"),
        ("BRIDGE_KAFKA_PRODUCERS", "0"),
        ("BRIDGE_KAFKA_PRODUCERS", "65"),
        ("BRIDGE_KAFKA_PRODUCERS", "two"),
        ("BRIDGE_LISTEN", "nope"),
        ("BRIDGE_LISTEN", "host:99999"),
        ("BRIDGE_LISTEN", "host:"),
        ("BRIDGE_LISTEN", ""),
        ("BRIDGE_ADMIN_LISTEN", "9090"),
        ("BRIDGE_KAFKA_BOOTSTRAP_SERVERS", "kafka"),
        ("BRIDGE_KAFKA_BOOTSTRAP_SERVERS", ""),
        ("BRIDGE_KAFKA_SECURITY_PROTOCOL", "FOO"),
        ("BRIDGE_KAFKA_SASL_MECHANISM", "MD5"),
        ("BRIDGE_KAFKA_COMPRESSION", "brotli"),
        ("BRIDGE_ALLOWED_SOURCES", "not-a-cidr"),
        ("BRIDGE_ALLOWED_SOURCES", "10.0.0.0/8,999.1.1.1"),
        ("BRIDGE_TRUSTED_PROXIES", "proxy.local"),
        ("BRIDGE_LOG_LEVEL", "LOUD"),
        ("BRIDGE_LOG_FORMAT", "xml"),
        ("BRIDGE_MASK_EMAILS", "maybe"),
        ("BRIDGE_TOPIC_PREFIX", ""),
        ("BRIDGE_TOPIC_PREFIX", "my prefix"),
        ("BRIDGE_TOPIC_PREFIX", "mail/events"),
        ("BRIDGE_TLS_CERT_FILE", "/nonexistent/cert.pem"),
        ("BRIDGE_KAFKA_SSL_CAFILE", "/nonexistent/ca.pem"),
        ("BRIDGE_SECRET_KEY_FILE", "/nonexistent/secret"),
        ("BRIDGE_KAFKA_SASL_PASSWORD_FILE", "/nonexistent/password"),
    ],
)
def test_bad_value_names_the_variable(variable: str, raw: str) -> None:
    problems = problems_of({**MINIMUM, variable: raw})
    assert any(variable in p for p in problems), problems


def test_all_problems_are_reported_at_once() -> None:
    bad = {
        "BRIDGE_PRODUCE_TIMEOUT": "abc",
        "BRIDGE_LISTEN": "nope",
        "BRIDGE_KAFKA_SECURITY_PROTOCOL": "FOO",
        "BRIDGE_ALLOWED_SOURCES": "not-a-cidr",
        "BRIDGE_LOG_LEVEL": "LOUD",
        "BRIDGE_MAX_BODY_BYTES": "-1",
    }
    problems = problems_of({**MINIMUM, **bad})
    assert len(problems) == len(bad)
    for variable in bad:
        assert sum(variable in p for p in problems) == 1, (variable, problems)


def test_bad_value_problem_does_not_echo_secrets() -> None:
    problems = problems_of({**MINIMUM, "BRIDGE_LISTEN": "nope"})
    assert not any(MINIMUM["BRIDGE_SECRET_KEY"] in p for p in problems)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            {
                "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "BRIDGE_KAFKA_SASL_USERNAME": "u",
                "BRIDGE_KAFKA_SASL_PASSWORD": "p",
            },
            "BRIDGE_KAFKA_SASL_MECHANISM",
        ),
        (
            {
                "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN",
                "BRIDGE_KAFKA_SASL_PASSWORD": "p",
            },
            "BRIDGE_KAFKA_SASL_USERNAME",
        ),
        (
            {
                "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN",
                "BRIDGE_KAFKA_SASL_USERNAME": "u",
            },
            "BRIDGE_KAFKA_SASL_PASSWORD",
        ),
    ],
)
def test_sasl_cross_checks(extra: dict[str, str], named: str) -> None:
    problems = problems_of({**MINIMUM, **extra})
    assert len(problems) == 1
    assert named in problems[0]


def test_sasl_protocol_without_anything_reports_mechanism_and_user() -> None:
    problems = problems_of({**MINIMUM, "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    assert any("BRIDGE_KAFKA_SASL_MECHANISM" in p for p in problems)
    assert any("BRIDGE_KAFKA_SASL_USERNAME" in p for p in problems)


def test_tls_cert_without_key(tmp_path: Path) -> None:
    cert = write(tmp_path / "cert.pem", "-----BEGIN CERTIFICATE-----\n")
    problems = problems_of({**MINIMUM, "BRIDGE_TLS_CERT_FILE": str(cert)})
    assert len(problems) == 1
    assert "BRIDGE_TLS_KEY_FILE" in problems[0]
    key = write(tmp_path / "key.pem", "-----BEGIN PRIVATE KEY-----\n")
    settings = load(BRIDGE_TLS_CERT_FILE=str(cert), BRIDGE_TLS_KEY_FILE=str(key))
    assert (settings.tls_cert_file, settings.tls_key_file) == (str(cert), str(key))


def test_tls_key_without_cert(tmp_path: Path) -> None:
    key = write(tmp_path / "key.pem", "x")
    problems = problems_of({**MINIMUM, "BRIDGE_TLS_KEY_FILE": str(key)})
    assert any("BRIDGE_TLS_CERT_FILE" in p for p in problems)


def test_kafka_client_cert_without_key(tmp_path: Path) -> None:
    cert = write(tmp_path / "client.pem", "x")
    problems = problems_of({**MINIMUM, "BRIDGE_KAFKA_SSL_CERTFILE": str(cert)})
    assert any("BRIDGE_KAFKA_SSL_KEYFILE" in p for p in problems)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('produce_timeout = "abc"', "BRIDGE_PRODUCE_TIMEOUT"),
        ("produce_timeout = true", "BRIDGE_PRODUCE_TIMEOUT"),
        ("listen = 8080", "BRIDGE_LISTEN"),
        ("not_a_setting = 1", "not_a_setting"),
        ("kafka_bootstrap = 'k:1'", "kafka_bootstrap"),
        ("[topics]\nbounced = 'x'", "topics.bounced"),
        ("[topics]\nvalidation = 'x'", "topics.validation"),
        ("[topics]\ndelivered = 'bad topic'", "topics.delivered"),
        ("webhooks = 'x'", "webhooks"),
        ("[[webhooks]]\nname = 'a'\nsecret_keys = ['s']\ncolour = 'red'", "colour"),
        ("[[webhooks]]\nname = 'bad name!'\nsecret_keys = ['s']", "webhooks[0].name"),
        ("[[webhooks]]\nsecret_keys = ['s']", "webhooks[0].name"),
        ("[[webhooks]]\nname = 'a'", "'a'"),
        ("[[webhooks]]\nname = 'a'\nsecret_keys = ['s']\nserver_ids = ['30117']", "webhooks[0].server_ids"),
        ("[[webhooks]]\nname = 'a'\nsecret_keys_file = '/nonexistent/x'", "webhooks[0].secret_keys_file"),
        (
            "[[webhooks]]\nname = 'a'\nsecret_keys = ['s']\n[[webhooks]]\nname = 'a'\nsecret_keys = ['t']",
            "webhooks[1].name",
        ),
        ("this is = not toml", "BRIDGE_CONFIG"),
    ],
)
def test_bad_toml_names_the_setting(tmp_path: Path, toml: str, named: str) -> None:
    path = write(
        tmp_path / "bridge.toml", 'kafka_bootstrap_servers = "k:9092"\nsecret_key = "s"\n' + toml + "\n"
    )
    problems = problems_of({}, path)
    assert any(named in p for p in problems), problems


def test_duplicate_webhook_names(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bridge.toml",
        """
kafka_bootstrap_servers = "k:9092"
[[webhooks]]
name = "account"
secret_keys = ["a"]
[[webhooks]]
name = "account"
secret_keys = ["b"]
""",
    )
    problems = problems_of({}, path)
    assert len(problems) == 1
    assert "'account'" in problems[0] and "twice" in problems[0]


def test_missing_config_file_names_bridge_config(tmp_path: Path) -> None:
    problems = problems_of({**MINIMUM, "BRIDGE_CONFIG": str(tmp_path / "missing.toml")})
    assert any("BRIDGE_CONFIG" in p for p in problems)


def test_toml_and_environment_problems_together(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bridge.toml",
        'kafka_bootstrap_servers = "k:9092"\nunknown_key = 1\n[topics]\nnope = "x"\n',
    )
    problems = problems_of({"BRIDGE_SECRET_KEY": "s", "BRIDGE_LISTEN": "nope"}, path)
    assert len(problems) == 3
    assert any("unknown_key" in p for p in problems)
    assert any("topics.nope" in p for p in problems)
    assert any("BRIDGE_LISTEN" in p for p in problems)


# --- secrets never shown ------------------------------------------------------------------------------

ALL_SECRETS = [
    "env-secret-1f9a",
    "env-secret-2b8c",
    "toml-current-secret",
    "toml-next-secret",
    "legacy-secret-a",
    "legacy-secret-b",
    "toml-validation-key",
    "env-validation-key-3d",
    "kafka-password-9z",
]


def secret_settings(tmp_path: Path) -> Settings:
    environ = {
        "BRIDGE_SECRET_KEY": "env-secret-1f9a,env-secret-2b8c",
        "BRIDGE_VALIDATION_KEY": "env-validation-key-3d",
        "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN",
        "BRIDGE_KAFKA_SASL_USERNAME": "bridge-user",
        "BRIDGE_KAFKA_SASL_PASSWORD": "kafka-password-9z",
    }
    return load_settings(str(full_toml(tmp_path)), environ)


def test_masked_contains_no_secret(tmp_path: Path) -> None:
    settings = secret_settings(tmp_path)
    masked = settings.masked()
    text = json.dumps(masked)
    assert orjson.loads(orjson.dumps(masked)) == json.loads(text)  # plain data
    for secret in ALL_SECRETS:
        assert secret not in text, secret
    assert masked["kafka_sasl_username"] == "bridge-user"  # not a secret
    assert masked["kafka_sasl_password"] == "**********"
    webhooks = {w["name"]: w for w in masked["webhooks"]}
    assert set(webhooks) == {"account", "legacy", "default"}
    assert webhooks["default"]["secret_keys"] == ["**********", "**********"]
    assert webhooks["default"]["validation_key"] == "**********"
    assert webhooks["account"]["server_ids"] == [30117, 30118]
    assert webhooks["account"]["validation_key"] is None
    assert masked["topics"]["delivered"] == "email.delivered.v1"
    assert masked["listen"] == "127.0.0.1:8081"
    assert masked["kafka_bootstrap_servers"] == ["k1:9092", "k2:9092"]
    assert masked["allowed_sources"] == ["142.0.176.0/20", "52.152.150.178/32", "10.0.0.0/8"]


def test_repr_of_settings_and_secrets_does_not_leak(tmp_path: Path) -> None:
    settings = secret_settings(tmp_path)
    text = repr(settings) + str(settings) + repr(settings.webhooks)
    for secret in ALL_SECRETS:
        assert secret not in text, secret
    secret = Secret("hunter2-plain")
    assert "hunter2-plain" not in repr(secret)
    assert "hunter2-plain" not in str(secret)
    assert "hunter2-plain" not in f"{secret}"
    assert "hunter2-plain" not in repr([secret, {"k": secret}])
    assert secret.reveal() == "hunter2-plain"
    assert secret.encoded == b"hunter2-plain"
    assert secret == Secret("hunter2-plain")
    assert secret != Secret("other")
    assert secret != "hunter2-plain"


# --- the check-config command --------------------------------------------------------------------------


def run_check_config(environ: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environ}
    return subprocess.run(
        [sys.executable, "-m", "bridge", "check-config", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_config_bad_exits_2_one_line_per_problem(tmp_path: Path) -> None:
    environ = {
        "BRIDGE_SECRET_KEY": "cli-secret-5e",
        "BRIDGE_PRODUCE_TIMEOUT": "abc",
        "BRIDGE_LISTEN": "nope",
        "BRIDGE_KAFKA_SASL_PASSWORD_FILE": str(write(tmp_path / "empty", "")),
    }
    result = run_check_config(environ, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    expected = problems_of(environ)
    assert len(lines) == len(expected) >= 4
    assert [line.split(": ", 1)[1] for line in lines] == expected
    for variable in (
        "BRIDGE_KAFKA_BOOTSTRAP_SERVERS",
        "BRIDGE_PRODUCE_TIMEOUT",
        "BRIDGE_LISTEN",
        "BRIDGE_KAFKA_SASL_PASSWORD_FILE",
    ):
        assert any(variable in line for line in lines), variable
    assert "cli-secret-5e" not in result.stderr


def test_check_config_good_exits_0_and_masks_secrets(tmp_path: Path) -> None:
    environ = {
        "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "BRIDGE_SECRET_KEY": "cli-secret-5e,cli-secret-6f",
        "BRIDGE_KAFKA_SASL_PASSWORD": "cli-kafka-password",
        "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN",
        "BRIDGE_KAFKA_SASL_USERNAME": "bridge",
    }
    result = run_check_config(environ, "--config", str(full_toml(tmp_path)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["kafka_bootstrap_servers"] == ["kafka:9092"]
    assert {w["name"] for w in printed["webhooks"]} == {"account", "legacy", "default"}
    for secret in ["cli-secret-5e", "cli-secret-6f", "cli-kafka-password", *ALL_SECRETS[2:7]]:
        assert secret not in result.stdout, secret
        assert secret not in result.stderr, secret


@pytest.mark.parametrize("raw", ["-1", "soon", "inf", "nan"])
def test_shutdown_delay_is_zero_or_more_seconds(raw: str) -> None:
    [problem] = problems_of({**MINIMUM, "BRIDGE_SHUTDOWN_DELAY": raw})
    assert problem.startswith("BRIDGE_SHUTDOWN_DELAY (shutdown_delay) must be")


def test_every_default_is_written_once_in_options() -> None:
    """The dataclass has no defaults of its own, so OPTIONS is the only place a default is written."""
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(Settings))
    settings = load_settings(None, {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "k:9092", "BRIDGE_SECRET_KEY": "s"})
    for option in OPTIONS:
        if option.default is not None and hasattr(settings, option.key):
            assert getattr(settings, option.key) == option.parse(option.default), option.key
