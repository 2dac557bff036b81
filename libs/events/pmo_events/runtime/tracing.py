"""W3C trace context on events: written from the current span, continued by subscriptions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pmo_events.envelope import RecordedEvent

tracer = trace.get_tracer("pmo_events")

#: Called with each event a `consuming` block applied, inside that event's span (see `spans_of_applied`).
_on_applied: ContextVar[Callable[[RecordedEvent], None] | None] = ContextVar("pmo_on_applied", default=None)


def current_traceparent() -> str | None:
    """The `traceparent` the configured propagators would write for the current span (None: none)."""
    if not _writes_w3c_traceparent(propagate.get_global_textmap()):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return carrier.get("traceparent")
    # What W3C trace context's own `inject` writes, without a carrier and every propagator's pass over it (once
    # per command, issue 17): the default propagators are trace context and baggage, and only the first writes it.
    span_context = trace.get_current_span().get_span_context()
    if span_context == trace.INVALID_SPAN_CONTEXT:
        return None
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{span_context.trace_flags:02x}"


_W3C_ONLY: dict[int, tuple[TextMapPropagator, bool]] = {}


def _writes_w3c_traceparent(textmap: TextMapPropagator) -> bool:
    """Whether `textmap` is W3C trace context (and baggage) alone, so that only trace context writes `traceparent`."""
    known = _W3C_ONLY.get(id(textmap))
    if known is not None and known[0] is textmap:
        return known[1]
    parts: list[Any] = (
        list(getattr(textmap, "_propagators", ())) if isinstance(textmap, CompositePropagator) else [textmap]
    )
    kinds = {type(part) for part in parts}
    answer = TraceContextTextMapPropagator in kinds and kinds <= {TraceContextTextMapPropagator, W3CBaggagePropagator}
    _W3C_ONLY.clear()
    _W3C_ONLY[id(textmap)] = (textmap, answer)
    return answer


class consuming:
    """A consumer span, child of the span that produced the event, so a trace crosses services.

    What `start_as_current_span` over `propagate.extract` does, without their layers (issue 17: once per event
    that issues a command, 33 against 17 µs with the SDK's provider): the parent read from `traceparent` as W3C
    trace context's `extract` reads it when that is the first propagator, the span made current, an exception
    recorded on it and its status set as `use_span` does, the span ended last. A class, not a generator under
    `contextmanager` (the generator, its context manager and their calls, once per event: 2026-12-01)."""

    __slots__ = ("_event", "_span", "_token")

    def __init__(self, event: RecordedEvent, consumer: str) -> None:
        self._event = event
        self._span = tracer.start_span(
            f"{consumer} apply {event.type}",
            context=_parent(event.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": event.topic or "",
                "messaging.message.id": event.event_id,
            },
        )

    def __enter__(self) -> None:
        try:
            self._token = otel_context.attach(trace.set_span_in_context(self._span))
        except BaseException as exc:
            self._ended(exc)
            raise

    def __exit__(self, exc_type: Any, exc: BaseException | None, _tb: Any) -> None:
        try:
            try:
                if exc is None:
                    on_applied = _on_applied.get()
                    if on_applied is not None:
                        on_applied(self._event)
            finally:
                otel_context.detach(self._token)
        except BaseException as raised:
            self._ended(raised)
            raise
        self._ended(exc)

    def _ended(self, exc: BaseException | None) -> None:
        """As `use_span`: an exception (not GeneratorExit and the like) recorded with an ERROR status; then ended."""
        span = self._span
        try:
            if isinstance(exc, Exception) and span.is_recording():
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        finally:
            span.end()


_TRACEPARENT = re.compile(TraceContextTextMapPropagator._TRACEPARENT_HEADER_FORMAT)
_EXTRACTS_W3C_FIRST: dict[int, tuple[TextMapPropagator, bool]] = {}


def _parent(traceparent: str | None) -> otel_context.Context:
    """`propagate.extract({"traceparent": traceparent})`: the context a consumer span of that event starts in."""
    textmap = propagate.get_global_textmap()
    if not _extracts_w3c_first(textmap):
        return propagate.extract({"traceparent": traceparent} if traceparent else {})
    # W3C trace context's `extract` from a fresh context (it is first), the rest finding no header of theirs.
    fresh = otel_context.Context()
    match = _TRACEPARENT.search(traceparent) if traceparent else None
    if match is None:
        return fresh
    version, trace_id, span_id, flags, rest = match.groups()
    if trace_id == "0" * 32 or span_id == "0" * 16 or (version == "00" and rest) or version == "ff":
        return fresh
    parent = trace.SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(int(flags, 16)),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(parent), fresh)


def _extracts_w3c_first(textmap: TextMapPropagator) -> bool:
    """Whether `textmap` is W3C trace context, first, and baggage alone: from a carrier holding only `traceparent`,
    it extracts what trace context's own `extract` does from a fresh context."""
    known = _EXTRACTS_W3C_FIRST.get(id(textmap))
    if known is not None and known[0] is textmap:
        return known[1]
    parts: list[Any] = (
        list(getattr(textmap, "_propagators", ())) if isinstance(textmap, CompositePropagator) else [textmap]
    )
    answer = (
        bool(parts)
        and type(parts[0]) is TraceContextTextMapPropagator
        and all(type(part) in (TraceContextTextMapPropagator, W3CBaggagePropagator) for part in parts)
    )
    _EXTRACTS_W3C_FIRST.clear()
    _EXTRACTS_W3C_FIRST[id(textmap)] = (textmap, answer)
    return answer


def applying(event: RecordedEvent, consumer: str) -> AbstractContextManager[None]:
    """An event of a poll that records nothing: its own consumer span only when someone collects them (a
    debug line per applied event, `spans_of_applied`), else none (it is counted in the poll's span). An
    event that issues a command opens `consuming` instead: what it records carries that span's context.
    Without a collector it is one shared `nullcontext` (issue 17: reporting enters it for every event)."""
    if _on_applied.get() is None:
        return _NO_SPAN
    return consuming(event, consumer)


_NO_SPAN: AbstractContextManager[None] = nullcontext()


@contextmanager
def polling(consumer: str, events: int) -> Iterator[None]:
    """One consumer span for a poll applied together, with its event count."""
    with tracer.start_as_current_span(
        f"{consumer} apply batch",
        kind=trace.SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.batch.message_count": events},
    ):
        yield


@contextmanager
def spans_of_applied() -> Iterator[list[tuple[RecordedEvent, otel_context.Context]]]:
    """Collects, for each event a `consuming` block inside applied, the context of its span, so a line
    written once the whole batch is kept can still be written in that event's span (its trace id)."""
    applied: list[tuple[RecordedEvent, otel_context.Context]] = []
    token = _on_applied.set(lambda event: applied.append((event, otel_context.get_current())))
    try:
        yield applied
    finally:
        _on_applied.reset(token)


@contextmanager
def within(span_context: otel_context.Context) -> Iterator[None]:
    """Makes a span collected by `spans_of_applied` current again (for logging; the span has ended)."""
    token = otel_context.attach(span_context)
    try:
        yield
    finally:
        otel_context.detach(token)
