"""Shared by the platform tests: render kustomizations, find resources, validate custom resources
against the CRD schemas pinned in tests/platform/crds (offline, strict about unknown fields)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CRDS = Path(__file__).parent / "crds"
SERVICES = {"intake": 8001, "portfolio": 8002, "resourcing": 8003, "reporting": 8004}
CUSTOM_GROUPS = {"kafka.strimzi.io", "monitoring.coreos.com", "gateway.networking.k8s.io"}


def kustomize(path: Path, *options: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.fail("kubectl is not installed; it renders the kustomizations")
    argv = [kubectl, "kustomize", *options, str(path)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def overlay_with(tmp_path: Path, overlay: str, *, without: str, add: str) -> list[dict[str, Any]]:
    """An overlay rendered with one component swapped for another (e.g. Ingress for Gateway API)."""
    source = (K8S / "overlays" / overlay / "kustomization.yaml").read_text()
    assert f"../../components/{without}\n" in source
    here = os.path.relpath(K8S / "overlays" / overlay, tmp_path)  # kustomize wants relative paths
    text = source.replace(f"../../components/{without}\n", f"../../components/{add}\n")
    text = text.replace("  - ../../", f"  - {here}/../../").replace(
        "  - namespace.yaml\n", f"  - {here}/namespace.yaml\n"
    )
    (tmp_path / "kustomization.yaml").write_text(text)
    return kustomize(tmp_path, "--load-restrictor", "LoadRestrictionsNone")


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def base_name(name: str) -> str:
    """Generated ConfigMaps and Secrets carry a hash suffix; strip it."""
    head, _, tail = name.rpartition("-")
    return head if head and len(tail) == 10 and set(tail) <= _HASH_ALPHABET else name


#: The characters kustomize writes its name hashes with (hex digits mapped away from vowels and 0, 1, 3).
_HASH_ALPHABET = set("bcdfghkmt2456789")


def is_custom(doc: dict[str, Any]) -> bool:
    return doc["apiVersion"].split("/")[0] in CUSTOM_GROUPS


@cache
def crd_validator(api_version: str, kind: str) -> Draft7Validator:
    """The pinned openAPIV3Schema of a custom resource, made strict: unknown fields are errors."""
    group, version = api_version.split("/")
    path = CRDS / group / f"{kind}.{version}.json"
    if not path.exists():
        pytest.fail(f"no pinned schema for {api_version} {kind}: add it with tests/platform/crd_schemas.py")
    return Draft7Validator(_strict(json.loads(path.read_text())))


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        strict = not out.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in out and "additionalProperties" not in out and strict:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


MONITORING = K8S / "components" / "monitoring"
#: Grafana's variables in the dashboard's queries, replaced by typical values before parsing.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$namespace": "pmo"}


def alert_rules() -> list[dict[str, Any]]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def dashboard() -> dict[str, Any]:
    return json.loads((MONITORING / "grafana-dashboard.json").read_text())


def dashboard_queries() -> list[str]:
    queries = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries.append(expr)
    return queries


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (it must parse)."""
    import promql_parser

    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.add(str(node.name))
        elif isinstance(node, promql_parser.MatrixSelector):
            found.add(str(node.vector_selector.name))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found
