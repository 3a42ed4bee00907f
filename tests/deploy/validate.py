"""Rendered objects against the Kubernetes 1.37 OpenAPI schemas (strict: unknown fields fail),
offline through PyPI's kubernetes-validate; custom resources against the real CRDs in crds/.

crds/ holds prometheus-operator v0.85.0's own ServiceMonitor and PrometheusRule CRDs, as in its Go
module (example/prometheus-operator-crd/; `GOSUMDB=off go mod download
github.com/prometheus-operator/prometheus-operator@v0.85.0`). Their openAPIV3Schema is checked
here as the API server's strict field validation does: a field the schema does not name fails.
tests/kube/ applies the same CRDs to a real cluster.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

# kubernetes-validate re-reads its 1.8 MB definitions file for every object (0.3 s each); the
# files never change, so read each once. Its validation itself is untouched.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)  # type: ignore[assignment]

KUBERNETES_VERSION = "1.37.0"
CRDS = Path(__file__).parent / "crds"
CRD_FILES = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): CRDS / "monitoring.coreos.com_servicemonitors.yaml",
    ("monitoring.coreos.com/v1", "PrometheusRule"): CRDS / "monitoring.coreos.com_prometheusrules.yaml",
}


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown fields refused wherever the API server would prune them."""
    schema = dict(schema)
    if "properties" in schema:
        schema["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _strict(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            schema[key] = [_strict(s) for s in schema[key]]
    return schema


@cache
def crd_schema(path: Path) -> dict[str, Any]:
    """The v1 openAPIV3Schema of a CRD file, made strict; metadata is checked by name only."""
    crd = yaml.safe_load(path.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = _strict(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object", "required": ["name"]}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata", "spec"})
    return schema


def _name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def validate_objects(objects: list[dict[str, Any]]) -> list[str]:
    """Every problem found, one sentence each; empty when all objects are valid."""
    problems = []
    for obj in objects:
        crd = CRD_FILES.get((obj.get("apiVersion"), obj.get("kind")))  # type: ignore[arg-type]
        try:
            if crd:
                # Not checked against the metaschema first: the CRDs use Go regexes ("^(?i)...").
                jsonschema.Draft7Validator(crd_schema(crd)).validate(obj)
            else:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except jsonschema.ValidationError as exc:
            problems.append(f"{_name(obj)}: {exc.message} at {'.'.join(map(str, exc.absolute_path))}")
        except kubernetes_validate.ValidationError as exc:
            error = exc.caused_by
            problems.append(f"{_name(obj)}: {error.message} at {'.'.join(map(str, error.absolute_path))}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(
                f"{_name(obj)}: no Kubernetes {KUBERNETES_VERSION} schema for {obj.get('apiVersion')}"
            )
    return problems
