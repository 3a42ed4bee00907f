"""A listener that cannot be opened: one logged sentence and a clean exit, never a traceback; with
`--workers N`, a bounded number of restarts before the parent gives up.

No Kafka is needed (the bootstrap address is a closed port). The public port is held by a socket
without SO_REUSEPORT, which no worker can share.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.integration.bridge_process import RunningBridge

pytestmark = pytest.mark.integration


def _run_with_port_taken(*args: str) -> tuple[int, list[dict], int]:
    """The exit code, the log entries and the port."""
    bridge = RunningBridge("127.0.0.1:9")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", bridge.port))
        holder.listen()
        bridge.start(*args)
        assert bridge.process is not None
        code = bridge.process.wait(timeout=90)
    bridge.log.seek(0)
    output = bridge.log.read().decode()
    assert "Traceback" not in output
    return code, [json.loads(line) for line in output.splitlines()], bridge.port  # all JSON lines


def test_a_taken_port_is_one_sentence_and_exit_1() -> None:
    code, entries, port = _run_with_port_taken()
    assert code == 1
    errors = [e["message"] for e in entries if e["level"] == "ERROR" and e["logger"].startswith("bridge")]
    assert errors == [f"cannot listen on 127.0.0.1:{port}: address already in use"]


def test_workers_that_keep_failing_at_start_stop_the_parent() -> None:
    code, entries, _ = _run_with_port_taken("--workers", "2")
    assert code == 1
    messages = [e["message"] for e in entries]
    assert messages.count("a worker exited on its own") == 5
    assert messages.count("worker restarted") >= 2
    assert "workers keep exiting right after starting; stopping" in messages


def test_a_listen_host_that_does_not_resolve_is_one_sentence() -> None:
    bridge = RunningBridge("127.0.0.1:9", BRIDGE_LISTEN="nosuchhost.invalid:8080")
    bridge.start()
    assert bridge.process is not None
    assert bridge.process.wait(timeout=90) == 1
    bridge.log.seek(0)
    output = bridge.log.read().decode()
    assert "Traceback" not in output
    errors = [
        e["message"]
        for e in map(json.loads, output.splitlines())
        if e["level"] == "ERROR" and e["logger"].startswith("bridge")
    ]
    # "name or service not known", or "temporary failure in name resolution" without a resolver
    [error] = errors
    assert error.startswith("cannot listen on nosuchhost.invalid:8080: ") and "errno" not in error
