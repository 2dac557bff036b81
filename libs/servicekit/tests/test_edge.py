"""The edge middleware on its own: the server span it starts when nothing exports traces, the request id, the
metrics it records and the guard's refusals, all in one layer (pmo_servicekit.edge)."""

from __future__ import annotations

import random

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanContext, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pmo_servicekit.edge import Edge, unwatched_span
from pmo_servicekit.metrics import RequestMetrics
from pmo_servicekit.telemetry import FASTAPI_TELEMETRY_OFF, UNTRACED_PATHS

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class _Recorded:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def record(self, scope, status: int, seconds: float) -> None:
        self.calls.append((scope["method"], getattr(scope.get("route"), "path", "unmatched"), status))


def _app(spans: InMemorySpanExporter, metrics: _Recorded) -> FastAPI:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    # As create_app makes it: FastAPI's own telemetry would otherwise wrap the edge in a server span of its own
    # once any test (test_workers, as `serve`) has set a global tracer provider, and parent the edge's spans.
    app = FastAPI(telemetry=FASTAPI_TELEMETRY_OFF)
    seen: dict[str, object] = {}

    @app.post("/things/{thing}")
    async def make(thing: str) -> dict[str, str]:
        context = trace.get_current_span().get_span_context()
        seen["trace_id"] = format(context.trace_id, "032x")
        return {"thing": thing}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("no")

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    app.state.seen = seen
    app.add_middleware(
        Edge,
        metrics=metrics,  # type: ignore[arg-type]
        tracer=provider.get_tracer("test"),
        untraced_paths=UNTRACED_PATHS,
    )
    return app


async def test_one_server_span_per_request_continuing_the_callers_trace() -> None:
    spans, metrics = InMemorySpanExporter(), _Recorded()
    app = _app(spans, metrics)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        made = await client.post(
            "/things/a", json={}, headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01", "X-Request-ID": "r-1"}
        )
        fresh = await client.post("/things/b", json={})
        failed = await client.get("/boom")
        probe = await client.get("/health/live")
        refused = await client.post(
            "/things/c", content=b'{"x": "\\u0000"}', headers={"content-type": "application/json"}
        )

    assert made.status_code == 200 and fresh.status_code == 200
    assert made.headers["x-request-id"] == "r-1" and len(fresh.headers["x-request-id"]) == 32
    assert app.state.seen["trace_id"] != TRACE_ID  # the last request (/things/b) started a trace of its own
    finished = spans.get_finished_spans()
    by_name: dict[str, list[ReadableSpan]] = {}
    for span in finished:
        by_name.setdefault(span.name, []).append(span)
    things = by_name["POST /things/{thing}"]
    assert len(things) == 2 and len(by_name["POST"]) == 1  # the refused c never reached the router
    assert all(span.kind == SpanKind.SERVER for span in finished)
    parents = [(s.context, s.parent) for s in things if s.parent is not None and s.context is not None]
    assert len(parents) == 1
    context, parent = parents[0]
    assert format(context.trace_id, "032x") == TRACE_ID and format(parent.span_id, "016x") == CALLER_SPAN
    assert failed.status_code == 500 and by_name["GET /boom"][0].status.status_code == StatusCode.ERROR
    assert not any(name.endswith("/health/live") for name in by_name) and probe.status_code == 200
    assert refused.status_code == 422 and "x-request-id" in refused.headers
    assert metrics.calls == [
        ("POST", "/things/{thing}", made.status_code),
        ("POST", "/things/{thing}", fresh.status_code),
        ("GET", "/boom", 500),
        ("GET", "/health/live", 200),
        ("POST", "unmatched", 422),  # refused before routing
    ]


def test_request_metrics_record_commands_by_operation_and_outcome() -> None:
    recorded: list[tuple[float, dict[str, str]]] = []

    class Histogram:
        def record(self, seconds: float, attributes: dict[str, str]) -> None:
            recorded.append((seconds, attributes))

    route = type("Route", (), {"path": "/things", "name": "make_thing"})()
    metrics = RequestMetrics(Histogram(), Histogram())  # type: ignore[arg-type]
    metrics.record({"method": "POST", "route": route}, 409, 0.5)
    metrics.record({"method": "GET", "route": route}, 200, 0.1)
    assert recorded == [
        (0.5, {"method": "POST", "route": "/things", "status": "409"}),
        (0.5, {"operation": "make_thing", "outcome": "refused"}),
        (0.1, {"method": "GET", "route": "/things", "status": "200"}),
    ]


