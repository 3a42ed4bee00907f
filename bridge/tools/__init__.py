"""The operator's tools behind the command line: `send-test`, `tail`, `topics create`.

Each returns an exit code: 0 done, 1 a runtime failure (unreachable bridge or Kafka, a non-200),
2 a user mistake, always with one sentence on stderr and never a traceback.
"""

from __future__ import annotations

import logging


def quiet_kafka_logs() -> None:
    """The tools report Kafka failures in one sentence themselves; aiokafka's own error lines
    (printed by logging's last-resort handler) would only repeat them less clearly."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
