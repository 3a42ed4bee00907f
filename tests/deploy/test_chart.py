"""The Helm chart, checked without a cluster: lint, render, schema-validate, and its promises.

Where the seconds go: each `helm template` is ~0.2 s and each object's schema check a few ms;
renders are shared per values file (module-scoped cache).
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.tools import (
    CHART,
    REQUIRED,
    ROOT,
    by_kind,
    helm,
    helm_template,
    pinned_versions,
    promtool,
    run,
)
from tests.deploy.validate import validate_objects

CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
CASES = {"defaults": REQUIRED} | {p.name: ("--values", str(p)) for p in CI_VALUES}
PRODUCTION = ("--values", str(CHART / "ci" / "production-values.yaml"))


@cache
def rendered(case: str) -> list[dict[str, Any]]:
    return helm_template(*CASES[case])


def test_the_ci_folder_has_several_values_files() -> None:
    assert len(CI_VALUES) >= 3


@pytest.mark.parametrize("version", pinned_versions("helm"))  # users run Helm 3 and Helm 4
def test_helm_lint_strict_passes_for_the_defaults_and_every_ci_values_file(version: str) -> None:
    run(helm(version), "lint", "--strict", str(CHART), *REQUIRED)
    for values in CI_VALUES:
        run(helm(version), "lint", "--strict", str(CHART), "--values", str(values))


@pytest.mark.parametrize("case", list(CASES))
def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(case: str) -> None:
    objects = rendered(case)
    assert {"Deployment", "Service", "ConfigMap"} <= {o["kind"] for o in objects}
    assert validate_objects(objects) == []


def test_the_validator_does_reject_an_unknown_field() -> None:
    deployment = json.loads(json.dumps(by_kind(rendered("defaults"), "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    monitor = json.loads(json.dumps(by_kind(rendered("production-values.yaml"), "ServiceMonitor")))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    problems = validate_objects([deployment, monitor])
    assert len(problems) == 2 and "livenessprobe" in problems[0] and "intervall" in problems[1]


def test_the_production_values_render_every_optional_object() -> None:
    kinds = sorted(o["kind"] for o in rendered("production-values.yaml"))
    for kind in (
        "HorizontalPodAutoscaler",
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PrometheusRule",
        "ServiceMonitor",
        "Job",
        "ServiceAccount",
    ):
        assert kind in kinds
    assert "Secret" not in kinds  # existingSecret: the chart makes none


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return by_kind(objects, "Deployment")["spec"]["template"]


def test_the_deployment_meets_the_platform_checklist() -> None:
    pod = _pod(rendered("defaults"))
    spec = pod["spec"]
    [container] = spec["containers"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    probes = {
        k: (v["httpGet"]["path"], v["httpGet"]["port"]) for k, v in container.items() if k.endswith("Probe")
    }
    assert probes == {
        "startupProbe": ("/healthz", "admin"),
        "livenessProbe": ("/healthz", "admin"),
        "readinessProbe": ("/readyz", "admin"),
    }
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8080, "admin": 9090}
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert {c["topologyKey"] for c in spec["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert {"checksum/config", "checksum/secret"} <= set(pod["metadata"]["annotations"])
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/tmp" in mounts  # the only writable place with a read-only root
    env = {e["name"]: e for e in container["env"]}
    assert env["BRIDGE_SECRET_KEY_FILE"]["value"].startswith("/etc/socketlabs-bridge/secrets/")
    assert "BRIDGE_SECRET_KEY" not in env  # secrets as files, never in the environment
    assert env["BRIDGE_CONFIG"]["value"] == "/etc/socketlabs-bridge/config/bridge.toml"


def test_termination_grace_outlasts_the_pause_the_shutdown_delay_and_the_drain() -> None:
    objects = rendered("defaults")
    spec = _pod(objects)["spec"]
    config = tomllib.loads(by_kind(objects, "ConfigMap")["data"]["bridge.toml"])
    assert "lifecycle" not in spec["containers"][0]  # the bridge's own shutdown delay does the waiting
    assert config["shutdown_delay"] == 10
    assert spec["terminationGracePeriodSeconds"] > config["shutdown_delay"] + config["drain_timeout"]
    longer = helm_template(
        *REQUIRED, "--set", "config.drainTimeout=100", "--set", "lifecycle.preStopSleepSeconds=5"
    )
    assert _pod(longer)["spec"]["terminationGracePeriodSeconds"] > 115
    assert _pod(longer)["spec"]["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"] == 5
    refused = run(
        helm(),
        "template",
        "x",
        str(CHART),
        *REQUIRED,
        "--set",
        "terminationGracePeriodSeconds=20",
        check=False,
    )
    assert refused.returncode != 0 and "must be more than" in refused.stderr


def test_a_configuration_change_rolls_the_pods() -> None:
    before = _pod(rendered("defaults"))["metadata"]["annotations"]
    config = _pod(helm_template(*REQUIRED, "--set", "config.logLevel=DEBUG"))["metadata"]["annotations"]
    secret = _pod(helm_template("--set", "secrets.secretKeys[0]=rotated"))["metadata"]["annotations"]
    assert config["checksum/config"] != before["checksum/config"]
    assert secret["checksum/secret"] != before["checksum/secret"]
    assert secret["checksum/config"] == before["checksum/config"]


def test_secrets_come_from_the_chart_secret_or_an_existing_one_as_files() -> None:
    objects = rendered("sasl-chart-secret-values.yaml")
    secret = next(
        o
        for o in objects
        if o["kind"] == "Secret" and "helm.sh/hook" not in o["metadata"].get("annotations", {})
    )
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {"secret-key": "ci-secret-key", "kafka-sasl-password": "ci-kafka-password"}
    env = {e["name"]: e.get("value") for e in _pod(objects)["spec"]["containers"][0]["env"]}
    assert env["BRIDGE_KAFKA_SASL_PASSWORD_FILE"] == "/etc/socketlabs-bridge/secrets/kafka-sasl-password"

    production = rendered("production-values.yaml")
    volumes = {v["name"]: v for v in _pod(production)["spec"]["volumes"]}
    assert volumes["secrets"]["secret"]["secretName"] == "socketlabs-webhook"
    job = by_kind(production, "Job")
    assert {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}["secrets"]["secret"][
        "secretName"
    ] == "socketlabs-webhook"

    missing = run(helm(), "template", "x", str(CHART), check=False)
    assert missing.returncode != 0 and "secrets.secretKeys is empty" in missing.stderr
    no_password = run(
        helm(),
        "template",
        "x",
        str(CHART),
        *REQUIRED,
        "--set",
        "kafka.securityProtocol=SASL_SSL",
        check=False,
    )
    assert no_password.returncode != 0 and "kafkaSaslPassword" in no_password.stderr


def test_the_config_map_holds_a_configuration_the_bridge_accepts(tmp_path: Path) -> None:
    from bridge.core.settings import load_settings

    objects = rendered("production-values.yaml")
    configmap = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap" and not o["metadata"]["name"].endswith(("-topics", "-dashboard"))
    )
    path = tmp_path / "bridge.toml"
    path.write_text(configmap["data"]["bridge.toml"])
    (tmp_path / "password").write_text("p\n")
    settings = load_settings(
        str(path), {"BRIDGE_SECRET_KEY": "k", "BRIDGE_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "password")}
    )
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.topics["delivered"] == "email.delivered.v1"  # config.extraToml
    assert settings.drain_timeout == 25
    assert len(settings.allowed_sources or ()) == 2


def test_service_ingress_and_network_policy() -> None:
    objects = rendered("production-values.yaml")
    service = by_kind(objects, "Service")
    assert {p["name"]: p["targetPort"] for p in service["spec"]["ports"]} == {
        "http": "http",
        "admin": "admin",
    }
    ingress = by_kind(objects, "Ingress")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert ingress["spec"]["tls"][0]["hosts"] == ["socketlabs-events.example.com"]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/webhook"
    policy = by_kind(objects, "NetworkPolicy")["spec"]
    public, admin = policy["ingress"]
    assert public["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert admin["ports"] == [{"port": "admin", "protocol": "TCP"}]
    assert admin["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    dns, kafka = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert kafka["ports"] == [{"port": 9093, "protocol": "TCP"}]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}


def test_the_prometheus_rule_passes_promtool_and_matches_the_observability_rules(tmp_path: Path) -> None:
    rule = by_kind(rendered("production-values.yaml"), "PrometheusRule")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = run(promtool(), "check", "rules", str(path))
    assert "SUCCESS" in result.stdout
    source = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text())
    assert rule["spec"]["groups"] == source["groups"]


def test_the_chart_carries_the_same_alerts_and_dashboard_as_deploy() -> None:
    pairs = [
        (ROOT / "deploy/prometheus/alerts.yaml", CHART / "files/alerts.yaml"),
        (ROOT / "deploy/grafana/socketlabs-kafka-bridge.json", CHART / "files/dashboard.json"),
    ]
    for source, copy in pairs:
        assert copy.read_bytes() == source.read_bytes(), (
            f"copy {source.relative_to(ROOT)} to {copy.relative_to(ROOT)}"
        )
    dashboard = by_kind(rendered("production-values.yaml"), "ConfigMap", "-dashboard")
    assert dashboard["metadata"]["namespace"] == "monitoring"
    assert json.loads(dashboard["data"]["socketlabs-kafka-bridge.json"])["uid"] == "socketlabs-kafka-bridge"


def test_the_topics_hook_runs_before_the_release_with_its_own_config_copy() -> None:
    objects = rendered("sasl-chart-secret-values.yaml")
    hooks = [o for o in objects if o["metadata"].get("annotations", {}).get("helm.sh/hook", "test") != "test"]
    job = by_kind(hooks, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert {o["kind"] for o in hooks} == {"ConfigMap", "Secret", "ServiceAccount", "Job"}
    # The release's ServiceAccount does not exist yet when a pre-install hook runs: its own one.
    account = by_kind(hooks, "ServiceAccount")
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert int(account["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] + container["args"] == [
        "socketlabs-bridge",
        "topics",
        "create",
        "--partitions",
        "6",
        "--replication-factor",
        "1",
    ]
    main = by_kind(
        [o for o in objects if "helm.sh/hook" not in o["metadata"].get("annotations", {})], "ConfigMap"
    )
    assert by_kind(hooks, "ConfigMap")["data"] == main["data"]


# --- values.schema.json -------------------------------------------------------------------------

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())


def _with(path: str, value: Any) -> dict[str, Any]:
    values = json.loads(json.dumps(DEFAULTS))
    *parents, last = path.split(".")
    node = values
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return values


BAD_VALUES = [
    ("replicas", 3),  # typo of replicaCount
    ("config.logLevl", "DEBUG"),
    ("ingress.tls.secret", "x"),
    ("kafka.securityProtocol", "TLS"),
    ("kafka.bootstrapServers", "kafka"),
    ("kafka.sasl.mechanism", "SCRAM-SHA-1"),
    ("config.logFormat", "xml"),
    ("config.produceTimeout", 0),
    ("config.allowedSources", ["10.0.0.1"]),
    ("config.topicPrefix", "bad prefix"),
    ("ports.admin", 70000),
    ("workers", 0),
    ("image.pullPolicy", "Sometimes"),
    ("image.digest", "latest"),
    ("resources.limits.memory", "lots"),
    ("metrics.serviceMonitor.interval", "30 seconds"),
    ("topologySpread.whenUnsatisfiable", "Maybe"),
    ("secrets.secretKeys", ["two keys"]),
]


def test_the_defaults_and_ci_values_satisfy_the_schema() -> None:
    jsonschema.validate(DEFAULTS, SCHEMA)
    for path in CI_VALUES:
        merged = json.loads(json.dumps(DEFAULTS))
        _merge(merged, yaml.safe_load(path.read_text()))
        jsonschema.validate(merged, SCHEMA)


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@pytest.mark.parametrize(("path", "value"), BAD_VALUES, ids=[p for p, _ in BAD_VALUES])
def test_the_schema_rejects_typos_and_bad_values(path: str, value: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_with(path, value), SCHEMA)


def test_helm_itself_enforces_the_schema() -> None:
    typo = run(helm(), "template", "x", str(CHART), *REQUIRED, "--set", "replicas=3", check=False)
    assert typo.returncode != 0 and "replicas" in typo.stderr
    bad = run(
        helm(), "template", "x", str(CHART), *REQUIRED, "--set", "kafka.securityProtocol=TLS", check=False
    )
    assert bad.returncode != 0 and "securityProtocol" in bad.stderr
    no_host = run(
        helm(), "template", "x", str(CHART), *REQUIRED, "--set", "ingress.enabled=true", check=False
    )
    assert no_host.returncode != 0 and "hosts" in no_host.stderr


# --- NOTES.txt, README, helm test ---------------------------------------------------------------


def _notes(*args: str) -> str:
    """NOTES.txt as `helm install` prints it. `helm install --dry-run` still wants a cluster and
    `helm template` skips NOTES.txt, so a copy of the chart renders it as a named template."""
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "chart"
        shutil.copytree(CHART, chart)
        notes = (chart / "templates" / "NOTES.txt").read_text()
        (chart / "templates" / "NOTES.txt").unlink()
        (chart / "templates" / "_notes.tpl").write_text('{{- define "notes" -}}' + notes + "{{- end }}")
        (chart / "templates" / "notes.yaml").write_text('notes: {{ include "notes" . | toJson }}\n')
        out = run(
            helm(), "template", "slkb", str(chart), "--namespace", "bridge", *args,
            "--show-only", "templates/notes.yaml",
        ).stdout  # fmt: skip
    return str(yaml.safe_load(out)["notes"])


def test_notes_warn_about_insecure_settings() -> None:
    notes = _notes(
        "--values", str(CHART / "ci" / "minimal-values.yaml"), "--set", "kafka.securityProtocol=PLAINTEXT"
    )
    for warning in (
        "ingress.tls.enabled is false",
        "config.allowedSources is empty",
        "kafka.securityProtocol is PLAINTEXT",
        "networkPolicy.enabled is false",
        "replicaCount is 1",
        "secret key is in the Helm values",
    ):
        assert warning in notes, warning
    quiet = _notes(*PRODUCTION)
    assert "WARNINGS" not in quiet
    assert "https://socketlabs-events.example.com/webhook" in quiet


def _leaf_keys(node: Any, prefix: str = "") -> list[str]:
    if (
        isinstance(node, dict)
        and node
        and prefix not in ("resources", "topicsJob.resources", "grafanaDashboard.labels")
    ):
        return [
            k for key, value in node.items() for k in _leaf_keys(value, f"{prefix}.{key}" if prefix else key)
        ]
    return [prefix]


def test_the_readme_documents_every_value() -> None:
    readme = (CHART / "README.md").read_text()
    missing = [key for key in _leaf_keys(DEFAULTS) if f"`{key}`" not in readme]
    assert missing == [], f"values missing from helm/socketlabs-kafka-bridge/README.md: {missing}"


def test_helm_test_posts_a_validation_event() -> None:
    objects = helm_template(*REQUIRED, "--show-only", "templates/tests/validation-event.yaml")
    [pod] = objects
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    [container] = pod["spec"]["containers"]
    script = container["command"][-1]
    assert '"Type": "Validation"' in script and "status == 200" in script
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["WEBHOOK_URL"] == "http://slkb-socketlabs-kafka-bridge.bridge.svc:8080/webhook"
    assert validate_objects(objects) == []


def test_the_chart_package_is_self_contained() -> None:
    with tempfile.TemporaryDirectory() as out:
        run(helm(), "package", str(CHART), "--destination", out)
        assert list(Path(out).glob("socketlabs-kafka-bridge-*.tgz"))


def test_only_the_bridge_pods_are_selected_by_the_service_pdb_and_network_policy() -> None:
    objects = rendered("production-values.yaml")  # `helm template` includes the test pod
    pods = {"Deployment": _pod(objects)["metadata"]["labels"]}
    pods["Job"] = by_kind(objects, "Job")["spec"]["template"]["metadata"]["labels"]
    pods["Pod"] = by_kind(objects, "Pod")["metadata"]["labels"]
    selectors = [
        by_kind(objects, "Service")["spec"]["selector"],
        by_kind(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        by_kind(objects, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        selected = [kind for kind, labels in pods.items() if selector.items() <= labels.items()]
        assert selected == ["Deployment"], selector
    public_from = by_kind(objects, "NetworkPolicy")["spec"]["ingress"][0]["from"]
    assert any(
        p.get("podSelector", {}).get("matchLabels", {}).items() <= pods["Pod"].items() for p in public_from
    )
