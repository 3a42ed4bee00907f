"""Configuration: defaults < TOML file < `BRIDGE_*` environment, validated once, frozen.

Every setting is one `Option` row below; its TOML key is the environment name without `BRIDGE_`,
lowercased. `load_settings` collects every problem before failing, so a user fixes them in one go.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from bridge.core.events import EVENT_KINDS, Kind

ENV_PREFIX = "BRIDGE_"
DEFAULT_WEBHOOK = "default"
# SocketLabs' published source ranges: live notifications, and validation/test posts.
SOCKETLABS_SOURCES = ("142.0.176.0/20", "52.152.150.178/32")


class ConfigError(Exception):
    """Invalid configuration: one sentence per problem, each naming the setting."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Secret:
    """A secret value that prints as asterisks, so it cannot leak through a log or repr."""

    __slots__ = ("_value", "encoded")

    def __init__(self, value: str) -> None:
        self._value = value
        self.encoded = value.encode("utf-8")  # hmac.compare_digest wants bytes

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Webhook:
    """One SocketLabs Event Webhook: its name (the URL path), secrets and optional checks."""

    name: str
    secret_keys: tuple[Secret, ...]
    validation_key: Secret | None = None
    server_ids: frozenset[int] | None = None  # None: any ServerId


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The closed choices: the types of their fields, and (get_args) the values their parsers accept.
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
Compression = Literal["GZIP", "SNAPPY", "LZ4", "ZSTD"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["json", "text"]
MASK = "**********"  # what a secret prints as, everywhere


@dataclass(frozen=True)
class Settings:
    """The validated configuration. Every default lives in `OPTIONS` only: `load_settings` is the one
    way to build this, and it always passes every field."""

    kafka_bootstrap_servers: tuple[str, ...]
    webhooks: tuple[Webhook, ...]
    topics: Mapping[Kind, str]
    listen: tuple[str, int]
    admin_listen: tuple[str, int]
    topic_prefix: str
    produce_timeout: float
    max_body_bytes: int
    max_inflight: int
    drain_timeout: float
    shutdown_delay: float
    read_timeout: float
    keepalive_timeout: float
    max_header_bytes: int
    tls_cert_file: str | None
    tls_key_file: str | None
    tls_reload_interval: float
    kafka_security_protocol: SecurityProtocol
    kafka_sasl_mechanism: SaslMechanism | None
    kafka_sasl_username: str | None
    kafka_sasl_password: Secret | None
    kafka_ssl_cafile: str | None
    kafka_ssl_certfile: str | None
    kafka_ssl_keyfile: str | None
    kafka_linger_ms: int
    kafka_max_batch_bytes: int
    kafka_producers: int
    kafka_compression: Compression | None
    allowed_sources: tuple[Network, ...] | None
    trusted_proxies: tuple[Network, ...]
    log_level: LogLevel
    log_format: LogFormat
    mask_emails: bool

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data, with every secret masked."""
        out: dict[str, Any] = {}
        for option in OPTIONS:
            if option.key in _NOT_FIELDS:
                continue
            value = getattr(self, option.key)
            out[option.key] = _plain(value)
        out["topics"] = {str(kind): topic for kind, topic in self.topics.items()}
        out["webhooks"] = [
            {
                "name": w.name,
                "secret_keys": [MASK] * len(w.secret_keys),
                "validation_key": MASK if w.validation_key else None,
                "server_ids": sorted(w.server_ids) if w.server_ids is not None else None,
            }
            for w in self.webhooks
        ]
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int):
        return f"{value[0]}:{value[1]}"
    if isinstance(value, tuple):
        return [str(v) for v in value]
    return value


# --- parsers: each takes the raw value (TOML value or env string) and raises ValueError --------


def _text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a non-empty string")
    return raw.strip()


def _optional_text(raw: Any) -> str | None:
    return None if raw is None or raw == "" else _text(raw)


def _list(raw: Any) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _topic_prefix(raw: Any) -> str:
    text = _text(raw)
    # A Kafka topic name is at most 249 of these characters; ".unsubscribe" is the longest suffix.
    if not re.match(r"^[A-Za-z0-9._-]{1,237}$", text):
        raise ValueError(
            f"must be letters, digits, '.', '_' or '-' (a Kafka topic name prefix), not {text!r}"
        )
    return text


def _host_port(raw: Any) -> tuple[str, int]:
    text = _text(raw)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be host:port, not {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _bootstrap(raw: Any) -> tuple[str, ...]:
    servers = _list(raw)
    if not servers:
        raise ValueError("is required: the Kafka bootstrap servers as host:port[,host:port]")
    for server in servers:
        _host_port(server)
    return tuple(servers)


def _positive(kind: type) -> Callable[[Any], Any]:
    def parse(raw: Any) -> Any:
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a positive number, not {raw!r}") from None
        if isinstance(raw, bool) or not 0 < value < math.inf:  # also refuses nan and inf
            raise ValueError(f"must be a positive number, not {raw!r}")
        return value

    return parse


def _non_negative_float(raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"must be a number of seconds, not {raw!r}") from None
    if isinstance(raw, bool) or not 0 <= value < math.inf:
        raise ValueError(f"must be zero or more seconds, not {raw!r}")
    return value


def _non_negative_int(raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"must be zero or more, not {raw!r}")
    return value


def _whole_number_between(low: int, high: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number from {low} to {high}, not {raw!r}") from None
        if isinstance(raw, bool) or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}, not {raw!r}")
        return value

    return parse


def _choice(*choices: str, upper: bool = True) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = str(raw).strip()
        text = text.upper() if upper else text.lower()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {raw!r}")
        return text

    return parse


def _optional_choice(*choices: str) -> Callable[[Any], str | None]:
    strict = _choice(*choices)
    return lambda raw: None if raw is None or raw == "" else strict(raw)


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be true or false, not {raw!r}")


def _networks(raw: Any) -> tuple[Network, ...]:
    networks: list[Network] = []
    for item in _list(raw):
        if item.lower() == "socketlabs":
            networks.extend(ipaddress.ip_network(n) for n in SOCKETLABS_SOURCES)
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"must be a list of CIDR ranges, and {item!r} is not one") from None
    return tuple(networks)


def _optional_networks(raw: Any) -> tuple[Network, ...] | None:
    return None if raw is None or raw == "" or raw == [] else _networks(raw)


def _optional_secret(raw: Any) -> Secret | None:
    return None if raw is None or raw == "" else Secret(_text(raw))


def _existing_file(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    path = _text(raw)
    if not os.path.isfile(path):
        raise ValueError(f"names {path!r}, which is not a readable file")
    return path


@dataclass(frozen=True)
class Option:
    key: str
    parse: Callable[[Any], Any]
    default: Any
    help: str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper()


OPTIONS: tuple[Option, ...] = (
    Option("kafka_bootstrap_servers", _bootstrap, None, "Kafka bootstrap servers, host:port list"),
    Option("secret_key", _list, None, "secret key(s) of the `default` webhook, comma-separated"),
    Option("secret_key_file", _existing_file, None, "file with the `default` secret key(s), one a line"),
    Option("validation_key", _optional_secret, None, "legacy Notification API validation key of `default`"),
    Option("listen", _host_port, "0.0.0.0:8080", "public listener host:port"),
    Option(
        "admin_listen", _host_port, "0.0.0.0:9090", "admin listener host:port (/healthz, /readyz, /metrics)"
    ),
    Option("topic_prefix", _topic_prefix, "socketlabs", "prefix of every topic name"),
    Option(
        "produce_timeout",
        _positive(float),
        10.0,
        "seconds to wait for Kafka's acknowledgement before answering 503",
    ),
    Option("max_body_bytes", _positive(int), 262144, "largest accepted request body in bytes"),
    Option(
        "max_inflight",
        _positive(int),
        1000,
        "requests handled at once; beyond it the answer is an immediate 503",
    ),
    Option("drain_timeout", _positive(float), 20.0, "seconds drain and flush may take on shutdown"),
    Option(
        "shutdown_delay",
        _non_negative_float,
        0.0,
        "seconds to keep serving, readiness 503, after SIGTERM before closing the listener",
    ),
    Option("read_timeout", _positive(float), 15.0, "seconds a client gets to send a request body; then 408"),
    Option(
        "keepalive_timeout",
        _positive(float),
        15.0,
        "seconds an idle connection stays open, and a new one gets to send its headers",
    ),
    Option(
        "max_header_bytes", _positive(int), 8190, "longest request line or header field in bytes; then 400"
    ),
    Option("tls_cert_file", _existing_file, None, "certificate (PEM) to serve HTTPS on the public listener"),
    Option("tls_key_file", _existing_file, None, "private key (PEM) of that certificate"),
    Option(
        "tls_reload_interval",
        _positive(float),
        10.0,
        "seconds between checks of the certificate files for a renewed certificate",
    ),
    Option(
        "kafka_security_protocol",
        _choice(*get_args(SecurityProtocol)),
        "PLAINTEXT",
        "Kafka security protocol",
    ),
    Option(
        "kafka_sasl_mechanism",
        _optional_choice(*get_args(SaslMechanism)),
        None,
        "Kafka SASL mechanism",
    ),
    Option("kafka_sasl_username", _optional_text, None, "Kafka SASL user name"),
    Option("kafka_sasl_password", _optional_secret, None, "Kafka SASL password"),
    Option("kafka_sasl_password_file", _existing_file, None, "file holding the Kafka SASL password"),
    Option("kafka_ssl_cafile", _existing_file, None, "CA bundle (PEM) to verify the Kafka brokers"),
    Option("kafka_ssl_certfile", _existing_file, None, "client certificate (PEM) for mutual TLS to Kafka"),
    Option("kafka_ssl_keyfile", _existing_file, None, "client private key (PEM) for mutual TLS to Kafka"),
    Option(
        "kafka_linger_ms",
        _non_negative_int,
        0,
        "milliseconds a record waits for others to join its batch; 0: none, and records arriving "
        "while a produce request is in flight are batched anyway",
    ),
    Option(
        "kafka_max_batch_bytes",
        _positive(int),
        262144,
        "largest record batch per partition, in bytes; keep it under the broker's message.max.bytes",
    ),
    Option(
        "kafka_producers",
        _whole_number_between(1, 64),
        16,
        "Kafka producers per worker, each with its own connections: posts that arrive together "
        "are produced at once instead of waiting for each other's round trip",
    ),
    Option(
        "kafka_compression",
        _optional_choice(*get_args(Compression)),
        None,
        "producer compression codec",
    ),
    Option(
        "allowed_sources",
        _optional_networks,
        None,
        "CIDR list allowed to post; `socketlabs` = SocketLabs' ranges",
    ),
    Option("trusted_proxies", _networks, "", "CIDR list of proxies whose X-Forwarded-For is believed"),
    Option("log_level", _choice(*get_args(LogLevel)), "INFO", "log level"),
    Option("log_format", _choice(*get_args(LogFormat), upper=False), "json", "log format"),
    Option("mask_emails", _bool, True, "mask email addresses in log lines"),
)
_BY_KEY = {option.key: option for option in OPTIONS}
# Keys read into other fields (the `default` webhook, the SASL password) rather than kept as such.
_NOT_FIELDS = {"secret_key", "secret_key_file", "validation_key", "kafka_sasl_password_file"}
_WEBHOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def load_settings(
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    require_secret: bool = True,
) -> Settings:
    """Read, merge and validate the configuration; raise ConfigError listing every problem.

    `require_secret=False` is for the Kafka-side tools (`topics create`, `tail`), which never see
    a webhook post and so should not demand its secret key.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    config_file = config_file or environ.get("BRIDGE_CONFIG") or None
    document = _read_toml(config_file, problems) if config_file else {}

    raw: dict[str, Any] = {option.key: option.default for option in OPTIONS}
    for key, value in document.items():
        if key in _BY_KEY:
            raw[key] = value
        elif key not in ("webhooks", "topics"):
            problems.append(f"{config_file}: unknown setting {key!r}.")
    for option in OPTIONS:
        if option.env in environ:
            raw[option.key] = environ[option.env]

    values: dict[str, Any] = {}
    for option in OPTIONS:
        try:
            values[option.key] = option.parse(raw[option.key])
        except ValueError as exc:
            problems.append(f"{option.env} ({option.key}) {exc}.")

    if values.get("kafka_sasl_password_file"):
        try:
            lines = _read_file(values["kafka_sasl_password_file"])
            if not lines:
                raise ValueError(f"names {values['kafka_sasl_password_file']!r}, which holds no password")
            values["kafka_sasl_password"] = Secret(lines[0])
        except ValueError as exc:
            problems.append(f"BRIDGE_KAFKA_SASL_PASSWORD_FILE (kafka_sasl_password_file) {exc}.")
    webhooks = _webhooks(document.get("webhooks", []), values, problems, require_secret)
    topics = _topics(
        document.get("topics", {}), values.get("topic_prefix", _BY_KEY["topic_prefix"].default), problems
    )
    _cross_checks(values, problems)
    if problems:
        raise ConfigError(problems)
    fields = {k: v for k, v in values.items() if k not in _NOT_FIELDS}
    return Settings(webhooks=webhooks, topics=topics, **fields)


def _read_toml(path: str, problems: list[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        problems.append(f"BRIDGE_CONFIG: cannot read {path!r} ({exc.strerror}).")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"BRIDGE_CONFIG: {path!r} is not valid TOML ({exc}).")
    return {}


def _read_file(path: str) -> list[str]:
    """Secrets from a file, one a line: how Kubernetes mounts a Secret. ValueError if unreadable."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"names {path!r}, which cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ValueError(f"names {path!r}, which is not UTF-8 text") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _webhooks(
    declared: Any, values: dict[str, Any], problems: list[str], require_secret: bool = True
) -> tuple[Webhook, ...]:
    webhooks: dict[str, Webhook] = {}
    if not isinstance(declared, list):
        problems.append("webhooks must be an array of tables ([[webhooks]]).")
        declared = []
    for index, table in enumerate(declared):
        where = f"webhooks[{index}]"
        if not isinstance(table, dict):
            problems.append(f"{where} must be a table.")
            continue
        unknown = set(table) - {"name", "secret_keys", "secret_keys_file", "validation_key", "server_ids"}
        if unknown:
            problems.append(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}.")
        name = table.get("name")
        if not isinstance(name, str) or not _WEBHOOK_NAME.match(name):
            problems.append(f"{where}.name must be letters, digits, '.', '_' or '-', not {name!r}.")
            continue
        if name in webhooks:
            problems.append(f"{where}.name {name!r} is declared twice.")
            continue
        keys = _list(table.get("secret_keys", []))
        if table.get("secret_keys_file"):
            try:
                keys += _read_file(str(table["secret_keys_file"]))
            except ValueError as exc:
                problems.append(f"{where}.secret_keys_file {exc}.")
        server_ids = table.get("server_ids")
        if server_ids is not None and (
            not isinstance(server_ids, list)
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in server_ids)
        ):
            problems.append(f"{where}.server_ids must be a list of integers.")
            server_ids = None
        validation_key = table.get("validation_key")
        webhooks[name] = Webhook(
            name=name,
            secret_keys=tuple(Secret(k) for k in keys),
            validation_key=Secret(str(validation_key)) if validation_key else None,
            server_ids=frozenset(server_ids) if server_ids is not None else None,
        )
    # The `default` webhook from BRIDGE_SECRET_KEY(_FILE): the environment wins over the file.
    keys = list(values.get("secret_key") or [])
    if values.get("secret_key_file"):
        try:
            keys += _read_file(values["secret_key_file"])
        except ValueError as exc:
            problems.append(f"BRIDGE_SECRET_KEY_FILE (secret_key_file) {exc}.")
    previous = webhooks.get(DEFAULT_WEBHOOK)
    validation_key = values.get("validation_key")  # a Secret or None
    if keys or (previous is not None and validation_key is not None):
        webhooks[DEFAULT_WEBHOOK] = Webhook(
            name=DEFAULT_WEBHOOK,
            secret_keys=tuple(Secret(k) for k in keys) or (previous.secret_keys if previous else ()),
            validation_key=validation_key or (previous.validation_key if previous else None),
            server_ids=previous.server_ids if previous else None,
        )
    elif validation_key is not None:
        problems.append("BRIDGE_VALIDATION_KEY is set but the default webhook has no secret key.")
    if not webhooks and require_secret:
        problems.append(
            "BRIDGE_SECRET_KEY is required: set it (or BRIDGE_SECRET_KEY_FILE, or [[webhooks]] "
            "in the configuration file) to the secret key of the SocketLabs Event Webhook."
        )
    for webhook in webhooks.values():
        if not webhook.secret_keys:
            problems.append(f"webhook {webhook.name!r} has no secret key.")
    return tuple(webhooks.values())


def _topics(overrides: Any, prefix: str, problems: list[str]) -> dict[Kind, str]:
    topics = {kind: f"{prefix}.{kind}" for kind in EVENT_KINDS}
    if not isinstance(overrides, dict):
        problems.append("topics must be a table mapping an event kind to a topic name.")
        return topics
    valid = ", ".join(str(k) for k in EVENT_KINDS)
    for name, topic in overrides.items():
        if name not in topics:
            problems.append(f"topics.{name}: unknown event kind; the kinds are {valid}.")
        elif not isinstance(topic, str) or not re.match(r"^[A-Za-z0-9._-]{1,249}$", topic):
            problems.append(f"topics.{name} must be a valid Kafka topic name, not {topic!r}.")
        elif topic in (".", ".."):  # Kafka refuses these two names (INVALID_TOPIC_EXCEPTION)
            problems.append(f"topics.{name} cannot be {topic!r}: Kafka refuses '.' and '..' as topic names.")
        else:
            topics[Kind(name)] = topic
    return topics


def _cross_checks(values: dict[str, Any], problems: list[str]) -> None:
    if bool(values.get("tls_cert_file")) != bool(values.get("tls_key_file")):
        problems.append("BRIDGE_TLS_CERT_FILE and BRIDGE_TLS_KEY_FILE must be set together.")
    protocol = values.get("kafka_security_protocol", _BY_KEY["kafka_security_protocol"].default)
    if protocol.startswith("SASL"):
        if not values.get("kafka_sasl_mechanism"):
            problems.append(f"BRIDGE_KAFKA_SASL_MECHANISM is required with {protocol}.")
        if not values.get("kafka_sasl_username") or not (
            values.get("kafka_sasl_password") or values.get("kafka_sasl_password_file")
        ):
            problems.append(
                f"BRIDGE_KAFKA_SASL_USERNAME and BRIDGE_KAFKA_SASL_PASSWORD are required with {protocol}."
            )
    if bool(values.get("kafka_ssl_certfile")) != bool(values.get("kafka_ssl_keyfile")):
        problems.append("BRIDGE_KAFKA_SSL_CERTFILE and BRIDGE_KAFKA_SSL_KEYFILE must be set together.")
