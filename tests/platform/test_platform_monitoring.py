"""The PrometheusRule and the Grafana dashboard: PromQL that parses, alerts a person can act on, a
dashboard Grafana can load. (tests/e2e checks that every metric they read is one the services expose.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from .manifests import K8S, alert_rules, base_name, dashboard, dashboard_queries, kustomize, metrics_in, of_kind

pytestmark = pytest.mark.platform

#: What must page someone (issue 18): a stalled relay, growing lag, dead letters, readiness.
REQUIRED_ALERTS = {"PMORelayStalled", "PMOSubscriptionLagGrowing", "PMODeadLetters", "PMONotReady"}
DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d)$")
#: The part of Grafana's dashboard model this dashboard uses, as JSON Schema.
DASHBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "templating", "time"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "templating": {"type": "object", "required": ["list"]},
        "panels": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "type", "title", "gridPos"],
                "properties": {
                    "id": {"type": "integer"},
                    "type": {"enum": ["row", "timeseries", "stat", "gauge", "table"]},
                    "gridPos": {
                        "type": "object",
                        "required": ["h", "w", "x", "y"],
                        "properties": {k: {"type": "integer", "minimum": 0} for k in ("h", "w", "x", "y")},
                    },
                    "datasource": {"const": {"type": "prometheus", "uid": "${datasource}"}},
                    "targets": {
                        "type": "array",
                        "items": {"type": "object", "required": ["refId", "expr"]},
                    },
                },
            },
        },
    },
}


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_each_alert_parses_and_tells_a_person_what_to_do(rule: dict[str, Any]) -> None:
    assert metrics_in(rule["expr"]), "the expression reads at least one metric"
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 30
    assert DURATION.match(rule.get("for", "0s"))


def test_the_alerts_cover_what_must_page_someone() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert names >= REQUIRED_ALERTS
    assert len(names) == len(alert_rules()), "alert names are unique"


def test_the_dashboard_loads_and_every_query_parses() -> None:
    board = dashboard()
    Draft202012Validator(DASHBOARD_SCHEMA).validate(board)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["type"] == "row" or panel["targets"], panel["title"]
    variables = {v["name"] for v in board["templating"]["list"]}
    assert variables == {"datasource", "namespace"}
    queries = dashboard_queries()
    assert all(metrics_in(q) for q in queries) and len(queries) >= 10


def test_both_overlays_ship_the_monitoring_resources() -> None:
    for overlay in ("dev", "prod"):
        docs = kustomize(K8S / "overlays" / overlay)
        monitor = of_kind(docs, "ServiceMonitor")["pmo"]["spec"]
        assert monitor["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}]
        services = of_kind(docs, "Service")
        assert {
            n
            for n, s in services.items()
            if monitor["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        } == {"intake", "portfolio", "resourcing", "reporting"}
        assert all(any(p["name"] == "http" for p in s["spec"]["ports"]) for s in services.values())
        maps = {base_name(n): m for n, m in of_kind(docs, "ConfigMap").items()}
        board = maps["pmo-grafana-dashboard"]
        assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(board["data"]["pmo-overview.json"]) == dashboard()
        assert "PrometheusRule" in {d["kind"] for d in docs}
