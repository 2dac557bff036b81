"""`current_traceparent` writes what the configured propagators' `inject` would write for the current span."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pmo_events.runtime.tracing import current_traceparent


def _injected() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


class _Fixed(TextMapPropagator):
    """A propagator of another kind that writes `traceparent` too (after W3C's, so its value wins)."""

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        return context

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        carrier["traceparent"] = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"

    @property
    def fields(self) -> set[str]:
        return {"traceparent"}


@pytest.fixture
def textmap() -> Iterator[None]:
    before = propagate.get_global_textmap()
    yield
    propagate.set_global_textmap(before)


@pytest.mark.parametrize(
    "propagators",
    [
        [TraceContextTextMapPropagator(), W3CBaggagePropagator()],  # OpenTelemetry's default
        [TraceContextTextMapPropagator()],
        [W3CBaggagePropagator()],  # no trace context: no traceparent
        [TraceContextTextMapPropagator(), _Fixed()],
    ],
)
@pytest.mark.parametrize("sampler", [None, ALWAYS_OFF])
def test_the_traceparent_is_the_one_inject_writes(textmap: None, propagators: list[Any], sampler: Any) -> None:
    propagate.set_global_textmap(CompositePropagator(propagators))
    tracer = (TracerProvider(sampler=sampler) if sampler else TracerProvider()).get_tracer("test")
    assert current_traceparent() == _injected()  # no span: None, unless a propagator writes one anyway
    with tracer.start_as_current_span("outer"):
        assert current_traceparent() == _injected()
        with tracer.start_as_current_span("inner"):
            assert current_traceparent() == _injected()
    if not any(isinstance(p, _Fixed) for p in propagators):
        assert current_traceparent() is None


def test_a_single_w3c_propagator_as_the_textmap(textmap: None) -> None:
    propagate.set_global_textmap(TraceContextTextMapPropagator())
    with TracerProvider().get_tracer("test").start_as_current_span("span") as span:
        context = span.get_span_context()
        expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        assert current_traceparent() == _injected() == expected
