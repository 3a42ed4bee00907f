"""docs/consuming.md shows the Flink SQL that ran: the DDL of every kind and the hourly query are the
text examples/analytics/ executes (tests/integration/test_analytics.py runs it), and the tables
follow docs/schemas/."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "analytics"
CONSUMING = (ROOT / "docs" / "consuming.md").read_text()


def _example(name: str) -> ModuleType:
    sys.path.insert(0, str(EXAMPLES))  # the job imports tables.py from beside itself
    try:
        spec = importlib.util.spec_from_file_location(f"analytics_{name}", EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


tables = _example("tables")
job = _example("flink_mailing_stats")


@pytest.mark.parametrize("kind", tables.KINDS)
def test_the_docs_show_the_ddl_the_job_runs_for_every_kind(kind: str) -> None:
    assert f"```sql\n{tables.create_table(kind)};\n```" in CONSUMING


@pytest.mark.parametrize("kind", tables.KINDS)
def test_every_schema_property_is_a_column_in_the_schemas_order(kind: str) -> None:
    schema = json.loads((ROOT / "docs" / "schemas" / f"{kind}.schema.json").read_text())
    ddl = tables.create_table(kind)
    positions = [ddl.index(f"  `{name}` STRING,\n") for name in schema["properties"]]
    assert positions == sorted(positions)


def test_the_docs_show_the_hourly_query_the_job_runs() -> None:
    assert f"```sql\n{job.MAILING_HOURLY.strip()}\n```" in CONSUMING


def test_the_bounded_table_reads_to_the_offsets_at_start() -> None:
    ddl = tables.create_table("failed", bounded=True)
    assert "'scan.startup.mode' = 'earliest-offset'" in ddl
    assert "'scan.bounded.mode' = 'latest-offset'" in ddl
    assert "group-offsets" not in ddl


def test_the_python_job_reads_datetime_as_the_flink_job_does() -> None:
    """The expressions checked in Flink (docs/consuming.md), mirrored: truncation, weekday check,
    fallback to the time the bridge received the post."""
    stats = _example("mailing_stats")
    received = 1_796_185_607_876  # 2026-12-02T04:26:47.876Z
    assert (
        stats.event_time("2026-05-18T08:59:59.9999999Z", received).isoformat() == "2026-05-18T08:59:59+00:00"
    )
    assert stats.event_time("2026-05-18T08:12:44Z", received).hour == 8
    assert (
        stats.event_time("Mon, 18 May 2026 08:12:44 GMT", received).isoformat() == "2026-05-18T08:12:44+00:00"
    )
    assert stats.event_time("Tue, 18 May 2026 08:12:44 GMT", received).month == 12  # wrong weekday
    assert stats.event_time(None, received).isoformat() == "2026-12-02T04:26:47+00:00"
