"""The `socketlabs-bridge` command line (also `python -m bridge`).

User mistakes (bad configuration, wrong arguments) end with one sentence on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import orjson

from bridge import __version__
from bridge.cli import args as tool_args
from bridge.cli.socketlabs import add_parser as add_socketlabs_parser
from bridge.cli.tools import TOOL_COMMANDS, add_tool_parsers, run_tool
from bridge.core.settings import ConfigError, Settings, load_settings
from bridge.core.versions import UnsupportedVersion

PROG = "socketlabs-bridge"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Receive SocketLabs Event Webhook posts and produce each event to Kafka.",
        epilog="Example: BRIDGE_KAFKA_BOOTSTRAP_SERVERS=kafka:9092 BRIDGE_SECRET_KEY=... socketlabs-bridge serve",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the bridge until SIGTERM/SIGINT",
        epilog=f"Example: {PROG} serve --config bridge.toml --workers 2",
    )
    serve.add_argument("--config", metavar="FILE", help="TOML configuration file (or BRIDGE_CONFIG)")
    serve.add_argument(
        "--workers",
        type=tool_args.positive_int,
        default=1,
        metavar="N",
        help="worker processes sharing the ports (default 1)",
    )

    check = commands.add_parser(
        "check-config",
        help="validate the configuration and print it, secrets masked",
        epilog=f"Example: {PROG} check-config --config bridge.toml",
    )
    check.add_argument("--config", metavar="FILE", help="TOML configuration file (or BRIDGE_CONFIG)")

    topics = commands.add_parser("topics", help="manage the event topics")
    topic_commands = topics.add_subparsers(dest="topics_command", required=True, metavar="ACTION")
    create = topic_commands.add_parser(
        "create",
        help="create every event topic that does not exist yet",
        epilog=f"Example: {PROG} topics create --partitions 6 --replication-factor 3 --min-insync-replicas 2",
    )
    create.add_argument("--config", metavar="FILE", help="TOML configuration file (or BRIDGE_CONFIG)")
    create.add_argument(
        "--partitions", type=tool_args.positive_int, default=3, metavar="N", help="(default 3)"
    )
    create.add_argument(
        "--replication-factor",
        type=tool_args.positive_int,
        metavar="R",
        help="copies of each record (default 3, or as many brokers as the cluster has if fewer; "
        "refused when above the brokers)",
    )
    create.add_argument(
        "--min-insync-replicas",
        type=tool_args.positive_int,
        metavar="M",
        help="copies that must have a record before Kafka acknowledges it, so before the bridge "
        "answers 200 (default 2, or 1 below 3 replicas)",
    )
    create.add_argument(
        "--retention",
        type=tool_args.retention_ms,
        metavar="TIME",
        help="how long Kafka keeps events: 7d, 12h, 30m, milliseconds, or forever (default: the broker's)",
    )
    add_tool_parsers(commands)

    dev = commands.add_parser(
        "dev",
        help="local quick start: a local Kafka, the topics, the bridge and a curl line",
        epilog=f"Example: {PROG} dev",
    )
    dev.add_argument("--port", type=int, default=8080, help="public port (default 8080)")
    dev.add_argument("--admin-port", type=int, default=9090, help="admin port (default 9090)")
    add_socketlabs_parser(commands)
    return parser


def _settings(config: str | None, *, require_secret: bool = True) -> Settings:
    try:
        return load_settings(config, require_secret=require_secret)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{PROG}: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except UnsupportedVersion as exc:  # raised when a command's modules are first imported
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        settings = _settings(args.config)
        sys.stdout.write(orjson.dumps(settings.masked(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    if args.command == "serve":
        settings = _settings(args.config)
        from bridge.process.server import run
        from bridge.process.workers import run_workers
        from bridge.telemetry.logs import configure_logging

        configure_logging(settings.log_level, settings.log_format, settings.mask_emails)
        if args.workers > 1:
            passthrough = ["serve"] + (["--config", args.config] if args.config else [])
            return run_workers(passthrough, args.workers)
        return run(settings, reuse_port=os.environ.get("BRIDGE_WORKER") == "1")
    if args.command == "topics":
        from bridge.tools.topics import run_topics_create

        settings = _settings(args.config, require_secret=False)  # Kafka only: no webhook involved
        return run_topics_create(
            settings, args.partitions, args.replication_factor, args.retention, args.min_insync_replicas
        )
    if args.command in TOOL_COMMANDS:
        return run_tool(args, _settings)
    if args.command == "dev":
        from bridge.tools.dev import run_dev

        return run_dev(port=args.port, admin_port=args.admin_port)
    if args.command == "socketlabs":
        from bridge.cli.socketlabs import run as run_socketlabs

        return run_socketlabs(args)
    return 2
