"""OpenTelemetry honours the standard OTEL_* variables and ships traces and metrics over OTLP/HTTP."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter

from pmo_devstack.testing import running_service
from pmo_servicekit.telemetry import exemplar_filter, exports, resource_for

from .test_service_edge import definition


def test_resource_defaults_to_the_service_and_yields_to_the_standard_variables(monkeypatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert resource_for("intake").attributes["service.name"] == "pmo-intake"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "intake-eu")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,service.namespace=acme")
    attributes = resource_for("intake").attributes
    assert attributes["service.name"] == "intake-eu"
    assert attributes["deployment.environment"] == "staging"
    assert attributes["service.namespace"] == "acme"


def test_export_needs_an_endpoint_and_can_be_switched_off_per_signal(monkeypatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    assert not exports("traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert exports("traces") and exports("metrics")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not exports("traces") and exports("metrics")


def test_exemplars_only_where_they_can_go(monkeypatch) -> None:
    """Prometheus' text format carries no exemplars: without OTLP export nothing collects them, unless asked."""
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_METRICS_EXEMPLAR_FILTER"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(exemplar_filter(), AlwaysOffExemplarFilter)
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "always_on")
    assert exemplar_filter() is None  # the SDK reads the variable itself
    monkeypatch.delenv("OTEL_METRICS_EXEMPLAR_FILTER")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert exemplar_filter() is None


class _Collector(BaseHTTPRequestHandler):
    """Receives OTLP/HTTP as a collector's port 4318 does: protobuf bodies on /v1/traces and /v1/metrics."""

    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


@pytest.mark.integration
async def test_spans_and_metrics_reach_the_collector_with_the_configured_identity(
    collector, sqlite_url: str, kafka_bootstrap: str, tmp_path: Path, monkeypatch
) -> None:
    endpoint, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "kit-under-test")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    kit = definition(tmp_path)
    serving = running_service(kit, database_url=sqlite_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path)
    async with serving as svc, svc.client("alice", "viewer") as client:
        assert (await client.post("/pings", json={"note": "traced"})).status_code == 201
    # Stopping the service flushes both signals.
    paths = {path for path, _, _ in received}
    assert paths == {"/v1/traces", "/v1/metrics"}, paths
    assert all(content_type == "application/x-protobuf" for _, content_type, _ in received)
    spans = [ExportTraceServiceRequest.FromString(body) for path, _, body in received if path == "/v1/traces"]
    resource = {a.key: a.value.string_value for a in spans[0].resource_spans[0].resource.attributes}
    assert resource["service.name"] == "kit-under-test" and resource["deployment.environment"] == "test"
    names = {s.name for r in spans for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans}
    assert "POST /pings" in names
    metrics = [ExportMetricsServiceRequest.FromString(body) for path, _, body in received if path == "/v1/metrics"]
    exported = {m.name for r in metrics for rm in r.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"pmo.http.server.request.duration", "pmo.command.duration", "pmo.relay.backlog"} <= exported


NOT_EXPORTING = """
import os, sys
for name in [n for n in os.environ if n.startswith("OTEL_")]:
    del os.environ[name]
from pmo_events.runtime import KafkaSettings
from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.app import create_app
from pmo_servicekit.settings import ServiceSettings
create_app(INTAKE, ServiceSettings(env="development", database_url="sqlite+aiosqlite://"), KafkaSettings())
LAZY = ("opentelemetry.exporter.otlp", "opentelemetry.instrumentation")
print(sorted({m for m in sys.modules if m.startswith(LAZY)}))
"""


def test_a_service_that_exports_nothing_never_imports_the_exporters_or_instrumentors() -> None:
    """The OTLP exporters and the instrumentors (146 modules, ~4.6 MB of RSS) load only with an endpoint (issue 17)."""
    done = subprocess.run([sys.executable, "-c", NOT_EXPORTING], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
