"""Run a throwaway single-node Apache Kafka broker (KRaft) from the official jars on Maven Central.

Stdlib only: used by the integration tests and by ``socketlabs-bridge dev``.
Needs ``java`` (17+) and ``mvn`` on PATH; jars are resolved once into a cache.
``python -m bridge.tools.localkafka`` runs a broker until Ctrl-C.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

KAFKA_VERSION = "4.1.1"
_DEPENDENCY_PLUGIN_VERSION = "3.8.1"
_MARKER = ".complete"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>localkafka</artifactId><version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
    <!-- kafka_2.13 only depends on slf4j-api 1.7 (no binding, so no broker log); this is the
         slf4j-1.x -> log4j2 binding the Kafka distribution itself ships. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId>
    <version>{plugin}</version>
  </plugin></plugins></build>
</project>
"""

# log4j2 is configured explicitly: its default config only prints ERROR lines, which makes a
# failed start impossible to diagnose from the log tail.
_LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
"""


class LocalKafkaError(RuntimeError):
    """The local broker could not be resolved, started or reached."""


def _default_cache_dir() -> Path:
    base = os.environ.get("BRIDGE_KAFKA_CACHE")
    if base:
        return Path(base).expanduser()
    return Path.home() / ".cache" / "socketlabs-kafka-bridge" / f"kafka-{KAFKA_VERSION}"


def resolve_kafka_classpath(cache_dir: Path | None = None) -> Path:
    """Return a directory holding every runtime jar of the broker, downloading them once via Maven."""
    cache = cache_dir or _default_cache_dir()
    lib = cache / f"lib-{KAFKA_VERSION}"  # versioned, so a shared $BRIDGE_KAFKA_CACHE never mixes jars
    if (lib / _MARKER).exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalKafkaError("mvn not found on PATH: install Maven to run a local Kafka broker.")
    cache.mkdir(parents=True, exist_ok=True)
    # Resolve into a private temp dir and rename it into place, so concurrent resolvers never
    # see (or return) a half-filled lib dir; the loser of the rename race just discards its copy.
    tmp = Path(tempfile.mkdtemp(prefix=".resolve-", dir=cache))
    try:
        (tmp / "pom.xml").write_text(_POM.format(kafka=KAFKA_VERSION, plugin=_DEPENDENCY_PLUGIN_VERSION))
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(tmp / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp / 'lib'}",
        ]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.splitlines()[-20:])
            raise LocalKafkaError(
                f"mvn could not resolve kafka_2.13:{KAFKA_VERSION} (exit {proc.returncode}):\n{tail}"
            )
        (tmp / "lib" / _MARKER).write_text(KAFKA_VERSION)  # written last: marks the dir complete
        try:
            os.rename(tmp / "lib", lib)
        except OSError:
            if not (lib / _MARKER).exists():
                raise
        return lib
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def free_ports(n: int) -> list[int]:
    # Keep all sockets open until every port is chosen so the n ports are distinct.
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _registered_brokers(port: int) -> set[int]:
    """Send a raw Metadata v4 request; the node ids of the brokers it lists (registered, unfenced)."""
    client = b"localkafka"
    body = struct.pack(">hhih", 3, 4, 1, len(client)) + client + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            answer = b""
            while len(answer) < 4 or len(answer) < 4 + struct.unpack(">i", answer[:4])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    return set()
                answer += chunk
    except OSError:
        return set()
    # size, correlation id, throttle_time_ms, then brokers: [node_id, host, port, rack (nullable)]
    _, correlation, _, count = struct.unpack_from(">iiii", answer)
    if correlation != 1:
        return set()
    ids, at = set(), 16
    for _ in range(count):
        (node_id,) = struct.unpack_from(">i", answer, at)
        (host_length,) = struct.unpack_from(">h", answer, at + 4)
        at += 6 + host_length + 4
        (rack_length,) = struct.unpack_from(">h", answer, at)
        at += 2 + max(rack_length, 0)
        ids.add(node_id)
    return ids


def _broker_registered(port: int, node_id: int | None = None) -> bool:
    """True once the broker on `port` lists itself (`node_id`), or any broker when None."""
    brokers = _registered_brokers(port)
    return node_id in brokers if node_id is not None else bool(brokers)


_RUNNING: set[LocalKafka] = set()  # started and not yet stop()ped


@atexit.register
def _kill_leftovers() -> None:
    # Never leave an orphaned JVM (or temp workdir) behind when the interpreter exits without stop().
    for broker in list(_RUNNING):
        broker.kill()
        broker._cleanup()


def new_cluster_id() -> str:
    # Kafka's Uuid.randomUuid() re-rolls ids starting with "-" (they look like CLI flags).
    cluster_id = "-"
    while cluster_id.startswith("-"):
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cluster_id


class LocalKafka:
    """A single-node KRaft broker (combined broker+controller) in a child JVM.

    Example::

        with LocalKafka() as kafka:
            print(kafka.bootstrap_servers)  # "127.0.0.1:<port>"

    Extra listeners (each gets its own free port, see :meth:`listener_address`) are declared as
    ``{listener_name: security_protocol}``; their settings go through ``extra_properties``,
    which override the generated ``server.properties``. E.g. a SASL_SSL/PLAIN listener::

        LocalKafka(
            extra_listeners={"SASL_SSL": "SASL_SSL"},
            extra_properties={
                "sasl.enabled.mechanisms": "PLAIN",
                "listener.name.sasl_ssl.plain.sasl.jaas.config":
                    'org.apache.kafka.common.security.plain.PlainLoginModule required '
                    'username="admin" password="pw" user_admin="pw";',
                "ssl.keystore.type": "PEM",
                "ssl.keystore.certificate.chain": cert_pem,  # PEM text as is (escaped for you)
                "ssl.keystore.key": key_pem,  # unencrypted PKCS#8 ("BEGIN PRIVATE KEY")
            },
        )

    SCRAM users are created when the storage is formatted, e.g.
    ``format_args=["--add-scram", "SCRAM-SHA-512=[name=bridge,password=pw]"]`` (with
    ``listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config`` set to
    ``org.apache.kafka.common.security.scram.ScramLoginModule required;``).

    Clients then use ``kafka.listener_address("SASL_SSL")``; the certificate needs an IP SAN for
    127.0.0.1 (the advertised host). The PLAINTEXT listener stays the inter-broker listener and the
    one :attr:`bootstrap_servers` names. ``restart()`` reuses the same ports and data dir, so topics and records survive.

    ``quick_start=False`` runs the broker as Kafka's own start script does (full JIT, G1, 1 GiB
    heap): slower to start, but it is what a benchmark must measure against, since the quick JIT
    tier leaves the broker's steady-state CPU per record far higher.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        workdir: Path | None = None,
        extra_properties: Mapping[str, str] | None = None,
        extra_listeners: Mapping[str, str] | None = None,
        format_args: Sequence[str] = (),
        cache_dir: Path | None = None,
        quick_start: bool = True,
        node_id: int = 1,
        controller_port: int | None = None,
        quorum: Mapping[int, int] | None = None,
        cluster_id: str | None = None,
        heap: str | None = None,
    ) -> None:
        extra_listeners = dict(extra_listeners or {})
        ports = free_ports(2 + len(extra_listeners))
        self.port = port or ports[0]
        self.controller_port = controller_port or ports[1]
        self.node_id = node_id
        # {node id: controller port} of every voter; a single node votes alone.
        self._quorum = dict(quorum or {node_id: self.controller_port})
        self._cluster_id = cluster_id
        self._heap = heap
        self.listener_ports = {"PLAINTEXT": self.port, **dict(zip(extra_listeners, ports[2:], strict=False))}
        self._protocols = {"PLAINTEXT": "PLAINTEXT", "CONTROLLER": "PLAINTEXT", **extra_listeners}
        self._extra = dict(extra_properties or {})
        self._format_args = tuple(format_args)
        self._cache_dir = cache_dir
        self._quick_start = quick_start
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="localkafka-"))
        self.log_path = self.workdir / "broker.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._formatted = False

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def listener_address(self, name: str) -> str:
        return f"127.0.0.1:{self.listener_ports[name]}"

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _properties(self) -> dict[str, str]:
        listeners = {**self.listener_ports, "CONTROLLER": self.controller_port}
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            # Static quorum: lets `format` run with just --cluster-id (no --standalone needed).
            "controller.quorum.voters": ",".join(f"{n}@127.0.0.1:{p}" for n, p in self._quorum.items()),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listeners": ",".join(f"{n}://127.0.0.1:{p}" for n, p in listeners.items()),
            "advertised.listeners": ",".join(f"{n}://127.0.0.1:{p}" for n, p in self.listener_ports.items()),
            "listener.security.protocol.map": ",".join(f"{n}:{p}" for n, p in self._protocols.items()),
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "min.insync.replicas": "1",
            # Internal topics default to RF 3 and would never be created on one node; few partitions
            # keep the first consumer-group / transaction start fast.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # After kill(), the restarted broker cannot re-register until the controller fences its
            # previous incarnation (default session timeout 9s); shorten that wait.
            "broker.heartbeat.interval.ms": "1000",
            "broker.session.timeout.ms": "4000",
        }
        props.update(self._extra)
        return props

    def _java(self, main: str, *args: str, quick: bool = True) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise LocalKafkaError(
                "java not found on PATH: install a Java 17+ runtime to run a local Kafka broker."
            )
        lib = resolve_kafka_classpath(self._cache_dir)
        # A throwaway broker starts about twice as fast with the quick JIT tier only and the
        # single-threaded collector (measured on a busy two-core machine: 45 s -> 20 s).
        quick_flags = ["-Xms128m", self._heap or "-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
        # kafka-server-start.sh and kafka-run-class.sh defaults.
        server_flags = [*([self._heap] if self._heap else ["-Xms1g", "-Xmx1g"]), "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                        "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent"]  # fmt: skip
        return [
            java,
            *(quick_flags if quick else server_flags),
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp",
            f"{lib}/*",
            main,
            *args,
        ]

    def start(self, timeout: float = 90) -> LocalKafka:
        if self.is_running:
            return self
        self.launch()
        return self.wait_registered(timeout)

    def launch(self) -> None:
        """Format the storage (first time only) and start the JVM, without waiting for it."""
        _RUNNING.add(self)  # from here on, atexit cleans up even if this start fails
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "log4j2.properties").write_text(_LOG4J2)
        config = self.workdir / "server.properties"
        # Java properties syntax: escape backslashes and newlines (multi-line PEM values).
        escaped = {k: v.replace("\\", "\\\\").replace("\n", "\\n") for k, v in self._properties().items()}
        config.write_text("".join(f"{k}={v}\n" for k, v in escaped.items()))
        if not self._formatted and not (self.workdir / "data" / "meta.properties").exists():
            cluster_id = self._cluster_id or new_cluster_id()
            fmt = subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(config),
                    *self._format_args,
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            if fmt.returncode != 0:
                raise LocalKafkaError(f"Formatting Kafka storage failed:\n{fmt.stdout[-3000:]}")
        self._formatted = True
        cmd = self._java("kafka.Kafka", str(config), quick=self._quick_start)
        with open(self.log_path, "ab") as log:
            # Own session/process group: Ctrl-C in a terminal does not reach the JVM directly,
            # and signals below can target the whole group.
            self._proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def wait_registered(self, timeout: float = 90) -> LocalKafka:
        """Wait until this node's broker lists itself in its metadata (registered and unfenced)."""
        assert self._proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while not _broker_registered(self.port, self.node_id):
            if self._proc.poll() is not None:
                raise LocalKafkaError(
                    f"Kafka broker {self.node_id} exited with code {self._proc.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise LocalKafkaError(
                    f"Kafka broker {self.node_id} not ready after {timeout:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(0.25)
        return self

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the broker log, preceded by its first ERROR line (often the cause)."""
        try:
            log = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no broker log)"
        first_error = next((line for line in log if "] ERROR " in line), None)
        tail = log[-lines:]
        return "\n".join(([first_error, "..."] if first_error and first_error not in tail else []) + tail)

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, sig)

    def _terminate(self, grace: float = 20) -> None:
        if self._proc is None:
            return
        self._signal(signal.SIGCONT)  # a paused JVM cannot act on SIGTERM
        self._signal(signal.SIGTERM)
        try:
            self._proc.wait(grace)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self._proc.wait()

    def kill(self) -> None:
        """SIGKILL the broker (no clean shutdown), e.g. for fault tests; restart() recovers it."""
        self._signal(signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def restart(self, timeout: float = 90) -> LocalKafka:
        """Stop (if running) and start again on the same ports and data dir."""
        self._terminate()
        return self.start(timeout)

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM, SIGKILL after 20s) and remove a self-created workdir. Idempotent."""
        self._terminate()
        self._cleanup()
        _RUNNING.discard(self)

    def _cleanup(self) -> None:
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._formatted = False

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main() -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        kafka = LocalKafka().start()
    except LocalKafkaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"KAFKA_BOOTSTRAP_SERVERS={kafka.bootstrap_servers}", flush=True)
    print(f"(broker log: {kafka.log_path}; Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        while not stop.wait(1):
            if not kafka.is_running:
                print(f"error: broker exited:\n{kafka.log_tail()}", file=sys.stderr)
                return 1
    finally:
        kafka.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
