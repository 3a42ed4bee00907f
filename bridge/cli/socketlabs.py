"""`socketlabs-bridge socketlabs secret|test|webhook`: wiring a SocketLabs webhook to the bridge.

The API key comes from `--api-key-file`, else `SOCKETLABS_API_KEY`, else the file named by
`SOCKETLABS_API_KEY_FILE`; never from a command-line value, which `ps` would show. Mistakes the
user can fix exit 2, failures of the API or of Kafka exit 1, both with one sentence on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from bridge.cli.output import emit, masked
from bridge.cli.socketlabs_api import DEFAULT_API_URL, TEST_TYPES, ApiError, SocketLabsApi
from bridge.core.errors import Unavailable
from bridge.core.settings import ConfigError, Settings, load_settings

PROG = "socketlabs-bridge"
_KEY_SOURCES = "--api-key-file, SOCKETLABS_API_KEY or SOCKETLABS_API_KEY_FILE"


def add_parser(commands: Any) -> None:
    """Register the `socketlabs` command group on the main parser's subparsers."""
    group = commands.add_parser(
        "socketlabs",
        help="call SocketLabs' API: generate a secret key, fire test events, show a webhook",
        epilog=f"Example: SOCKETLABS_API_KEY=... {PROG} socketlabs test --webhook-id 1234 --watch",
    )
    actions = group.add_subparsers(dest="socketlabs_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api-url",
        default=os.environ.get("SOCKETLABS_API_URL") or DEFAULT_API_URL,
        metavar="URL",
        help=f"SocketLabs API base URL (or SOCKETLABS_API_URL; default {DEFAULT_API_URL})",
    )
    common.add_argument(
        "--api-key-file",
        metavar="FILE",
        help="file holding the SocketLabs API key (else SOCKETLABS_API_KEY, else SOCKETLABS_API_KEY_FILE)",
    )
    common.add_argument("--json", action="store_true", help="print one JSON object, for scripts")

    actions.add_parser(
        "secret",
        parents=[common],
        help="generate a new secret key for an event webhook (and the bridge)",
        epilog=f"Example: {PROG} socketlabs secret",
    )
    test = actions.add_parser(
        "test",
        parents=[common],
        help="make SocketLabs post a sample notification to the webhook's endpoint",
        epilog=f"Example: {PROG} socketlabs test --webhook-id 1234 --type all --watch",
    )
    test.add_argument(
        "--webhook-id", required=True, metavar="ID", help="the event webhook's id at SocketLabs"
    )
    test.add_argument(
        "--type",
        choices=(*TEST_TYPES, "all"),
        default="sent",
        help="notification type (default sent; all: one request per type)",
    )
    test.add_argument(
        "--watch", action="store_true", help="then read the bridge's topics until the event arrives"
    )
    test.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long --watch waits (default 60)",
    )
    test.add_argument("--config", metavar="FILE", help="bridge TOML configuration (for --watch)")
    webhook = actions.add_parser(
        "webhook",
        parents=[common],
        help="show an event webhook's configuration at SocketLabs",
        epilog=f"Example: {PROG} socketlabs webhook --webhook-id 1234",
    )
    webhook.add_argument(
        "--webhook-id", required=True, metavar="ID", help="the event webhook's id at SocketLabs"
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 86400 seconds")
    return value


def run(args: argparse.Namespace) -> int:
    # aiokafka logs each failed connection attempt; the one sentence below says it better.
    aiokafka = logging.getLogger("aiokafka")
    saved_level = aiokafka.level
    aiokafka.setLevel(logging.CRITICAL)
    try:
        return _run(args)
    finally:
        aiokafka.setLevel(saved_level)


def _run(args: argparse.Namespace) -> int:
    try:
        api_key = _api_key(args.api_key_file)
        api_url = _api_url(args.api_url)
        settings = _kafka_settings(args.config) if getattr(args, "watch", False) else None
        if args.socketlabs_command == "secret":
            return asyncio.run(_secret(args, api_key, api_url))
        if args.socketlabs_command == "webhook":
            return asyncio.run(_webhook(args, api_key, api_url))
        from bridge.cli.socketlabs_watch import run_test  # imports aiokafka: only for `test`

        return asyncio.run(run_test(args, api_key, api_url, settings))
    except ApiError as exc:
        for line in exc.message.splitlines():
            print(f"{PROG}: {line}", file=sys.stderr)
        return exc.exit_code
    except Unavailable as exc:
        print(f"{PROG}: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while watching: a normal way to stop, not a crash
        print(f"{PROG}: interrupted.", file=sys.stderr)
        return 130


def _api_key(path: str | None) -> str:
    path = path or (
        None if os.environ.get("SOCKETLABS_API_KEY") else os.environ.get("SOCKETLABS_API_KEY_FILE")
    )
    if path:
        try:
            lines = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ApiError(f"Cannot read the API key file {path!r} ({reason}).", 2) from None
        key = next((line for line in lines if line and not line.startswith("#")), "")
        if not key:
            raise ApiError(f"The API key file {path!r} is empty.", 2)
        return key
    key = os.environ.get("SOCKETLABS_API_KEY", "").strip()
    if not key:
        raise ApiError(f"No SocketLabs API key: set {_KEY_SOURCES}.", 2)
    return key


def _api_url(url: str) -> str:
    if not url.startswith(("https://", "http://")) or len(url) <= len("https://"):
        raise ApiError(f"--api-url must be an http(s) URL such as {DEFAULT_API_URL}, not {url!r}.", 2)
    return url


def _kafka_settings(config: str | None) -> Settings:
    """The bridge's settings, for the Kafka options and topic names only.

    `--watch` checks no secret, so a placeholder stands in when none is configured: the operator
    runs this next to the deployment with only the Kafka settings at hand.
    """
    environ = dict(os.environ)
    if not (environ.get("BRIDGE_SECRET_KEY") or environ.get("BRIDGE_SECRET_KEY_FILE")):
        environ["BRIDGE_SECRET_KEY"] = "placeholder-not-used-by-watch"
    try:
        return load_settings(config, environ)
    except ConfigError as exc:
        raise ApiError("\n".join(exc.problems), 2) from None


async def _secret(args: argparse.Namespace, api_key: str, api_url: str) -> int:
    async with SocketLabsApi(api_key, api_url) as api:
        secret = await api.generate_secret_key()
    if args.json:
        emit({"secret_key": secret})
    else:
        print(secret)
        print(
            "Configure it in SocketLabs' webhook and in the bridge (BRIDGE_SECRET_KEY, or a "
            "[[webhooks]] secret_keys entry); keep the old key too while rotating.",
            file=sys.stderr,
        )
    return 0


async def _webhook(args: argparse.Namespace, api_key: str, api_url: str) -> int:
    async with SocketLabsApi(api_key, api_url) as api:
        webhook = masked(await api.webhook(args.webhook_id))
    if args.json:
        emit(webhook)
    elif isinstance(webhook, dict):
        width = max((len(str(key)) for key in webhook), default=0)
        for key, value in webhook.items():
            text = value if isinstance(value, str) else orjson.dumps(value).decode()
            print(f"{key:<{width}}  {text}")
    else:
        print(orjson.dumps(webhook).decode())
    return 0
