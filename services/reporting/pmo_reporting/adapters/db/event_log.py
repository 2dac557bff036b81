"""The event log: every event reporting consumed, kept for history and `as_of` questions."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts import UnknownEventType
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.database import asyncpg_connection
from pmo_reporting.adapters.db.tables import event_entities, event_log


def _log_row(event: RecordedEvent, received: datetime) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "source": event.source,
        "type": event.type,
        "subject": event.stream_id,
        "sequence": event.sequence,
        "occurred_at": event.time,
        "actor": event.actor,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        # The payload as it arrived (the bytes its signature covers), not decoded and encoded again.
        "data": event.payload_bytes().decode(),
        "topic": event.topic or "",
        "partition": event.partition if event.partition is not None else -1,
        "offset": event.offset if event.offset is not None else -1,
        "received_at": received,
    }


def entities(event: RecordedEvent) -> list[str]:
    """The entities the log indexes an event by: its subject and every id its contract relates it to."""
    found = {event.stream_id}
    # A newer producer's type (or payload) is kept in the log, indexed by its subject only.
    with contextlib.suppress(UnknownEventType, ValidationError):
        found.update(event.decode().related_ids())
    return sorted(found)


async def record(session: AsyncSession, event: RecordedEvent) -> int:
    """Append the event to the log and index it by every entity it names; answers its log sequence."""
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        event_log.insert().values(**_log_row(event, datetime.now(UTC)))
    )
    await session.execute(
        event_entities.insert(),
        [{"entity_id": e, "event_id": event.event_id, "occurred_at": event.time} for e in entities(event)],
    )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT always has one
    return int(key[0])


def log_rows(
    events: list[RecordedEvent], entities_of: list[list[str]] | None = None
) -> tuple[list[dict[str, object]], list[tuple[str, str, datetime]]]:
    """`record_many`'s rows: the log's, in log order, and the entity index's (entity id, event id, time)."""
    received = datetime.now(UTC)
    rows = [_log_row(e, received) for e in events]
    if entities_of is None:
        entities_of = [entities(e) for e in events]
    index = [(i, e.event_id, e.time) for e, of_event in zip(events, entities_of, strict=True) for i in of_event]
    return rows, index


async def record_many(
    session: AsyncSession, events: list[RecordedEvent], entities_of: list[list[str]] | None = None
) -> None:
    """Bulk append (a subscription batch, or loading a long history): the same rows `record` writes, in log
    order; with COPY on PostgreSQL, two batched statements elsewhere. `entities_of` is each event's
    `entities` when the caller found them already."""
    if not events:
        return
    rows, index = log_rows(events, entities_of)
    connection = await asyncpg_connection(session)
    if connection is not None:
        columns = list(rows[0])
        await connection.copy_records_to_table(
            event_log.name, records=[tuple(row.values()) for row in rows], columns=columns
        )
        await connection.copy_records_to_table(
            event_entities.name, records=index, columns=["entity_id", "event_id", "occurred_at"]
        )
        return
    await session.execute(event_log.insert(), rows)
    await session.execute(
        event_entities.insert(), [{"entity_id": i, "event_id": e, "occurred_at": t} for i, e, t in index]
    )
