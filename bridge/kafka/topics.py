"""Creating the event topics, and reading Kafka's answer topic by topic.

Kafka's CreateTopics and Metadata answers succeed as a whole and carry an error code per topic;
aiokafka returns them without looking. A topic refused inside a successful answer (replication
factor above the brokers, a bad config, a name Kafka rejects) must not be reported as created.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from bridge.core.errors import BridgeError, Unavailable
from bridge.core.settings import Settings
from bridge.kafka.client import client_options

CREATED, EXISTS, REFUSED = "created", "exists", "refused"


@dataclass(frozen=True, slots=True)
class TopicOutcome:
    """What happened to one event topic: created, exists (with what it has) or refused (why)."""

    topic: str
    outcome: str  # CREATED, EXISTS or REFUSED
    partitions: int = 0  # an existing topic's own count
    replication_factor: int = 0  # an existing topic's own factor, or the one created with
    min_insync_replicas: int = 0  # what a created topic was given
    reason: str = ""  # Kafka's words for a refusal


class TopicsRefused(BridgeError):
    """The settings asked for cannot work on this cluster; nothing was sent to create."""


@dataclass(frozen=True, slots=True)
class Durability:
    replication_factor: int
    min_insync_replicas: int


def durability(brokers: int, replication_factor: int | None, min_insync_replicas: int | None) -> Durability:
    """The replication of new topics: as asked, or 3 replicas (fewer on a smaller cluster) of
    which 2 must have each record before it is acknowledged (1 below 3 replicas).

    A factor above the brokers would be refused by Kafka topic by topic; saying it once is clearer.
    """
    factor = replication_factor or min(3, brokers)
    if factor > brokers:
        have = f"{brokers} broker" + ("" if brokers == 1 else "s")
        raise TopicsRefused(
            f"Replication factor {factor} is more than the {have} the Kafka cluster has registered; "
            f"use --replication-factor {brokers} or fewer, or add brokers."
        )
    in_sync = min_insync_replicas or max(1, min(2, factor - 1))
    if in_sync > factor:
        raise TopicsRefused(
            f"min.insync.replicas {in_sync} is more than the replication factor {factor}: "
            "Kafka could never acknowledge a record; use --min-insync-replicas "
            f"{max(1, factor - 1)}."
        )
    return Durability(factor, in_sync)


def refusal(outcome: TopicOutcome) -> str:
    return f"Kafka refused to create topic {outcome.topic}: {outcome.reason}."


def kafka_reason(code: int, message: str | None) -> str:
    """`INVALID_REPLICATION_FACTOR: Replication factor: 3 larger than available brokers: 1`."""
    name = for_code(code).message
    return f"{name}: {message.rstrip('.')}" if message else name


async def create_topics(
    settings: Settings,
    partitions: int,
    replication_factor: int | None = None,
    retention_ms: int | None = None,
    min_insync_replicas: int | None = None,
) -> list[TopicOutcome]:
    """Create every event topic that does not exist yet; one outcome per distinct topic.

    Existing topics are left exactly as they are (partitions and retention too), so running it
    twice is safe. Raises `TopicsRefused` when the replication asked for cannot work on this
    cluster, `Unavailable` when Kafka cannot be asked at all.
    """
    names = list(dict.fromkeys(settings.topics.values()))
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        brokers = len((await admin.describe_cluster())["brokers"])
        existing = existing_topics(await admin.describe_topics(), names)
        outcomes = {name: outcome for name, outcome in existing.items()}
        wanted = [name for name in names if name not in existing]
        if wanted:
            plan = durability(brokers, replication_factor, min_insync_replicas)
            configs = {
                "min.insync.replicas": str(plan.min_insync_replicas),
                # Kafka's default too, but a broker-wide override must not reach these topics:
                # an out-of-sync replica made leader loses records that were answered 200.
                "unclean.leader.election.enable": "false",
            }
            if retention_ms is not None:
                configs["retention.ms"] = str(retention_ms)
            new = [NewTopic(t, partitions, plan.replication_factor, topic_configs=configs) for t in wanted]
            response = await admin.create_topics(new)
            outcomes.update(created_topics(response.topic_errors, wanted, partitions, plan))
        return [outcomes[name] for name in names]
    except KafkaError as exc:
        servers = ",".join(settings.kafka_bootstrap_servers)
        detail = f"{type(exc).__name__}: {exc}" if not exc.retriable else type(exc).__name__
        raise Unavailable(
            f"Cannot create topics on Kafka at {servers} ({detail}).", reason="unavailable"
        ) from None
    finally:
        await admin.close()


def existing_topics(
    metadata_topics: Iterable[Mapping[str, Any]], names: list[str]
) -> dict[str, TopicOutcome]:
    """The named topics Kafka's metadata lists, with their partitions and replication factor.

    A topic listed with an error code (e.g. TOPIC_AUTHORIZATION_FAILED) is a refusal: creating it
    again would only be refused too, and calling it "exists" would hide why the bridge cannot use it.
    """
    found: dict[str, TopicOutcome] = {}
    for entry in metadata_topics:
        name = entry["topic"]
        if name not in names:
            continue
        if entry["error_code"]:
            found[name] = TopicOutcome(name, REFUSED, reason=kafka_reason(entry["error_code"], None))
            continue
        replicas = [len(p["replicas"]) for p in entry["partitions"]]
        found[name] = TopicOutcome(name, EXISTS, len(replicas), min(replicas, default=0))
    return found


def created_topics(
    topic_errors: Iterable[tuple[Any, ...]], wanted: list[str], partitions: int, plan: Durability
) -> dict[str, TopicOutcome]:
    """Read CreateTopics' per-topic answers: (topic, error_code[, error_message])."""
    outcomes: dict[str, TopicOutcome] = {}
    for topic, code, *message in topic_errors:
        if not code:
            outcomes[topic] = TopicOutcome(
                topic, CREATED, partitions, plan.replication_factor, plan.min_insync_replicas
            )
        elif for_code(code) is TopicAlreadyExistsError:  # a concurrent run created it first
            outcomes[topic] = TopicOutcome(topic, EXISTS)
        else:
            outcomes[topic] = TopicOutcome(topic, REFUSED, reason=kafka_reason(code, (message or [None])[0]))
    for topic in wanted:  # an answer that leaves a topic out has not created it
        outcomes.setdefault(topic, TopicOutcome(topic, REFUSED, reason="Kafka's answer did not mention it"))
    return outcomes
