"""`socketlabs-bridge socketlabs ...` as an operator runs it: against the SocketLabs API stand-in,
which really posts its sample notifications to a running bridge, read back through a real broker.

The real SocketLabs API is not reachable from the test machines; tests/socketlabs_standin.py
answers as SocketLabs documents.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sys
from collections.abc import Iterator

import aiohttp
import pytest

from bridge.roundtrip import TYPE_KINDS
from tests.helpers import SAMPLE_SECRET
from tests.integration.test_end_to_end import RunningBridge, free_port, read_records
from tests.socketlabs_standin import API_KEY, DOCUMENTED_ANSWER, StandinWebhook, running_standin

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


def webhooks(bridge: RunningBridge) -> dict[str, StandinWebhook]:
    return {
        "1234": StandinWebhook(bridge.url + "/webhook", SAMPLE_SECRET),
        # SocketLabs holds a secret key the bridge was never given: every post is refused (401).
        "5678": StandinWebhook(bridge.url + "/webhook", "a-secret-the-bridge-does-not-know"),
    }


async def cli(bridge: RunningBridge, api_url: str, *args: str, **env: str) -> tuple[int, str, str]:
    """Run the command as a user would; the bridge's own environment minus its secret key, since
    an operator running `--watch` has the Kafka settings at hand, not necessarily the secret."""
    environ = {k: v for k, v in bridge.env.items() if k != "BRIDGE_SECRET_KEY"}
    environ.update({"SOCKETLABS_API_KEY": API_KEY, "SOCKETLABS_API_URL": api_url, **env})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge",
        "socketlabs",
        *args,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert "Traceback" not in err.decode(), err.decode()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_secret_and_webhook_commands(bridge):
    async with running_standin(webhooks(bridge)) as standin:
        code, out, err = await cli(bridge, standin.url, "secret")
        assert code == 0, err
        secret = out.strip()
        assert len(secret) >= 24 and "\n" not in secret  # stdout is the key alone: $(...) works
        code, out, _ = await cli(bridge, standin.url, "secret", "--json")
        assert code == 0 and json.loads(out)["secret_key"] not in ("", secret)

        code, out, err = await cli(bridge, standin.url, "webhook", "--webhook-id", "1234")
        assert code == 0, err
        assert f"endpointUrl  {bridge.url}/webhook" in out
        assert SAMPLE_SECRET not in out and "secretKey    **********" in out
        code, out, _ = await cli(bridge, standin.url, "webhook", "--webhook-id", "1234", "--json")
        assert json.loads(out)["endpointUrl"] == bridge.url + "/webhook"


async def test_mistakes_and_failures_are_one_sentence(bridge, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    async with running_standin(webhooks(bridge)) as standin:
        cases = [
            (["secret"], {"SOCKETLABS_API_KEY": "wrong"}, 2, "refused the API key (HTTP 401)"),
            (["test", "--webhook-id", "99"], {}, 2, "does not know webhook 99 (HTTP 404)"),
            (["webhook", "--webhook-id", "99"], {}, 2, "does not know webhook 99 (HTTP 404)"),
            (["secret"], {"SOCKETLABS_API_KEY": ""}, 2, "No SocketLabs API key"),
            (["secret", "--api-key-file", str(tmp_path / "none")], {}, 2, "Cannot read the API key file"),
            (["secret", "--api-url", "api.socketlabs.com"], {}, 2, "--api-url must be an http(s) URL"),
            (["secret", "--api-url", closed], {}, 1, f"Cannot reach the SocketLabs API at {closed}"),
        ]
        for args, env, exit_code, words in cases:
            code, out, err = await cli(bridge, standin.url, *args, **env)
            assert (code, out) == (exit_code, ""), (args, err)
            assert err.count("\n") == 1 and words in err, (args, err)
            assert err.startswith("socketlabs-bridge: ")

        key_file = tmp_path / "api-key"
        key_file.write_text(f"{API_KEY}\n")
        code, _, err = await cli(
            bridge, standin.url, "secret", SOCKETLABS_API_KEY="", SOCKETLABS_API_KEY_FILE=str(key_file)
        )
        assert code == 0, err


async def test_watch_sees_every_test_type_arrive_through_bridge_and_broker(bridge):
    async with running_standin(webhooks(bridge)) as standin:
        code, out, err = await cli(
            bridge, standin.url, "test", "--webhook-id", "1234", "--type", "all", "--watch"
        )
    assert code == 0, out + err
    assert sorted(standin.posts) == sorted((t, 200) for t in TYPE_KINDS)
    for test_type, kind in TYPE_KINDS.items():
        assert f"{test_type}: arrived on {bridge.prefix}.{kind} [0]" in out, out
    assert out.count("(matched by event-id)") == len(TYPE_KINDS)
    assert "Round trip OK: 7 of 7" in out
    print(out)  # the round-trip times, visible with -s


async def test_watch_json_reports_the_record_and_its_round_trip(bridge, kafka_bootstrap):
    async with running_standin(webhooks(bridge)) as standin:
        code, out, err = await cli(bridge, standin.url, "test", "--webhook-id", "1234", "--watch", "--json")
    assert code == 0, err
    report = json.loads(out)
    [test] = report["tests"]
    assert report["arrived"] is True
    assert test["preview"]["SecretKey"] == "**********"
    arrival = test["arrival"]
    assert arrival["event_id"] == test["event_id"]
    assert 0 < arrival["round_trip_seconds"] < 30
    # The record it reports is really in Kafka, with the preview's content minus the secret key.
    records = await read_records(kafka_bootstrap, [arrival["topic"]], arrival["offset"] + 1)
    [record] = [r for r in records if r.offset == arrival["offset"]]
    assert dict(record.headers)["event-id"].decode() == test["event_id"]
    assert json.loads(record.value)["LocalIP"] == ":01"


async def test_watch_says_what_it_saw_when_the_event_does_not_arrive(bridge):
    async with running_standin(webhooks(bridge)) as standin:
        code, out, err = await cli(
            bridge, standin.url, "test", "--webhook-id", "5678", "--watch", "--timeout", "3"
        )
    assert code == 1, err
    assert standin.posts == [("sent", 401)]  # the bridge refused the unknown secret
    assert "Not arrived within 3 s: sent." in out
    assert "Nothing else arrived on the topics either" in out


async def test_watch_without_kafka_is_one_sentence(bridge):
    async with running_standin(webhooks(bridge)) as standin:
        code, out, err = await cli(
            bridge,
            standin.url,
            "test",
            "--webhook-id",
            "1234",
            "--watch",
            BRIDGE_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
        )
    assert (code, out) == (1, "")
    assert err.startswith("socketlabs-bridge: Cannot read from Kafka at 127.0.0.1:")
    assert err.count("\n") == 1
    assert standin.posts == []  # SocketLabs is not asked when the result could not be watched


async def test_documented_perform_test_body_through_the_running_bridge(bridge, kafka_bootstrap):
    body = copy.deepcopy(DOCUMENTED_ANSWER)
    body["data"]["SecretKey"] = SAMPLE_SECRET
    async with (
        aiohttp.ClientSession() as session,
        session.post(bridge.url + "/webhook", json=body) as response,
    ):
        assert response.status == 200, await response.text()
        reply = await response.json()
    records = await read_records(kafka_bootstrap, [f"{bridge.prefix}.delivered"], reply["offset"] + 1)
    [record] = [r for r in records if r.offset == reply["offset"]]
    value = json.loads(record.value)
    assert value == {k: v for k, v in DOCUMENTED_ANSWER["data"].items() if k != "SecretKey"}
    assert value["Data"]["Meta"] == [{"x-mycustommetadata": "I am custom metadata"}]
    assert record.key == b"SampleMessageId"
