"""A throwaway three-node Apache Kafka cluster (KRaft) from the same jars as `LocalKafka`.

Each node is a combined broker+controller (`LocalKafka` with its own node id, ports and data
dir); the three controllers form the quorum. Used by the replication fault tests and by
``python -m bench --cluster``; ``python -m bridge.tools.localcluster`` runs one until Ctrl-C.

Combined nodes keep it to three JVMs on a shared machine; the price is that losing two nodes also
loses the controller quorum (see docs/reliability.md).
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from bridge.tools.localkafka import LocalKafka, LocalKafkaError, free_ports, new_cluster_id

# What a replicated production cluster sets; the event topics get theirs from `topics create`.
_CLUSTER_PROPERTIES = {
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
    "unclean.leader.election.enable": "false",
}


class LocalKafkaCluster:
    """Three (or `size`) combined KRaft nodes; node ids 1..size.

    Example::

        with LocalKafkaCluster() as cluster:
            print(cluster.bootstrap_servers)  # "127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>"
            cluster.kill(2); cluster.restart(2)

    kill/pause/resume/restart act on one node (by id) and keep its ports and data dir.
    """

    def __init__(
        self, size: int = 3, *, workdir: Path | None = None, heap: str = "-Xmx384m", quick_start: bool = True
    ) -> None:
        """`quick_start=False`: the full JIT, as `LocalKafka` explains (for benchmarks)."""
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="localcluster-"))
        controller_ports = free_ports(size)
        quorum = {node_id: port for node_id, port in enumerate(controller_ports, start=1)}
        cluster_id = new_cluster_id()
        self.nodes = {
            node_id: LocalKafka(
                node_id=node_id,
                controller_port=port,
                quorum=quorum,
                cluster_id=cluster_id,
                workdir=self.workdir / f"node-{node_id}",
                extra_properties=_CLUSTER_PROPERTIES,
                heap=heap,
                quick_start=quick_start,
            )
            for node_id, port in quorum.items()
        }

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes.values())

    def start(self, timeout: float = 180) -> LocalKafkaCluster:
        """Start every node at once (a node waits for the quorum of the others to register)."""
        try:
            for node in self.nodes.values():
                if not node.is_running:
                    node.launch()
            for node in self.nodes.values():
                node.wait_registered(timeout)
        except LocalKafkaError:
            self.stop()
            raise
        return self

    def node(self, node_id: int) -> LocalKafka:
        return self.nodes[node_id]

    def kill(self, node_id: int) -> None:
        self.nodes[node_id].kill()

    def pause(self, node_id: int) -> None:
        self.nodes[node_id].pause()

    def resume(self, node_id: int) -> None:
        self.nodes[node_id].resume()

    def restart(self, node_id: int, timeout: float = 120) -> LocalKafka:
        """Stop the node cleanly if it runs (as a rolling upgrade does), start it, wait until registered."""
        return self.nodes[node_id].restart(timeout)

    def heal(self) -> None:
        """Resume paused nodes and start stopped ones: the state a test expects to begin from."""
        for node in self.nodes.values():
            node.resume()
        stopped = [node for node in self.nodes.values() if not node.is_running]
        for node in stopped:
            node.launch()
        for node in stopped:
            node.wait_registered(120)

    def active_controller(self) -> int:
        """The node id of the quorum's leader, from the nodes' own `quorum-state` files.

        Each voter records the leader and epoch it knows; the highest epoch is the newest word.
        """
        best = (-1, -1)
        for node in self.nodes.values():
            path = node.workdir / "data" / "__cluster_metadata-0" / "quorum-state"
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if state.get("leaderId", -1) >= 0:
                best = max(best, (state["leaderEpoch"], state["leaderId"]))
        if best[1] < 0:
            raise LocalKafkaError("no node has recorded a controller quorum leader yet")
        return best[1]

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalKafkaCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main() -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    started = time.monotonic()
    try:
        cluster = LocalKafkaCluster().start()
    except LocalKafkaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}", flush=True)
    print(
        f"(3 nodes up in {time.monotonic() - started:.0f}s; logs under {cluster.workdir}; Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(1):
            dead = [n for n, node in cluster.nodes.items() if not node.is_running]
            if dead:
                print(f"error: node {dead[0]} exited:\n{cluster.node(dead[0]).log_tail()}", file=sys.stderr)
                return 1
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
