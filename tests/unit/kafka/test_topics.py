"""Reading Kafka's per-topic answers (CreateTopics, Metadata), and topic names Kafka refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.core.settings import ConfigError, load_settings
from bridge.kafka.topics import (
    CREATED,
    EXISTS,
    REFUSED,
    Durability,
    TopicOutcome,
    TopicsRefused,
    created_topics,
    durability,
    existing_topics,
    refusal,
)


def test_created_topics_reads_each_error_code() -> None:
    answer = [
        ("a", 0, None),
        ("b", 38, "Replication factor: 3 larger than available brokers: 1."),
        ("c", 36, "Topic 'c' already exists."),  # a concurrent run won the race
        ("d", 40),  # version 0 answers carry no message
    ]
    outcomes = created_topics(answer, ["a", "b", "c", "d", "e"], 6, Durability(3, 2))
    assert outcomes == {
        "a": TopicOutcome("a", CREATED, partitions=6, replication_factor=3, min_insync_replicas=2),
        "b": TopicOutcome(
            "b",
            REFUSED,
            reason="INVALID_REPLICATION_FACTOR: Replication factor: 3 larger than available brokers: 1",
        ),
        "c": TopicOutcome("c", EXISTS),
        "d": TopicOutcome("d", REFUSED, reason="INVALID_CONFIG"),
        "e": TopicOutcome("e", REFUSED, reason="Kafka's answer did not mention it"),
    }
    assert refusal(outcomes["d"]) == "Kafka refused to create topic d: INVALID_CONFIG."


def test_existing_topics_reads_partitions_replicas_and_errors() -> None:
    metadata = [
        {"topic": "a", "error_code": 0, "partitions": [{"replicas": [1, 2, 3]}, {"replicas": [2, 3]}]},
        {"topic": "b", "error_code": 29, "partitions": []},
        {"topic": "other", "error_code": 0, "partitions": [{"replicas": [1]}]},
    ]
    assert existing_topics(metadata, ["a", "b", "c"]) == {
        "a": TopicOutcome("a", EXISTS, partitions=2, replication_factor=2),
        "b": TopicOutcome("b", REFUSED, reason="TOPIC_AUTHORIZATION_FAILED"),
    }


@pytest.mark.parametrize("name", [".", ".."])
def test_settings_refuse_the_names_kafka_refuses(name: str, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(f'kafka_bootstrap_servers = "kafka:9092"\n[topics]\nqueued = "{name}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(str(config), {}, require_secret=False)
    assert info.value.problems == [
        f"topics.queued cannot be {name!r}: Kafka refuses '.' and '..' as topic names."
    ]


@pytest.mark.parametrize(
    ("brokers", "asked", "in_sync", "expected"),
    [
        (1, None, None, Durability(1, 1)),  # a dev broker
        (2, None, None, Durability(2, 1)),
        (3, None, None, Durability(3, 2)),  # the production choice
        (5, None, None, Durability(3, 2)),
        (5, 5, 3, Durability(5, 3)),
        (3, 3, 3, Durability(3, 3)),
    ],
)
def test_durability_defaults(
    brokers: int, asked: int | None, in_sync: int | None, expected: Durability
) -> None:
    assert durability(brokers, asked, in_sync) == expected


def test_durability_refuses_more_replicas_than_brokers() -> None:
    with pytest.raises(TopicsRefused) as info:
        durability(1, 3, None)
    assert info.value.message == (
        "Replication factor 3 is more than the 1 broker the Kafka cluster has registered; "
        "use --replication-factor 1 or fewer, or add brokers."
    )
    with pytest.raises(TopicsRefused, match=r"min\.insync\.replicas 3 is more than the replication factor 2"):
        durability(3, 2, 3)
