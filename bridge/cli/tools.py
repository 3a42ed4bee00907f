"""The tools' subcommands: their arguments (with an example in every `--help`) and dispatch.

Kept apart from `bridge/cli/main.py` so the tools' modules (aiohttp client, Kafka consumer) are
imported only when one of them runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from bridge.cli import args as types
from bridge.core.settings import Settings

PROG = "socketlabs-bridge"
TOOL_COMMANDS = ("send-test", "tail")


def add_tool_parsers(commands: Any) -> None:
    """Register `send-test` and `tail` on the top-level subparsers."""
    send = commands.add_parser(
        "send-test",
        help="post realistic sample events, like SocketLabs' Event Tester, and report each answer",
        description=(
            "Post sample SocketLabs events of every kind (or those chosen) to a running bridge, "
            "print each answer or a progress bar, and a summary of rate, latencies and statuses. "
            "Exit 0 only when every post got a 200."
        ),
        epilog=(
            f"Examples:\n  {PROG} send-test --url http://127.0.0.1:8080/webhook --secret KEY\n"
            f"  {PROG} send-test --url https://bridge.example.com/webhook --secret KEY "
            "--type delivered --count 1000 --concurrency 20 --form"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument(
        "--url",
        required=True,
        type=types.webhook_url,
        help="the bridge's webhook URL (a bare http://host:port means /webhook)",
    )
    send.add_argument(
        "--secret",
        metavar="KEY",
        help="the webhook's secret key (default: the first of $BRIDGE_SECRET_KEY)",
    )
    send.add_argument(
        "--type",
        dest="kinds",
        type=types.send_kind,
        action="append",
        metavar="KIND",
        help="all (default: every mail kind), queued, deferred, delivered (or sent), failed, complaint, "
        "click, open, unsubscribe, unknown, validation; repeat for several",
    )
    send.add_argument(
        "--count", type=types.positive_int, default=1, metavar="N", help="posts of each kind (default 1)"
    )
    send.add_argument(
        "--form", action="store_true", help="legacy application/x-www-form-urlencoded posts instead of JSON"
    )
    send.add_argument(
        "--concurrency", type=types.positive_int, default=1, metavar="N", help="posts in flight (default 1)"
    )
    send.add_argument(
        "--timeout",
        type=types.positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="longest wait for one answer (default 30)",
    )

    tail = commands.add_parser(
        "tail",
        help="print events from the topics as they arrive (for debugging)",
        description=(
            "Print each record of the event topics: topic, partition, offset, key, headers "
            "(event-type, event-id, webhook, server-id, received-at) and the value. Reads without a "
            "consumer group, so it commits nothing and disturbs no consumer. Ctrl-C stops."
        ),
        epilog=(
            f"Examples:\n  BRIDGE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 {PROG} tail\n"
            f"  {PROG} tail --kind failed,complaint --from-beginning\n"
            f"  {PROG} tail --json --from-beginning --max-events 10 --timeout 30 | jq .headers"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tail.add_argument("--config", metavar="FILE", help="TOML configuration file (or BRIDGE_CONFIG)")
    tail.add_argument(
        "--kind",
        dest="kinds",
        type=types.topic_kinds,
        action="extend",
        metavar="KIND",
        help="only these kinds, comma-separated or repeated (default: every event topic)",
    )
    tail.add_argument(
        "--from-beginning", action="store_true", help="start at the oldest record kept (default: new ones)"
    )
    tail.add_argument("--max-events", type=types.positive_int, metavar="N", help="stop after N events")
    tail.add_argument(
        "--timeout", type=types.positive_seconds, metavar="SECONDS", help="stop after this many seconds"
    )
    tail.add_argument("--json", action="store_true", help="one JSON object per record (for scripts)")


def run_tool(args: argparse.Namespace, load_settings: Callable[..., Settings]) -> int:
    if args.command == "send-test":
        from bridge.tools.send_samples import run_send_test

        secret = args.secret or os.environ.get("BRIDGE_SECRET_KEY", "").split(",")[0].strip()
        if not secret:
            print(f"{PROG}: --secret is required (or set BRIDGE_SECRET_KEY).", file=sys.stderr)
            return 2
        return run_send_test(
            args.url,
            secret,
            args.kinds or ["all"],
            count=args.count,
            form=args.form,
            concurrency=args.concurrency,
            timeout=args.timeout,
        )
    try:
        from bridge.tools.tail import run_tail
    except KeyboardInterrupt:  # Ctrl-C while aiokafka imports: seconds on a loaded machine
        print("\nstopped.", file=sys.stderr)
        return 0
    return run_tail(
        load_settings(args.config, require_secret=False),
        args.kinds,
        from_beginning=args.from_beginning,
        max_events=args.max_events,
        timeout=args.timeout,
        as_json=args.json,
    )
