"""Reading reporting's own event log back as recorded events, in arrival order, page by page."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent, stored_reader
from pmo_events.runtime.database import asyncpg_connection
from pmo_reporting.adapters.db.tables import event_log

PAGE = 2000
#: Rows per round trip of a rebuild's cursor on PostgreSQL.
REBUILD_PAGE = 5000

#: The columns a recorded event is read from, in `recorded`'s order (tuples: no per-row mapping).
_COLUMNS = (
    event_log.c.seq,
    event_log.c.event_id,
    event_log.c.type,
    event_log.c.source,
    event_log.c.subject,
    event_log.c.sequence,
    event_log.c.occurred_at,
    event_log.c.data,
    event_log.c.actor,
    event_log.c.correlation_id,
    event_log.c.causation_id,
    event_log.c.topic,
    event_log.c.partition,
    event_log.c.offset,
)


#: A log row as a recorded event, its payload kept as the stored JSON text (`RecordedEvent.stored`).
_READ = stored_reader(
    (
        *("position", "event_id", "type", "source", "stream_id", "sequence", "time", "text"),
        *("actor", "correlation_id", "causation_id", "topic", "partition", "offset"),
    )
)


def recorded(row: Row[Any] | Sequence[Any]) -> RecordedEvent:
    """One row of `_COLUMNS` (in that order) as the event it records."""
    return _READ(row)


def _filters(types: Collection[str] | None, as_of: datetime | None) -> list:
    filters: list[ColumnElement[bool]] = []
    if types is not None:
        filters.append(event_log.c.type.in_(sorted(types)))
    if as_of is not None:
        filters.append(event_log.c.occurred_at <= as_of)
    return filters


async def read_log(
    session: AsyncSession,
    *,
    after: int = 0,
    upto: int | None = None,
    types: Collection[str] | None = None,
    as_of: datetime | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    page: int = PAGE,
) -> AsyncIterator[list[RecordedEvent]]:
    """Pages of events with `after < seq (<= upto)`, of the given types, that happened by `as_of`."""
    position = after
    while True:
        query = select(*_COLUMNS).where(event_log.c.seq > position, *_filters(types, as_of), *where)
        if upto is not None:
            query = query.where(event_log.c.seq <= upto)
        rows = (await session.execute(query.order_by(event_log.c.seq).limit(page))).all()
        if not rows:
            return
        position = rows[-1][0]
        yield list(map(_READ, rows))


async def stream_log(
    session: AsyncSession, *where: ColumnElement[bool], by_time: bool = False, page: int = PAGE
) -> AsyncIterator[list[RecordedEvent]]:
    """One streamed query (a server-side cursor), in log order or in event-time order, page by page."""
    order = (event_log.c.occurred_at, event_log.c.seq) if by_time else (event_log.c.seq,)
    result = await session.stream(select(*_COLUMNS).where(*where).order_by(*order))
    async for rows in result.partitions(page):
        yield list(map(_READ, rows))
        await asyncio.sleep(0)  # let the subscription and HTTP handlers run between pages


_QUOTED = ", ".join(f'"{column.name}"' for column in _COLUMNS)
_REBUILD_READ = f"SELECT {_QUOTED} FROM {event_log.name} WHERE type = ANY($1::text[]) AND seq <= $2 ORDER BY seq"


async def stream_types(
    session: AsyncSession, types: Collection[str], *, upto: int, page: int | None = None
) -> AsyncGenerator[list[RecordedEvent], None]:
    """Pages of every event of `types` with `seq <= upto`, in log order: a rebuild's one read of the log.

    On PostgreSQL a server-side cursor on the session's asyncpg connection, without SQLAlchemy's result
    processing, and the next page is asked for before the current one is handed out, so the database
    reads it while the caller folds this one (timestamps come back timezone-aware UTC, as `UtcDateTime`
    gives them). Elsewhere `stream_log`.
    """
    page = page or REBUILD_PAGE
    connection = await asyncpg_connection(session)
    if connection is None:
        async for rows in stream_log(session, event_log.c.type.in_(sorted(types)), event_log.c.seq <= upto, page=page):
            yield rows
        return
    cursor = await connection.cursor(_REBUILD_READ, sorted(types), upto)
    ahead = asyncio.ensure_future(cursor.fetch(page))
    try:
        while rows := await ahead:
            ahead = asyncio.ensure_future(cursor.fetch(page))
            await asyncio.sleep(0)  # sends the next FETCH; the server works on it during the fold
            yield list(map(_READ, rows))
    finally:
        # Closed early (the fold failed): the page asked for is read to its end, so the connection goes
        # back to the pool with no statement in flight.
        with contextlib.suppress(Exception):
            await ahead


async def count_by_type(session: AsyncSession, *, upto: int) -> dict[str, int]:
    """How many events of each type the log holds up to `upto`."""
    query = select(event_log.c.type, func.count()).where(event_log.c.seq <= upto).group_by(event_log.c.type)
    return {type_: int(count) for type_, count in await session.execute(query)}


async def weigh_by_type(session: AsyncSession, *, upto: int) -> dict[str, tuple[int, int]]:
    """How many events of each type the log holds up to `upto`, and the bytes of their stored JSON."""
    query = (
        select(event_log.c.type, func.count(), func.sum(func.octet_length(event_log.c.data)))
        .where(event_log.c.seq <= upto)
        .group_by(event_log.c.type)
    )
    return {type_: (int(count), int(size or 0)) for type_, count, size in await session.execute(query)}


async def log_head(session: AsyncSession) -> int:
    """The last sequence number in the log (0 when empty)."""
    return int((await session.execute(select(func.coalesce(func.max(event_log.c.seq), 0)))).scalar_one())