class _Replayed(RandomIdGenerator):
    """Random ids from a seed: the same sequence again after `replay`."""

    def __init__(self) -> None:
        self.replay()

    def replay(self) -> None:
        self._random = random.Random(17)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64)

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128)


PARENTS = [
    None,
    f"00-{TRACE_ID}-{CALLER_SPAN}-01",
    f"00-{TRACE_ID}-{CALLER_SPAN}-00",
    f"00-{TRACE_ID}-{CALLER_SPAN}-03",
    f"00-{TRACE_ID}-{CALLER_SPAN}-02",
]


@pytest.mark.parametrize(
    "sampler",
    [ALWAYS_ON, ALWAYS_OFF, ParentBased(ALWAYS_ON), ParentBased(ALWAYS_OFF), TraceIdRatioBased(0.5),
     ParentBased(TraceIdRatioBased(0.5))],
    ids=lambda sampler: sampler.get_description(),
)  # fmt: skip
@pytest.mark.parametrize("traceparent", PARENTS)
@pytest.mark.parametrize("tracestate", [None, "vendor=1,other=two"])
def test_an_unwatched_span_has_the_span_context_the_sdk_would_give(
    sampler: Sampler, traceparent: str | None, tracestate: str | None
) -> None:
    ids = _Replayed()
    provider = TracerProvider(sampler=sampler, id_generator=ids)
    tracer = provider.get_tracer("test")
    carrier = {"traceparent": traceparent} if traceparent else {}
    if tracestate and traceparent:
        carrier["tracestate"] = tracestate
    for _ in range(20):  # ratio samplers: a spread of trace ids
        parent = TraceContextTextMapPropagator().extract(carrier)
        state = ids._random.getstate()
        bare = unwatched_span(tracer, "POST", parent, SpanKind.SERVER)
        ids._random.setstate(state)
        sdk = tracer.start_span("POST", context=parent, kind=SpanKind.SERVER)
        assert bare is not None and not bare.is_recording()
        assert bare.get_span_context() == sdk.get_span_context()
        assert bare.get_span_context().trace_flags == sdk.get_span_context().trace_flags
        assert bare.get_span_context().trace_state == sdk.get_span_context().trace_state
        sdk.end()


def test_a_watched_tracer_starts_the_sdks_span() -> None:
    provider = TracerProvider()
    assert unwatched_span(provider.get_tracer("t"), "POST", otel_context.Context(), SpanKind.SERVER) is not None
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assert unwatched_span(provider.get_tracer("t"), "POST", otel_context.Context(), SpanKind.SERVER) is None
    assert unwatched_span(trace.NoOpTracer(), "POST", otel_context.Context(), SpanKind.SERVER) is None


async def test_the_edge_without_span_processors_continues_the_callers_trace() -> None:
    """As under `serve` with nothing exported: the current span in the endpoint carries the caller's trace id and
    flags and a span id of its own, and a request without `traceparent` starts a sampled trace."""
    provider = TracerProvider()
    app = FastAPI(telemetry=FASTAPI_TELEMETRY_OFF)
    seen: list[SpanContext] = []

    @app.post("/things")
    async def make() -> dict[str, str]:
        seen.append(trace.get_current_span().get_span_context())
        return {}

    app.add_middleware(Edge, metrics=_Recorded(), tracer=provider.get_tracer("t"))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.post("/things", json={}, headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"})
        await client.post("/things", json={})
    assert format(seen[0].trace_id, "032x") == TRACE_ID and format(seen[0].span_id, "016x") != CALLER_SPAN
    assert seen[0].trace_flags.sampled and seen[1].trace_flags.sampled and seen[1].trace_id != seen[0].trace_id
