"""`ce_traceparent` (like `ce_streamtype`) is not covered by an event's signature: anyone who can produce to the
topic can put a genuine event there again, first, with another `traceparent`. It parents the consumer's span (a
trace id, the sampled flag: what traces show, nothing a read model or decision reads), and a command the event
causes records the consumer span's own `traceparent`. With no span current (no SDK tracer provider), that command
recorded the event's raw header instead: any length, any bytes, where the column takes 64 characters, so on
PostgreSQL the consumer's append failed and the genuine event was dead-lettered. Now only a well-formed
`traceparent` is carried over; another is dropped. (No consumer reads a consumed event's `stream_type`.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opentelemetry import trace

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import CommandRuntime, EventStore, Metadata

from .support import COUNTER, Incremented, migrated

GOOD = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
FORGED = ["x" * 100, "00-" + "a" * 32 + "-" + "b" * 16 + "-01" + "-" * 40, "not a traceparent", "00-ab-cd-01"]


def _consumed(traceparent: str) -> RecordedEvent:
    return RecordedEvent(
        event_id=str(uuid.uuid4()), type="pmo.test.Incremented.v1", source="/pmo/other", stream_id="s-1",
        sequence=1, time=datetime(2026, 12, 1, tzinfo=UTC), data={"by": 1}, traceparent=traceparent,
    )  # fmt: skip


@pytest.mark.parametrize("forged", FORGED)
def test_a_malformed_traceparent_is_not_carried_over(forged: str) -> None:
    assert trace.get_current_span().get_span_context() == trace.INVALID_SPAN_CONTEXT  # no span current
    assert Metadata.caused_by(_consumed(forged)).traceparent is None
    assert Metadata.caused_by(_consumed(GOOD)).traceparent == GOOD


@pytest.mark.parametrize("actor", [None, "board"])
def test_caused_by_makes_the_metadata_the_dataclass_makes(actor: str | None) -> None:
    """`caused_by` makes its `Metadata` without the dataclass's `__init__`: the same fields, a fresh aware UTC
    time, equal to the one `Metadata(...)` makes with that time, and still frozen."""
    event = _consumed(GOOD)
    before = datetime.now(UTC)
    made = Metadata.caused_by(event, actor=actor)
    expected = Metadata(
        actor=actor, correlation_id=event.correlation_id, causation_id=event.event_id, traceparent=GOOD,
        occurred_at=made.occurred_at,
    )  # fmt: skip
    assert made == expected and type(made) is Metadata
    assert made.occurred_at.tzinfo is UTC and before <= made.occurred_at <= datetime.now(UTC)
    with pytest.raises(AttributeError):
        made.actor = "someone else"  # type: ignore[misc]


@pytest.mark.integration
async def test_a_command_caused_by_an_event_with_a_forged_traceparent_is_recorded(
    database_url: str, tmp_path: Path
) -> None:
    db = await migrated(database_url, tmp_path)
    try:
        runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"))
        stream = str(uuid.uuid4())
        async with runtime.unit_of_work(Metadata.caused_by(_consumed(FORGED[0]))) as uow:
            recorded = await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)])
        assert recorded[0].traceparent is None
    finally:
        await db.dispose()
