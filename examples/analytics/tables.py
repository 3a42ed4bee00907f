"""Flink SQL DDL for the bridge's topics, derived from the JSON Schemas in docs/schemas/.

Stdlib only, so the DDL can be printed and checked without Flink (`python tables.py` prints the
table of every kind). Every value column is `STRING`: form posts send numbers as strings, Flink's
JSON format reads a JSON number into a `STRING` column as its text and an object (`Data`) as its
JSON text, so no SocketLabs variant can fail the row. The headers come as a metadata column and
the ones a job needs as computed columns; `DateTime` becomes the event time, with a watermark.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
# The kinds with a topic (validation events are never produced), in the contract's order.
KINDS = ("queued", "deferred", "delivered", "failed", "complaint", "click", "open", "unsubscribe", "unknown")

# `DateTime` as event time. ISO 8601 with up to 7 fractional digits and a Z: replacing T and Z
# leaves what CAST(... AS TIMESTAMP(3)) reads, truncating (never rounding) past milliseconds, so
# 08:59:59.9999999Z stays in the 08:00 hour. RFC 1123 (legacy form posts, always GMT): TO_TIMESTAMP
# with the pattern below. Neither parses: the time the bridge received the post, so a row is
# never dropped for its timestamp (a NULL event time would fail the window operator).
EVENT_TIME = """COALESCE(
    TRY_CAST(REPLACE(REPLACE(`DateTime`, 'T', ' '), 'Z', '') AS TIMESTAMP(3)),
    TO_TIMESTAMP(`DateTime`, 'EEE, dd MMM yyyy HH:mm:ss ''GMT'''),
    CAST(`received_ts` AS TIMESTAMP(3)))"""


def columns(kind: str) -> list[str]:
    """The value fields of a kind: its schema's properties, in the schema's order."""
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    return list(schema["properties"])


def create_table(
    kind: str,
    *,
    prefix: str = "socketlabs",
    bootstrap_servers: str = "kafka:9092",
    group_id: str = "flink-socketlabs",
    bounded: bool = False,
    lateness: str = "INTERVAL '10' MINUTE",
) -> str:
    """CREATE TABLE socketlabs_<kind> over topic <prefix>.<kind>.

    bounded: read from the earliest offset to the offsets at start, then finish (tests, backfills);
    otherwise start from the group's committed offsets (earliest for a new group) and run forever.
    lateness: how far behind the newest DateTime seen on a partition an event may arrive and still
    be counted in its hour; later ones are dropped by the hourly window.
    """
    fields = ",\n".join(f"  `{name}` STRING" for name in columns(kind))
    startup = (
        "'scan.startup.mode' = 'earliest-offset',\n  'scan.bounded.mode' = 'latest-offset'"
        if bounded
        else "'scan.startup.mode' = 'group-offsets',\n  'properties.auto.offset.reset' = 'earliest'"
    )
    return f"""CREATE TABLE socketlabs_{kind} (
{fields},
  `headers`     MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL,
  `received_ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  `event_id`    AS CAST(`headers`['event-id'] AS STRING),
  `event_type`  AS CAST(`headers`['event-type'] AS STRING),
  `received_at` AS CAST(`headers`['received-at'] AS STRING),
  `event_time`  AS {EVENT_TIME},
  WATERMARK FOR `event_time` AS `event_time` - {lateness}
) WITH (
  'connector' = 'kafka',
  'topic' = '{prefix}.{kind}',
  'properties.bootstrap.servers' = '{bootstrap_servers}',
  'properties.group.id' = '{group_id}',
  {startup},
  'format' = 'json',
  'json.ignore-parse-errors' = 'false'
)"""


if __name__ == "__main__":
    for name in sys.argv[1:] or KINDS:
        print(create_table(name) + ";\n")
