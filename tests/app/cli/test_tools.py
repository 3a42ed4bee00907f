"""The tools' command line: user mistakes give one sentence and exit 2 (runtime failures 1), never
a traceback; `--help` of every command shows an example; `send-test` against the app."""

from __future__ import annotations

import io
import socket

import pytest
from prometheus_client import CollectorRegistry

from bridge.cli.main import main
from bridge.core.settings import load_settings
from bridge.http.app import create_app
from bridge.tools.send_samples import _post_all, summary
from tests.helpers import SAMPLE_SECRET, RecordingPublisher


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["send-test", "--url", "nope", "--secret", "k"], "is not an http:// or https:// URL"),
        (
            ["send-test", "--url", "http://127.0.0.1:1", "--secret", "k", "--type", "bounce"],
            "unknown kind 'bounce'",
        ),
        (
            ["send-test", "--url", "http://127.0.0.1:1", "--secret", "k", "--count", "many"],
            "is not a whole number",
        ),
        (
            ["send-test", "--url", "http://127.0.0.1:1", "--secret", "k", "--concurrency", "0"],
            "must be 1 or more",
        ),
        (["send-test", "--secret", "k"], "the following arguments are required: --url"),
        (["tail", "--kind", "bounce"], "unknown kind 'bounce'"),
        (["tail", "--timeout", "soon"], "is not a number of seconds"),
        (["topics", "create", "--retention", "a week"], "is not a retention"),
        (["topics", "create", "--partitions", "-1"], "must be 1 or more"),
    ],
)
def test_argument_mistakes_are_one_sentence_and_exit_2(capsys, argv, says) -> None:
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert says in err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if "error:" in line]) == 1


def test_send_test_without_a_secret_says_so(capsys, monkeypatch) -> None:
    monkeypatch.delenv("BRIDGE_SECRET_KEY", raising=False)
    code, _, err = run_cli(capsys, "send-test", "--url", "http://127.0.0.1:1")
    assert (code, err) == (2, "socketlabs-bridge: --secret is required (or set BRIDGE_SECRET_KEY).\n")


def test_tail_without_kafka_configured_names_the_setting(capsys, monkeypatch) -> None:
    monkeypatch.delenv("BRIDGE_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("BRIDGE_SECRET_KEY", raising=False)  # tail needs no secret key
    code, _, err = run_cli(capsys, "tail")
    assert code == 2
    assert err.startswith(
        "socketlabs-bridge: BRIDGE_KAFKA_BOOTSTRAP_SERVERS (kafka_bootstrap_servers) is required"
    )
    assert "SECRET_KEY" not in err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_send_test_to_an_unreachable_bridge_is_a_runtime_failure(capsys) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/webhook"
    code, _, err = run_cli(capsys, "send-test", "--url", url, "--secret", "k")
    assert code == 1
    assert err == f"socketlabs-bridge: Cannot reach {url} (connection refused).\n"


@pytest.mark.parametrize(
    "argv",
    [["send-test"], ["tail"], ["topics", "create"], ["check-config"], ["serve"], ["dev"]],
)
def test_every_command_help_has_an_example(capsys, argv) -> None:
    code, out, _ = run_cli(capsys, *argv, "--help")
    assert code == 0
    assert "Example" in out and "socketlabs-bridge " in out.split("Example", 1)[1]


async def test_send_test_posts_every_kind_to_the_app_as_json_and_form(aiohttp_server) -> None:
    publisher = RecordingPublisher()
    settings = load_settings(
        None, {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "k:9092", "BRIDGE_SECRET_KEY": SAMPLE_SECRET}
    )
    server = await aiohttp_server(create_app(settings, publisher=publisher, registry=CollectorRegistry()))
    url = str(server.make_url("/webhook"))
    plan = [
        "queued",
        "deferred",
        "delivered",
        "failed",
        "complaint",
        "click",
        "open",
        "unsubscribe",
        "unknown",
    ]
    out = io.StringIO()
    for form in (False, True):
        answers = await _post_all(url, SAMPLE_SECRET, plan, form, 3, 10.0, out, True, None)
        assert sorted(a.status for a in answers) == [200] * len(plan)
    topics = [r.topic for r in publisher.records]
    assert sorted(topics) == sorted([f"socketlabs.{k}" for k in plan] * 2)
    assert all(SAMPLE_SECRET.encode() not in r.value for r in publisher.records)
    assert out.getvalue().count(" 200 ") == 2 * len(plan)
    assert "status 200: 9" in summary(answers, 1.0, 3)


async def test_send_test_reports_a_503_per_post(aiohttp_server) -> None:
    from bridge.core.errors import Unavailable

    publisher = RecordingPublisher()
    publisher.fail_with = Unavailable("Kafka is down.", reason="unavailable")
    settings = load_settings(
        None, {"BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "k:9092", "BRIDGE_SECRET_KEY": SAMPLE_SECRET}
    )
    server = await aiohttp_server(create_app(settings, publisher=publisher, registry=CollectorRegistry()))
    out = io.StringIO()
    answers = await _post_all(
        str(server.make_url("/webhook")), SAMPLE_SECRET, ["delivered"], False, 1, 10.0, out, True, None
    )
    assert [a.status for a in answers] == [503]
    assert "unavailable: Kafka is down." in out.getvalue()
