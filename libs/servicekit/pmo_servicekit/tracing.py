"""OpenTelemetry: a server span per request, SQL spans, OTLP export when configured."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from pmo_servicekit.service import ServiceRuntime
from pmo_servicekit.settings import ServiceSettings


def install_tracing(app: FastAPI, runtime: ServiceRuntime, settings: ServiceSettings) -> TracerProvider:
    """Spans are always made (so every event carries a real `traceparent`); exported only with an endpoint."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"pmo-{runtime.definition.name}"}))
    endpoint = settings.otel_exporter_otlp_endpoint
    if endpoint:
        exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
        SQLAlchemyInstrumentor().instrument(engine=runtime.db.engine.sync_engine, tracer_provider=provider)
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="/health/live,/health/ready,/metrics"
    )
    app.state.tracer_provider = provider
    return provider
