"""A library version other than the one whose internals were checked stops the bridge in one sentence."""

from __future__ import annotations

import pytest

from bridge.cli.main import main
from bridge.core.versions import UnsupportedVersion, require


def test_a_checked_version_passes() -> None:
    require("aiohttp", "3.14.5", ("3.14.5",), "bridge.http.aiohttp_internals")


def test_another_version_is_one_sentence_naming_both() -> None:
    with pytest.raises(UnsupportedVersion) as raised:
        require("aiohttp", "3.15.0", ("3.14.5",), "bridge.http.aiohttp_internals")
    message = str(raised.value)
    assert "3.15.0" in message and "3.14.5" in message and "bridge.http.aiohttp_internals" in message
    assert "\n" not in message and message.count(". ") == 0 and message.endswith(".")


def test_the_command_line_prints_it_without_a_traceback(capsys, monkeypatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> int:
        require("aiokafka", "9.9.9", ("0.14.0",), "bridge.kafka.aiokafka_internals")
        return 0

    monkeypatch.setattr("bridge.tools.topics.run_topics_create", refuse)
    monkeypatch.setenv("BRIDGE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    assert main(["topics", "create"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "socketlabs-bridge: bridge.kafka.aiokafka_internals relies on internals of aiokafka"
    )
    assert "Traceback" not in err and err.count("\n") == 1
