"""`socketlabs-bridge socketlabs ...` as an operator runs it: against the SocketLabs API stand-in,
which really posts its sample notifications to a running bridge, read back through a real broker.

The real SocketLabs API is not reachable from the test machines; tests/socketlabs_standin.py
answers as SocketLabs documents. The commands run in-process (`main([...])`, the stand-in on a
thread of its own) to keep the tier fast; two runs go through a real process to prove that
nothing but one sentence reaches stderr.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import aiohttp
import pytest

from bridge.cli.main import main
from bridge.cli.roundtrip import TYPE_KINDS
from tests.helpers import SAMPLE_SECRET, free_port
from tests.integration.bridge_process import RunningBridge, read_records
from tests.socketlabs_standin import API_KEY, DOCUMENTED_ANSWER, Standin, StandinWebhook, standin_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bridge(kafka_bootstrap: str) -> Iterator[RunningBridge]:
    running = RunningBridge(kafka_bootstrap)
    running.run("topics", "create", "--partitions", "1")
    running.start()
    running.wait_ready()
    yield running
    code, stderr = running.stop()
    assert code == 0, stderr[-2000:]
    assert SAMPLE_SECRET not in stderr


@pytest.fixture(scope="module")
def standin(bridge: RunningBridge) -> Iterator[Standin]:
    webhooks = {
        "1234": StandinWebhook(bridge.url + "/webhook", SAMPLE_SECRET),
        # SocketLabs holds a secret key the bridge was never given: every post is refused (401).
        "5678": StandinWebhook(bridge.url + "/webhook", "a-secret-the-bridge-does-not-know"),
    }
    with standin_in_thread(webhooks) as running:
        yield running


@pytest.fixture
def env(bridge, standin, monkeypatch) -> dict[str, str]:
    """The bridge's environment minus its secret key (an operator running `--watch` has the Kafka
    settings at hand, not necessarily the secret), plus the API key and the stand-in's URL."""
    standin.posts.clear()
    environ = {k: v for k, v in bridge.env.items() if k != "BRIDGE_SECRET_KEY"}
    environ.update({"SOCKETLABS_API_KEY": API_KEY, "SOCKETLABS_API_URL": standin.url})
    for name in ("BRIDGE_SECRET_KEY", "BRIDGE_SECRET_KEY_FILE", "BRIDGE_CONFIG", "SOCKETLABS_API_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return environ


def posts(standin: Standin, count: int) -> list[tuple[str, int]]:
    """The stand-in's posts once `count` are done: it notes a post when the bridge's answer is
    read, which can be a moment after the record reached Kafka (and the watch)."""
    deadline = time.monotonic() + 10
    while len(standin.posts) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return sorted(standin.posts)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["socketlabs", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_secret_and_webhook_commands(env, bridge, capsys):
    code, out, err = run(capsys, "secret")
    assert code == 0, err
    secret = out.strip()
    assert len(secret) >= 24 and out == secret + "\n"  # stdout is the key alone: $(...) works
    code, out, _ = run(capsys, "secret", "--json")
    assert code == 0 and json.loads(out)["secret_key"] not in ("", secret)

    code, out, err = run(capsys, "webhook", "--webhook-id", "1234")
    assert code == 0, err
    assert f"endpointUrl  {bridge.url}/webhook" in out
    assert SAMPLE_SECRET not in out and "secretKey    **********" in out
    code, out, _ = run(capsys, "webhook", "--webhook-id", "1234", "--json")
    assert json.loads(out)["endpointUrl"] == bridge.url + "/webhook"


def test_mistakes_and_failures_are_one_sentence(env, capsys, monkeypatch, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    cases = [
        (["secret"], {"SOCKETLABS_API_KEY": "wrong"}, 2, "refused the API key (HTTP 401)"),
        (["test", "--webhook-id", "99"], {}, 2, "does not know webhook 99 (HTTP 404)"),
        (["webhook", "--webhook-id", "99"], {}, 2, "does not know webhook 99 (HTTP 404)"),
        (["secret"], {"SOCKETLABS_API_KEY": ""}, 2, "No SocketLabs API key"),
        (["secret", "--api-key-file", str(tmp_path / "none")], {}, 2, "Cannot read the API key file"),
        (["secret", "--api-url", "api.socketlabs.com"], {}, 2, "--api-url must be an http(s) URL"),
        (["secret", "--api-url", closed], {}, 1, f"Cannot reach the SocketLabs API at {closed}: "),
    ]
    for args, overrides, exit_code, words in cases:
        with monkeypatch.context() as patch:
            for name, value in overrides.items():
                patch.setenv(name, value)
            code, out, err = run(capsys, *args)
        assert (code, out) == (exit_code, ""), (args, err)
        assert err.count("\n") == 1 and words in err, (args, err)
        assert err.startswith("socketlabs-bridge: ")

    key_file = tmp_path / "api-key"
    key_file.write_text(f"# SocketLabs API key\n{API_KEY}\n")
    monkeypatch.setenv("SOCKETLABS_API_KEY", "")
    monkeypatch.setenv("SOCKETLABS_API_KEY_FILE", str(key_file))
    code, _, err = run(capsys, "secret")
    assert code == 0, err


def test_watch_sees_every_test_type_arrive_through_bridge_and_broker(env, bridge, standin, capsys):
    code, out, err = run(capsys, "test", "--webhook-id", "1234", "--type", "all", "--watch")
    assert code == 0, out + err
    assert posts(standin, len(TYPE_KINDS)) == sorted((t, 200) for t in TYPE_KINDS)
    for test_type, kind in TYPE_KINDS.items():
        assert f"{test_type}: arrived on {bridge.prefix}.{kind} [0]" in out, out
    assert out.count("(matched by event-id)") == len(TYPE_KINDS)
    assert "Round trip OK: 7 of 7" in out
    with capsys.disabled():
        print("\n" + out)  # the measured round trips, in the test log


def test_watch_json_reports_the_record_and_its_round_trip(
    env, bridge, kafka_bootstrap, capsys, monkeypatch, tmp_path
):
    # The Kafka settings from the bridge's TOML file this time (no secret key in it either).
    config = tmp_path / "bridge.toml"
    config.write_text(f'kafka_bootstrap_servers = "{kafka_bootstrap}"\ntopic_prefix = "{bridge.prefix}"\n')
    monkeypatch.delenv("BRIDGE_KAFKA_BOOTSTRAP_SERVERS")
    monkeypatch.delenv("BRIDGE_TOPIC_PREFIX")
    code, out, err = run(capsys, "test", "--webhook-id", "1234", "--watch", "--json", "--config", str(config))
    assert code == 0, err
    report = json.loads(out)
    [test] = report["tests"]
    assert report["arrived"] is True
    assert test["preview"]["SecretKey"] == "**********"
    arrival = test["arrival"]
    assert arrival["event_id"] == test["event_id"]
    assert 0 < arrival["round_trip_seconds"] < 30
    # The record it reports is really in Kafka, with the preview's content minus the secret key.
    records = asyncio.run(read_records(kafka_bootstrap, [arrival["topic"]], arrival["offset"] + 1))
    [record] = [r for r in records if r.offset == arrival["offset"]]
    assert dict(record.headers)["event-id"].decode() == test["event_id"]
    value = json.loads(record.value)
    assert value["LocalIP"] == ":01" and "SecretKey" not in value


def test_watch_says_what_it_saw_when_the_event_does_not_arrive(env, standin, capsys):
    code, out, err = run(capsys, "test", "--webhook-id", "5678", "--watch", "--timeout", "3")
    assert code == 1, err
    assert posts(standin, 1) == [("sent", 401)]  # the bridge refused the unknown secret
    assert "Not arrived within 3 s: sent." in out
    assert "Nothing else arrived on the topics either" in out


def test_watch_reports_other_records_it_saw(env, bridge, standin, capsys):
    """A record that is not the test notification (here: a delivery posted meanwhile) is listed."""

    async def post_other() -> None:
        await asyncio.sleep(0.5)
        event = {"Type": "Queued", "SecretKey": SAMPLE_SECRET, "MessageId": "not-the-test", "ServerId": 1}
        async with aiohttp.ClientSession() as session, session.post(bridge.url + "/webhook", json=event) as r:
            assert r.status == 200

    poster = threading.Thread(target=asyncio.run, args=(post_other(),))
    poster.start()
    code, out, _ = run(capsys, "test", "--webhook-id", "5678", "--watch", "--timeout", "4")
    poster.join()
    assert code == 1
    assert f"{bridge.prefix}.queued [0] offset" in out and "MessageId 'not-the-test'" in out


def test_cli_process_prints_one_sentence_and_no_traceback(env, bridge):
    """Through a real process: stderr holds the sentence and nothing else (no aiokafka lines)."""
    cases = [
        (["secret"], {"SOCKETLABS_API_KEY": "wrong"}, 2, "The SocketLabs API refused the API key"),
        (
            ["test", "--webhook-id", "1234", "--watch"],
            {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"},
            1,
            "Cannot read from Kafka at 127.0.0.1:",
        ),
    ]
    for args, overrides, exit_code, words in cases:
        done = subprocess.run(
            [sys.executable, "-m", "bridge", "socketlabs", *args],
            env={**env, **overrides},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.returncode, done.stdout) == (exit_code, ""), done.stderr
        assert done.stderr.startswith(f"socketlabs-bridge: {words}"), done.stderr
        assert done.stderr.count("\n") == 1, done.stderr


def test_documented_perform_test_body_through_the_running_bridge(bridge, kafka_bootstrap):
    body = copy.deepcopy(DOCUMENTED_ANSWER)
    body["data"]["SecretKey"] = SAMPLE_SECRET

    async def post_and_read() -> tuple[dict, list]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(bridge.url + "/webhook", json=body) as response,
        ):
            assert response.status == 200, await response.text()
            reply = await response.json()
        topic = f"{bridge.prefix}.delivered"
        return reply, await read_records(kafka_bootstrap, [topic], reply["offset"] + 1)

    reply, records = asyncio.run(post_and_read())
    [record] = [r for r in records if r.offset == reply["offset"]]
    value = json.loads(record.value)
    assert value == {k: v for k, v in DOCUMENTED_ANSWER["data"].items() if k != "SecretKey"}
    assert value["Data"]["Meta"] == [{"x-mycustommetadata": "I am custom metadata"}]
    assert record.key == b"SampleMessageId"
