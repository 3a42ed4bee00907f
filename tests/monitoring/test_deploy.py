"""The dashboard and alert rules in deploy/: checked by promtool, and querying only what exists.

The alert rules' behaviour is pinned by `promtool test rules` (alerts_test.yaml beside this
file); every `bridge_*` name and label the dashboard and the rules use must be one the bridge
exports (histogram suffixes included), so a renamed metric cannot leave a silent empty panel.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from bridge.telemetry.metrics import Metrics
from tests.integration.probes import required_tool

ROOT = Path(__file__).parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "socketlabs-kafka-bridge.json"
OPERATIONS = ROOT / "docs" / "operations.md"
TARGET_LABELS = {"job", "instance", "namespace", "pod"}  # added by Prometheus, not the bridge
SELECTOR = re.compile(r"\b(bridge_[a-z_]+)\b(?:\{([^}]*)\})?")


def exported() -> dict[str, set[str]]:
    """Every sample name the bridge exposes, with its label names."""
    registry = CollectorRegistry()
    Metrics(registry, webhooks=["default"], topics=["socketlabs.delivered"])
    names: dict[str, set[str]] = {}
    for family in registry.collect():
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


def dashboard_queries() -> Iterator[str]:
    yield from _strings(json.loads(DASHBOARD.read_text()))


def _strings(node: Any) -> Iterator[str]:
    """Every query in a dashboard: panel targets' `expr`, template variables' `definition`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_promtool_checks_the_rules() -> None:
    checked = run(required_tool("promtool"), "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout


def test_the_rules_fire_when_they_should_and_only_then() -> None:
    tested = run(required_tool("promtool"), "test", "rules", "tests/monitoring/alerts_test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


@pytest.mark.parametrize("source", ["dashboard", "rules"])
def test_every_metric_queried_is_exported(source: str) -> None:
    text = "\n".join(dashboard_queries()) if source == "dashboard" else RULES.read_text()
    names = exported()
    used = SELECTOR.findall(text)
    assert len({name for name, _ in used}) >= 5, "the parser found too few metric names"
    for name, matchers in used:
        assert name in names, f"{source} queries {name}, which the bridge does not export"
        for label in re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", matchers):
            assert label in names[name] | TARGET_LABELS, f"{source}: {name} has no label {label}"


def test_the_dashboard_has_the_panels_operators_need() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    titles = " | ".join(p["title"] for p in panels)
    for wanted in (
        "by kind",
        "Authentication failures",
        "503",
        "Produce latency",
        "Event delay",
        "Readiness",
    ):
        assert wanted in titles
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels)
    latency = next(p for p in panels if p["title"] == "Produce latency")
    assert [t["legendFormat"] for t in latency["targets"]] == ["p50", "p99"]


def test_every_alert_has_a_runbook_section() -> None:
    rules = RULES.read_text()
    alerts = re.findall(r"- alert: (\w+)", rules)
    anchors = re.findall(r"runbook: docs/operations\.md#(\S+)", rules)
    assert [a.lower() for a in alerts] == anchors
    headings = {h.strip().lower() for h in re.findall(r"^#+ (.+)$", OPERATIONS.read_text(), re.MULTILINE)}
    for alert in alerts:
        assert alert.lower() in headings, f"docs/operations.md has no section for {alert}"
