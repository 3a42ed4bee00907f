"""Per mailing and per hour of `DateTime`: a Flink SQL job over the bridge's topics (PyFlink).

Reads every event topic with the Kafka SQL connector (tables from tables.py, derived from
docs/schemas/), counts each `event-id` once, and writes one row per `MailingId` and hour to a
Kafka topic as JSON: queued, deferred, delivered, failed by `FailureType`, complaints, opens,
clicks, unsubscribes, unknown events, and the delivery and bounce rates. mailing_stats.py
computes the same rows in plain Python.

Run in Flink's local mini-cluster (parallelism 1):
    python flink_mailing_stats.py --bootstrap-servers kafka:9092 --output-topic socketlabs.mailing-hourly \
        --connector-jar flink-sql-connector-kafka-5.0.0-2.2.jar [--prefix socketlabs] [--bounded]
Needs `apache-flink` (see requirements.lock) and the matching flink-sql-connector-kafka jar.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tables.py beside this file

from tables import KINDS, create_table

# One row per event, whatever its kind. `event_type` is the header, so a renamed topic still counts
# as its kind; MailingId NULL and "" are one group, "" (no mailing).
MAIL_EVENTS = "\nUNION ALL\n".join(
    f"SELECT `event_id`, `event_type`, COALESCE(`MailingId`, '') AS mailing_id, "
    f"{'`FailureType`' if kind == 'failed' else 'CAST(NULL AS STRING)'} AS failure_type, `event_time` "
    f"FROM socketlabs_{kind}"
    for kind in KINDS
)

# Each event-id once per hourly window: a retried post has the same value, so the same DateTime
# and the same window. The dedup state lives only as long as the window, not for days.
MAILING_HOURLY = """
WITH windowed AS (
  SELECT * FROM TABLE(TUMBLE(TABLE mail_events, DESCRIPTOR(event_time), INTERVAL '1' HOUR))
), once AS (
  SELECT * FROM (
    SELECT *, ROW_NUMBER() OVER (
      PARTITION BY window_start, window_end, event_id ORDER BY event_time ASC) AS copy
    FROM windowed)
  WHERE copy = 1
), counted AS (
  SELECT mailing_id, window_start, window_end,
    COUNT(*) FILTER (WHERE event_type = 'queued')      AS queued,
    COUNT(*) FILTER (WHERE event_type = 'deferred')    AS deferred,
    COUNT(*) FILTER (WHERE event_type = 'delivered')   AS delivered,
    COUNT(*) FILTER (WHERE event_type = 'failed' AND LOWER(TRIM(failure_type)) IN ('0', 'temporary'))  AS failed_temporary,
    COUNT(*) FILTER (WHERE event_type = 'failed' AND LOWER(TRIM(failure_type)) IN ('1', 'permanent'))  AS failed_permanent,
    COUNT(*) FILTER (WHERE event_type = 'failed' AND LOWER(TRIM(failure_type)) IN ('2', 'suppressed')) AS failed_suppressed,
    COUNT(*) FILTER (WHERE event_type = 'failed') AS failed,
    COUNT(*) FILTER (WHERE event_type = 'complaint')   AS complaints,
    COUNT(*) FILTER (WHERE event_type = 'open')        AS opens,
    COUNT(*) FILTER (WHERE event_type = 'click')       AS clicks,
    COUNT(*) FILTER (WHERE event_type = 'unsubscribe') AS unsubscribes,
    COUNT(*) FILTER (WHERE event_type = 'unknown')     AS `unknown`
  FROM once
  GROUP BY mailing_id, window_start, window_end
)
SELECT mailing_id,
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss''Z''') AS `hour`,
  queued, deferred, delivered, failed_temporary, failed_permanent, failed_suppressed,
  failed - failed_temporary - failed_permanent - failed_suppressed AS failed_other,
  complaints, opens, clicks, unsubscribes, `unknown`,
  -- Over the hour's outcomes (delivered + failed); NULL when it had none.
  CAST(delivered AS DOUBLE) / NULLIF(delivered + failed, 0) AS delivery_rate,
  CAST(failed_temporary + failed_permanent AS DOUBLE) / NULLIF(delivered + failed, 0) AS bounce_rate
FROM counted
"""

OUTPUT_COLUMNS = (
    "mailing_id", "hour", "queued", "deferred", "delivered", "failed_temporary", "failed_permanent",
    "failed_suppressed", "failed_other", "complaints", "opens", "clicks", "unsubscribes", "unknown",
    "delivery_rate", "bounce_rate",
)  # fmt: skip


def sink_table(topic: str, bootstrap_servers: str) -> str:
    counts = ",\n".join(f"  `{name}` BIGINT" for name in OUTPUT_COLUMNS[2:-2])
    return f"""CREATE TABLE mailing_hourly (
  `mailing_id` STRING,
  `hour` STRING,
{counts},
  `delivery_rate` DOUBLE,
  `bounce_rate` DOUBLE
) WITH (
  'connector' = 'kafka',
  'topic' = '{topic}',
  'properties.bootstrap.servers' = '{bootstrap_servers}',
  'key.format' = 'raw',
  'key.fields' = 'mailing_id',
  'value.format' = 'json',
  'value.fields-include' = 'ALL',
  'sink.delivery-guarantee' = 'at-least-once'
)"""


def run(args: argparse.Namespace) -> int:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = env.get_config()
    config.set("pipeline.jars", Path(args.connector_jar).resolve().as_uri())
    config.set("parallelism.default", "1")
    config.set("table.local-time-zone", "UTC")  # DateTime is UTC; hours are UTC hours
    if not args.bounded:
        # A topic or partition that gets no events (complaints are rare) must not hold back the
        # watermark of the others for ever. Not when bounded: a partition read to its end stops
        # holding it back anyway, and one merely slow to start must not be skipped past.
        config.set("table.exec.source.idle-timeout", "1 min")
        config.set("execution.checkpointing.interval", "1 min")  # offsets committed on checkpoints
    for kind in KINDS:
        env.execute_sql(
            create_table(
                kind,
                prefix=args.prefix,
                bootstrap_servers=args.bootstrap_servers,
                group_id=args.group,
                bounded=args.bounded,
                lateness=f"INTERVAL '{args.lateness_minutes}' MINUTE",
            )
        )
    env.execute_sql(f"CREATE TEMPORARY VIEW mail_events AS\n{MAIL_EVENTS}")
    env.execute_sql(sink_table(args.output_topic, args.bootstrap_servers))
    started = time.monotonic()
    result = env.execute_sql(f"INSERT INTO mailing_hourly\n{MAILING_HOURLY}")
    result.wait()  # a bounded job finishes at the offsets it started with; an unbounded one never
    print(f"job finished in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--prefix", default="socketlabs", help="the bridge's BRIDGE_TOPIC_PREFIX")
    parser.add_argument("--output-topic", required=True, help="where the rows go (must exist)")
    parser.add_argument("--connector-jar", required=True, help="flink-sql-connector-kafka jar")
    parser.add_argument("--group", default="flink-socketlabs", help="consumer group id")
    parser.add_argument("--bounded", action="store_true", help="read what is there now, then stop")
    parser.add_argument("--lateness-minutes", type=int, default=10, help="watermark delay")
    args = parser.parse_args()
    if not Path(args.connector_jar).is_file():
        print(f"error: no connector jar at {args.connector_jar}.", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
