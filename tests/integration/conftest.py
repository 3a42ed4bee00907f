"""Kafka brokers for the integration tests.

``kafka_bootstrap`` (session): a bootstrap string, from the first of
  1. ``$KAFKA_BOOTSTRAP_SERVERS`` (an external broker),
  2. a testcontainers container, if a Docker engine answers (image ``$KAFKA_IMAGE``,
     default ``apache/kafka:<KAFKA_VERSION>``): with mapped ports on a normal Docker host, or with
     host networking when ``TESTCONTAINERS_HOST_NETWORK=1`` (CI's private engine, see
     scripts/ci-docker),
  3. ``bridge.tools.localkafka.LocalKafka`` (official jars from Maven Central; needs java + mvn).
With ``BRIDGE_TEST_CONTAINERS=required`` (set by scripts/ci-docker) step 2 must work: no fallback.
``local_kafka``: a LocalKafka of its own (one per module) that fault tests may kill/pause freely;
it is resumed / restarted before each test that asks for it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.tools.localkafka import KAFKA_VERSION, LocalKafka, LocalKafkaError, free_ports
from tests.containers import containers_required, docker_unavailable_reason, host_network

_NOTES: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs a real Kafka broker")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _announce(config: pytest.Config, message: str, tag: str = "kafka") -> None:
    """Say which broker (or image) is used, visibly (not captured), and again in the terminal summary."""
    _NOTES.append(f"[{tag}] {message}")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    # Fixtures run with output captured at the fd level; lift that so the line reaches the terminal.
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        reporter.ensure_newline()
        reporter.write_line(f"[{tag}] {message}", bold=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _NOTES:
        terminalreporter.section("brokers and containers used")
        for note in _NOTES:
            terminalreporter.write_line(note)


@contextlib.contextmanager
def _kafka_container(image: str) -> Iterator[str]:
    if "confluentinc/" in image:
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer(image).with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    # testcontainers' KafkaContainer drives Confluent's start scripts and cannot boot the official
    # apache/kafka image (nor the CI image built like it), so configure the broker by environment.
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    container = DockerContainer(image)
    if host_network():
        # The container shares the host's network: it must listen on free host ports itself.
        port, controller = free_ports(2)
        host = "127.0.0.1"
        container.with_kwargs(network_mode="host")
        listeners = f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}"
        voters = f"1@{host}:{controller}"
    else:
        # Mapped to a fixed host port: the advertised listener has to name the host-side port
        # before the container starts.
        port = free_ports(1)[0]
        container.with_bind_ports(9092, port)
        host = container.get_docker_client().host()
        listeners, voters = "PLAINTEXT://:9092,CONTROLLER://:9093", "1@localhost:9093"
    container.with_envs(
        KAFKA_NODE_ID="1",
        KAFKA_PROCESS_ROLES="broker,controller",
        KAFKA_LISTENERS=listeners,
        KAFKA_ADVERTISED_LISTENERS=f"PLAINTEXT://{host}:{port}",
        KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER",
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        KAFKA_CONTROLLER_QUORUM_VOTERS=voters,
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="1",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR="1",
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR="1",
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS="0",
        KAFKA_AUTO_CREATE_TOPICS_ENABLE="false",
    )
    container.waiting_for(LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(120))
    with container:
        yield f"{host}:{port}"


def _start_local(what: str) -> LocalKafka:
    try:
        return LocalKafka().start()
    except LocalKafkaError as exc:
        error = str(exc)
    pytest.fail(f"No Kafka broker for {what}: {error}", pytrace=False)  # outside except: no chained traceback


@pytest.fixture(scope="session")
def announce(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """announce(message, tag): a line in the output and in the closing summary, e.g. the image built."""
    return lambda message, tag: _announce(request.config, message, tag)


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest) -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        _announce(request.config, f"using external broker KAFKA_BOOTSTRAP_SERVERS={external}")
        yield external
        return
    unavailable = docker_unavailable_reason()
    if unavailable and containers_required():
        pytest.fail(f"BRIDGE_TEST_CONTAINERS=required, but {unavailable}", pytrace=False)
    if unavailable is None:
        image = os.environ.get("KAFKA_IMAGE", f"apache/kafka:{KAFKA_VERSION}")
        network = "host network" if host_network() else "mapped ports"
        stack = contextlib.ExitStack()
        try:
            bootstrap = stack.enter_context(_kafka_container(image))
        except Exception as exc:  # e.g. the image cannot be pulled: fall back to the jars
            if containers_required():
                pytest.fail(f"Kafka container {image} did not start: {exc}", pytrace=False)
            _announce(request.config, f"Docker container {image} failed ({exc}); trying LocalKafka")
        else:
            with stack:
                _announce(request.config, f"using testcontainers broker {image} ({network}) at {bootstrap}")
                yield bootstrap
            return
    else:
        _announce(request.config, f"container tests did not run: {unavailable}")
    broker = _start_local("the integration tests (KAFKA_BOOTSTRAP_SERVERS unset, no usable Docker)")
    _announce(
        request.config, f"using LocalKafka {KAFKA_VERSION} from Maven jars at {broker.bootstrap_servers}"
    )
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture
def busy_cpus() -> Iterator[None]:
    """Every core kept busy by a spinning process, as a compile running beside the tests would."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@pytest.fixture(scope="module")
def _local_kafka_broker(request: pytest.FixtureRequest) -> Iterator[LocalKafka]:
    broker = _start_local("fault tests (LocalKafka)")
    _announce(request.config, f"fault-test LocalKafka {KAFKA_VERSION} at {broker.bootstrap_servers}")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def local_kafka(_local_kafka_broker: LocalKafka) -> LocalKafka:
    """A LocalKafka this test may kill/pause/restart; healed (resumed/restarted) before each test."""
    _local_kafka_broker.resume()
    if not _local_kafka_broker.is_running:
        _local_kafka_broker.restart()
    return _local_kafka_broker
