"""OpenTelemetry configured the way the ecosystem expects: the standard `OTEL_*` variables, traces and
metrics exported over OTLP/HTTP (port 4318) when an endpoint is set, Prometheus `/metrics` always.

Read by the SDK itself: `OTEL_SERVICE_NAME` (default `pmo-<service>`), `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_TRACES_SAMPLER` (+ `_ARG`), `OTEL_EXPORTER_OTLP_ENDPOINT` (or the per-signal `..._TRACES_` and
`..._METRICS_ENDPOINT`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_METRIC_EXPORT_INTERVAL`. Decided here:
nothing is exported without an endpoint, and `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` set to
`none` turn one signal's export off.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, ExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry

from pmo_servicekit.service import ServiceRuntime

log = logging.getLogger(__name__)

UNMEASURED_PATHS = "/health/live,/health/ready,/metrics"
#: The same, as the paths `pmo_servicekit.edge.Edge` starts no span for.
UNTRACED_PATHS = frozenset(UNMEASURED_PATHS.split(","))

#: FastAPI's own OpenTelemetry (`FastAPI(telemetry=...)`, FastAPI 0.165), off in every app `create_app` makes.
#: It turns itself on once a global provider is set, as `serve` sets the tracer provider for the event runtime's
#: spans, and then makes a second SERVER span around servicekit's edge and a span per dependency, endpoint and
#: serialization of every request; and `pmo_servicekit.routing.FlatRoute` defers to FastAPI's handler while it
#: is on (issue 17). What it would add is made here already: the edge's server span (the instrumentor's when
#: traces are exported), the HTTP metrics (`pmo_servicekit.metrics`), the problem handlers' error logs. No
#: `auto_configure` either: exporters come from `install_telemetry` alone, whatever FASTAPI_OTEL_AUTO_CONFIGURE says.
FASTAPI_TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


@dataclass
class Telemetry:
    """One service's providers: spans always exist (events carry a real `traceparent`); export is opt-in."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    #: What `/metrics` serves: this app's instruments only, even with several apps in one process.
    registry: CollectorRegistry
    #: The tracer `pmo_servicekit.edge.Edge` starts each request's server span with; None when
    #: OpenTelemetry's FastAPI instrumentation does it (traces are exported: it adds every HTTP attribute).
    server_tracer: Tracer | None = None

    def shutdown(self) -> None:
        """Flush what is buffered to the collector (spans, the last metric interval)."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def resource_for(service: str) -> Resource:
    """`service.name` pmo-<service> and `service.namespace` pmo, unless the OTEL_* variables say otherwise."""
    from_env = OTELResourceDetector().detect().attributes
    return Resource.create({"service.name": f"pmo-{service}", "service.namespace": "pmo", **from_env})


def exports(signal: str) -> bool:
    """Whether a signal (`traces`, `metrics`) has somewhere to go."""
    if os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "otlp").strip().lower() == "none":
        return False
    endpoint = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if endpoint and os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL is not http/protobuf; exporting OTLP/HTTP anyway (port 4318)")
    return bool(endpoint)


def exemplar_filter() -> ExemplarFilter | None:
    """None (the SDK's own choice, `OTEL_METRICS_EXEMPLAR_FILTER`, by default `trace_based`) when metrics go out
    over OTLP or the variable is set; otherwise no exemplars: Prometheus' text format carries none, and offering
    each measurement to the reservoirs was a third of the cost of recording it (issue 17)."""
    if exports("metrics") or os.environ.get("OTEL_METRICS_EXEMPLAR_FILTER"):
        return None
    return AlwaysOffExemplarFilter()


def install_telemetry(app: FastAPI, runtime: ServiceRuntime) -> Telemetry:
    resource = resource_for(runtime.definition.name)
    tracer_provider = TracerProvider(resource=resource)  # the sampler comes from OTEL_TRACES_SAMPLER
    # The OTLP exporters and the instrumentors (protobuf, requests, 146 modules, about 4.6 MB of RSS) are
    # imported only when a signal is exported (issue 17: nothing is, without an endpoint).
    if exports("traces"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        SQLAlchemyInstrumentor().instrument(engine=runtime.db.engine.sync_engine, tracer_provider=tracer_provider)
    registry = CollectorRegistry()
    readers: list[MetricReader] = [PrometheusMetricReader(registry=registry, scope_info_enabled=False)]
    if exports("metrics"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(metric_readers=readers, resource=resource, exemplar_filter=exemplar_filter())
    telemetry = Telemetry(tracer_provider, meter_provider, registry)
    if exports("traces"):
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # HTTP metrics are ours (pmo_servicekit.metrics); the instrumentor makes the server spans only, without
        # a child span per ASGI message (`http send`/`http receive`: three more spans per request, no information).
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=tracer_provider,
            meter_provider=NoOpMeterProvider(),
            excluded_urls=UNMEASURED_PATHS,
            exclude_spans=["receive", "send"],
        )
    else:
        # Nothing would read the instrumentor's attributes (a third of the edge's CPU per request, issue 17):
        # the edge starts a bare server span, which is all events' `traceparent` and log lines need.
        telemetry.server_tracer = tracer_provider.get_tracer("pmo_servicekit.edge")
    app.state.telemetry = telemetry
    return telemetry
