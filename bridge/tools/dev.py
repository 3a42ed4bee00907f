"""`socketlabs-bridge dev`: a local Kafka, the topics, the bridge, and a curl line to try.

The broker is the same local Apache Kafka (official jars from Maven Central) the tests use.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import shutil
import signal
import sys

import orjson

from bridge.core.errors import BridgeError
from bridge.core.settings import ConfigError, load_settings
from bridge.kafka.topics import REFUSED, create_topics, refusal
from bridge.process.server import run
from bridge.telemetry.logs import configure_logging
from bridge.tools.localkafka import LocalKafka, LocalKafkaError
from bridge.tools.samples import sample_event


def _exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def run_dev(port: int = 8080, admin_port: int = 9090) -> int:
    # SIGTERM's default action skips `finally` and exit hooks, and would leave the Kafka JVM
    # running; as an exception it unwinds through kafka.stop(). (serve() installs its own
    # handler while the bridge runs.)
    signal.signal(signal.SIGTERM, _exit)
    print("Starting a local Apache Kafka broker (the first run downloads its jars)...", file=sys.stderr)
    try:
        kafka = LocalKafka()
        kafka.start()
    except LocalKafkaError as exc:
        print(f"socketlabs-bridge: {exc}", file=sys.stderr)
        return 1
    try:
        secret = os.environ.get("BRIDGE_SECRET_KEY") or secrets.token_urlsafe(18)
        environ = dict(
            os.environ,
            BRIDGE_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
            BRIDGE_SECRET_KEY=secret,
            BRIDGE_LISTEN=f"127.0.0.1:{port}",
            BRIDGE_ADMIN_LISTEN=f"127.0.0.1:{admin_port}",
            BRIDGE_LOG_FORMAT=os.environ.get("BRIDGE_LOG_FORMAT", "text"),
        )
        try:
            settings = load_settings(None, environ)
        except ConfigError as exc:
            for problem in exc.problems:
                print(f"socketlabs-bridge: {problem}", file=sys.stderr)
            return 2
        try:
            outcomes = asyncio.run(create_topics(settings, partitions=1, replication_factor=1))
        except BridgeError as exc:
            print(f"socketlabs-bridge: {exc.message}", file=sys.stderr)
            return 1
        for outcome in (o for o in outcomes if o.outcome == REFUSED):
            print(f"socketlabs-bridge: {refusal(outcome)}", file=sys.stderr)
        if any(o.outcome == REFUSED for o in outcomes):
            return 1
        body = orjson.dumps(sample_event("delivered", secret)).decode()
        command = _own_command()
        print(
            f"\nKafka:   {kafka.bootstrap_servers}\n"
            f"Secret:  {secret}\n"
            f"Metrics: http://127.0.0.1:{admin_port}/metrics\n\n"
            "Post a sample event:\n"
            f"  curl -sS -H 'Content-Type: application/json' --data {shlex.quote(body)} "
            f"http://127.0.0.1:{port}/webhook\n\n"
            "Read it back from Kafka:\n"
            f"  BRIDGE_KAFKA_BOOTSTRAP_SERVERS={kafka.bootstrap_servers} {command} tail --from-beginning\n\n"
            "Post every kind of event:\n"
            f"  {command} send-test --url http://127.0.0.1:{port}/webhook --secret {shlex.quote(secret)}\n\n"
            "Stop with Ctrl-C.\n",
            file=sys.stderr,
            flush=True,
        )
        configure_logging(settings.log_level, settings.log_format, settings.mask_emails)
        return run(settings)  # 1 when port or admin port is taken: the logged sentence says which
    finally:
        kafka.stop()


def _own_command() -> str:
    """How to call this program again: the venv's script path when the venv is not on PATH."""
    script = os.path.join(os.path.dirname(sys.executable), "socketlabs-bridge")
    if not os.path.exists(script) or shutil.which("socketlabs-bridge") == script:
        return "socketlabs-bridge"
    relative = os.path.relpath(script)
    return relative if not relative.startswith("..") else script
