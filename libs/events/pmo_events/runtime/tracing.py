"""W3C trace context on events: written from the current span, continued by subscriptions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import propagate, trace

from pmo_events.envelope import RecordedEvent

tracer = trace.get_tracer("pmo_events")


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def consuming(event: RecordedEvent, consumer: str) -> Iterator[None]:
    """A consumer span, child of the span that produced the event, so a trace crosses services."""
    parent = propagate.extract({"traceparent": event.traceparent} if event.traceparent else {})
    with tracer.start_as_current_span(
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
