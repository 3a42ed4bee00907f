"""Rendered objects against the Kubernetes 1.37 OpenAPI schemas (strict: unknown fields fail),
offline through PyPI's kubernetes-validate; custom resources against the schemas in crds/.

The prometheus-operator CRDs are not published on a registry CI reaches, so crds/*.json are
hand-written, strict subsets of monitoring.coreos.com/v1 ServiceMonitor and PrometheusRule
covering every field this project sets (types and patterns as in the CRDs).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils

# kubernetes-validate re-reads its 1.8 MB definitions file for every object (0.3 s each); the
# files never change, so read each once. Its validation itself is untouched.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)  # type: ignore[assignment]

KUBERNETES_VERSION = "1.37.0"
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
}


def _name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def validate_objects(objects: list[dict[str, Any]]) -> list[str]:
    """Every problem found, one sentence each; empty when all objects are valid."""
    problems = []
    for obj in objects:
        crd = CRD_SCHEMAS.get((obj.get("apiVersion"), obj.get("kind")))  # type: ignore[arg-type]
        try:
            if crd:
                schema = json.loads((Path(__file__).parent / "crds" / crd).read_text())
                jsonschema.validate(obj, schema, cls=jsonschema.Draft202012Validator)
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
