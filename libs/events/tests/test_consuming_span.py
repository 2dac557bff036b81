"""`consuming` opens the span `start_as_current_span` over `propagate.extract` opened (what it did before issue 17's
fast path): the same parent, name, kind, attributes, status and exception event, made current inside the block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pmo_events.runtime import tracing
from pmo_events.runtime.store import Metadata

TRACEPARENTS = [
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",  # not sampled
    " 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\t",
    "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-later",  # a later version may carry more
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more",  # version 00 may not
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
    "garbage",
    "",
    None,
]


class _Other(TextMapPropagator):
    """A propagator of another kind: the fast path must not apply."""

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        return baggage.set_baggage("other", "yes", context)

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        pass

    @property
    def fields(self) -> set[str]:
        return set()


TEXTMAPS = [
    [TraceContextTextMapPropagator(), W3CBaggagePropagator()],  # OpenTelemetry's default
    [TraceContextTextMapPropagator()],
    [W3CBaggagePropagator(), TraceContextTextMapPropagator()],  # baggage first starts from the current context
    [TraceContextTextMapPropagator(), _Other()],
]


@pytest.fixture
def textmap() -> Iterator[None]:
    before = propagate.get_global_textmap()
    yield
    propagate.set_global_textmap(before)


@contextmanager
def _before(event: Any, consumer: str) -> Iterator[None]:
    """`consuming` as it was."""
    parent = propagate.extract({"traceparent": event.traceparent} if event.traceparent else {})
    with tracing.tracer.start_as_current_span(
        f"{consumer} apply {event.type}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": event.topic or "",
            "messaging.message.id": event.event_id,
        },
    ):
        yield


def _event(traceparent: str | None) -> Any:
    return SimpleNamespace(
        traceparent=traceparent, type="CandidateScored", topic="portfolio.events", event_id="e-1", actor="a",
        correlation_id="c",
    )  # fmt: skip


def _seen(span: ReadableSpan) -> tuple[Any, ...]:
    parent = span.parent
    return (
        span.name,
        span.kind,
        dict(span.attributes or {}),
        None if parent is None else (parent.trace_id, parent.span_id, parent.is_remote, parent.trace_flags),
        span.context.trace_flags,
        span.status.status_code,
        span.status.description,
        [(e.name, dict(e.attributes or {}).get("exception.message")) for e in span.events],
        span.end_time is not None,
    )


@pytest.mark.parametrize("propagators", TEXTMAPS)
@pytest.mark.parametrize("traceparent", TRACEPARENTS)
def test_the_parent_is_what_extract_gives(textmap: None, propagators: list[Any], traceparent: str | None) -> None:
    propagate.set_global_textmap(CompositePropagator(propagators))
    outer = TracerProvider().get_tracer("test")
    with outer.start_as_current_span("poll"), baggage_set():  # what is current must not leak in where it did not
        expected = propagate.extract({"traceparent": traceparent} if traceparent else {})
        got = tracing._parent(traceparent)
    assert trace.get_current_span(got).get_span_context() == trace.get_current_span(expected).get_span_context()
    assert baggage.get_all(got) == baggage.get_all(expected)
    assert sorted(got) == sorted(expected)


@contextmanager
def baggage_set() -> Iterator[None]:
    from opentelemetry import context

    token = context.attach(baggage.set_baggage("current", "1"))
    try:
        yield
    finally:
        context.detach(token)


@pytest.mark.parametrize("sampler", [None, ALWAYS_OFF])
@pytest.mark.parametrize("fails", [False, True])
@pytest.mark.parametrize("traceparent", TRACEPARENTS[:2] + TRACEPARENTS[4:5] + [None])
def test_the_span_is_the_one_start_as_current_span_made(
    monkeypatch: pytest.MonkeyPatch, traceparent: str | None, fails: bool, sampler: Any
) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    monkeypatch.setattr(tracing, "tracer", provider.get_tracer("pmo_events"))
    event = _event(traceparent)
    seen: list[Any] = []
    for block in (_before, tracing.consuming):
        outside = trace.get_current_span()
        try:
            with block(event, "intake"):
                span = trace.get_current_span()
                seen.append((span.get_span_context().trace_id, Metadata.caused_by(event).traceparent, span))
                if fails:
                    raise ValueError("refused")
        except ValueError:
            assert fails
        assert trace.get_current_span() is outside
    for trace_id, caused, span in seen:  # the commands' events carry the consumer span's own context
        context = span.get_span_context()
        assert caused == f"00-{trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert seen[0][1][-2:] == seen[1][1][-2:]  # flags
    if (
        traceparent is not None and traceparent in TRACEPARENTS[:2]
    ):  # a valid parent: its trace (else each is a trace of its own)
        assert seen[0][0] == seen[1][0] == int(traceparent[3:35], 16)
    spans = exported.get_finished_spans()  # none when the sampler or a parent not sampled says so
    assert len(spans) == (2 if sampler is None and not (traceparent or "").endswith("-00") else 0)
    if spans:
        before, after = spans
        assert _seen(before) == _seen(after)


def test_applied_events_are_collected_in_their_spans() -> None:
    event = _event(TRACEPARENTS[0])
    with tracing.spans_of_applied() as applied, tracing.consuming(event, "intake"):
        current = trace.get_current_span()
    assert [e for e, _ in applied] == [event]
    assert trace.get_current_span(applied[0][1]) is current


def test_an_event_applied_without_a_collector_has_no_span_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    monkeypatch.setattr(tracing, "tracer", provider.get_tracer("pmo_events"))
    event = _event(TRACEPARENTS[0])
    with provider.get_tracer("test").start_as_current_span("poll") as poll:
        with tracing.applying(event, "reporting"):
            assert trace.get_current_span() is poll
        with tracing.spans_of_applied() as applied, tracing.applying(event, "reporting"):
            inner = trace.get_current_span()
            assert inner is not poll and inner.get_span_context().trace_id == int(str(TRACEPARENTS[0])[3:35], 16)
        assert trace.get_current_span() is poll
    assert [e for e, _ in applied] == [event]
    assert [s.name for s in exported.get_finished_spans()] == ["reporting apply CandidateScored", "poll"]
