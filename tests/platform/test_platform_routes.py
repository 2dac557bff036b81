"""Custom resources validate against the pinned CRD schemas (Strimzi, Prometheus Operator, Gateway API),
and one origin routes every API path to the one service that serves it (Gateway API and Ingress)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .manifests import K8S, SERVICES, crd_validator, is_custom, kustomize, of_kind, overlay_with

pytestmark = pytest.mark.platform

OVERLAYS = ["dev", "prod"]
INTERNAL = ("/health", "/metrics")  # probes and Prometheus, not the public origin


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, kustomize(K8S / "overlays" / request.param)


def test_every_custom_resource_matches_its_pinned_crd_schema(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    custom = [doc for doc in docs if is_custom(doc)]
    assert {doc["kind"] for doc in custom} >= {"KafkaTopic", "ServiceMonitor", "PrometheusRule", "Gateway", "HTTPRoute"}
    for doc in custom:
        errors = [e.message for e in crd_validator(doc["apiVersion"], doc["kind"]).iter_errors(doc)]
        assert not errors, f"{doc['kind']} {doc['metadata']['name']}: {errors[:5]}"


def test_the_pinned_schemas_catch_a_wrong_field() -> None:
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "x"},
             "spec": {"rules": [{"backendRefs": [{"name": "intake", "port": "8001"}], "timeout": "5s"}]}}  # fmt: skip
    errors = list(crd_validator(route["apiVersion"], route["kind"]).iter_errors(route))
    assert len(errors) >= 2, "a port as text and a misplaced field are both refused"


def _openapi_paths() -> dict[str, set[str]]:
    from pmo_devstack.testing import openapi_of
    from pmo_intake.bootstrap import INTAKE
    from pmo_portfolio.bootstrap import PORTFOLIO
    from pmo_reporting.bootstrap import REPORTING
    from pmo_resourcing.bootstrap import RESOURCING

    found = {}
    for definition in (INTAKE, PORTFOLIO, RESOURCING, REPORTING):
        paths = openapi_of(definition)["paths"]
        found[definition.name] = {p for p in paths if not p.startswith(INTERNAL)}
    # The console's HTML pages are outside the OpenAPI document, and behind the same gateway.
    from pmo_reporting.adapters.http.console import router as console

    found[REPORTING.name] |= {route.path for route in console.routes if hasattr(route, "path")}
    return found


def _matches(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _route_table(docs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(match type, path, backend service) for every rule of every HTTPRoute or Ingress."""
    table = []
    for route in of_kind(docs, "HTTPRoute").values():
        for rule in route["spec"].get("rules", []):
            backends = sorted({ref["name"] for ref in rule.get("backendRefs", [])})
            for match in rule.get("matches", []):
                assert len(backends) == 1, f"{route['metadata']['name']}: one backend per rule"
                table.append((match["path"]["type"], match["path"]["value"], backends[0]))
    for ingress in of_kind(docs, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                table.append((path["pathType"], path["path"], path["backend"]["service"]["name"]))
    return table


def _assert_one_origin(docs: list[dict[str, Any]]) -> None:
    table = _route_table(docs)
    assert table, "no route"
    services = of_kind(docs, "Service")
    for _, _, backend in table:
        assert backend in services, f"a route to a Service that does not exist: {backend}"
    for service, paths in _openapi_paths().items():
        for path in paths:
            owners = {b for kind, prefix, b in table if kind in ("PathPrefix", "Prefix") and _matches(prefix, path)}
            assert owners == {service}, f"{path} of {service} is routed to {owners or 'nothing'}"
    for _kind, prefix, _ in table:
        assert not prefix.startswith(INTERNAL), f"{prefix}: health and metrics stay inside the cluster"


def test_the_gateway_routes_every_api_path_to_its_service_under_one_host(rendered) -> None:
    _, docs = rendered
    _assert_one_origin(docs)
    (gateway,) = of_kind(docs, "Gateway").values()
    https = next(listener for listener in gateway["spec"]["listeners"] if listener["protocol"] == "HTTPS")
    assert https["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "pmo-tls"}]
    routes = of_kind(docs, "HTTPRoute")
    hosts = {host for route in routes.values() for host in route["spec"]["hostnames"]}
    assert hosts == {https["hostname"]}, "one origin"
    redirect = routes["pmo-https-redirect"]["spec"]["rules"][0]["filters"][0]
    assert redirect["requestRedirect"]["scheme"] == "https"
    for name, port in SERVICES.items():
        exact = [r for r in _route_table(docs) if r[0] == "Exact" and r[1] == f"/{name}/openapi.json"]
        assert exact == [("Exact", f"/{name}/openapi.json", name)], f"{name} publishes its OpenAPI document"
        assert any(p["port"] == port for p in of_kind(docs, "Service")[name]["spec"]["ports"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_alternative_routes_the_same_paths(overlay: str, tmp_path: Path) -> None:
    docs = overlay_with(tmp_path, overlay, without="gateway-api", add="ingress")
    assert not of_kind(docs, "HTTPRoute") and len(of_kind(docs, "Ingress")) == 1
    _assert_one_origin(docs)
    (ingress,) = of_kind(docs, "Ingress").values()
    assert ingress["spec"]["tls"] == [{"hosts": ["pmo.example.com"], "secretName": "pmo-tls"}]
    manifest = tmp_path / "ingress.yaml"
    manifest.write_text(yaml.safe_dump(ingress))
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", "-k", "1.30.0", str(manifest)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
