"""The event log: every event reporting consumed, kept for history and `as_of` questions."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts import UnknownEventType
from pmo_events.envelope import RecordedEvent, dumps
from pmo_reporting.adapters.db.tables import event_entities, event_log


async def record(session: AsyncSession, event: RecordedEvent) -> None:
    await session.execute(
        event_log.insert().values(
            event_id=event.event_id,
            source=event.source,
            type=event.type,
            subject=event.stream_id,
            sequence=event.sequence,
            occurred_at=event.time,
            actor=event.actor,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            data=dumps(event.data).decode(),
            topic=event.topic or "",
            partition=event.partition if event.partition is not None else -1,
            offset=event.offset if event.offset is not None else -1,
            received_at=datetime.now(UTC),
        )
    )
    entities = {event.stream_id}
    # A newer producer's type is kept in the log, indexed by its subject only.
    with contextlib.suppress(UnknownEventType):
        entities.update(event.decode().related_ids())
    await session.execute(
        event_entities.insert(),
        [{"entity_id": e, "event_id": event.event_id, "occurred_at": event.time} for e in sorted(entities)],
    )
