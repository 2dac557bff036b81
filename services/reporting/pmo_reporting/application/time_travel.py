"""`as_of` folds of the event log, sped up by checkpoints: folds kept in memory at past instants."""

from __future__ import annotations

import asyncio
import bisect
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement

from pmo_events.runtime import Database
from pmo_reporting.adapters.db.tables import event_log
from pmo_reporting.application.log_reader import log_head, stream_log
from pmo_reporting.projections.base import Projection
from pmo_reporting.projections.documents import InMemoryDocuments, LayeredDocuments

log = logging.getLogger(__name__)

#: A fold that had to read at least this many events leaves a checkpoint behind.
CHECKPOINT_AFTER = 2000


@dataclass(frozen=True)
class Checkpoint:
    """The fold of every event with `seq <= upto` that happened by `at`; its documents never change."""

    at: datetime
    upto: int
    docs: InMemoryDocuments = field(repr=False)


class Checkpoints:
    """Checkpoints per read model, in this process; the log only grows, so they stay true.

    With `sweep_every`, the first `as_of` question about a read model also starts a background
    sweep of the log in event-time order that leaves a checkpoint at each interval.
    """

    def __init__(self, keep: int = 36, sweep_every: timedelta | None = timedelta(days=30)) -> None:
        self.keep = keep
        self.sweep_every = sweep_every
        self._points: dict[str, list[Checkpoint]] = {}
        self._sweeps: dict[str, asyncio.Task[None]] = {}

    def nearest(self, name: str, as_of: datetime, head: int) -> Checkpoint | None:
        points = self._points.get(name, [])
        if points and max(p.upto for p in points) > head:
            # The log is shorter than a checkpoint remembers: it was emptied and is being re-read.
            self._points[name] = points = []
        index = bisect.bisect_right([p.at for p in points], as_of)
        return points[index - 1] if index else None

    def remember(self, name: str, point: Checkpoint) -> None:
        points = [p for p in self._points.get(name, []) if p.at != point.at]
        points.append(point)
        points.sort(key=lambda p: p.at)
        while len(points) > self.keep:
            # Keep the spread: drop the checkpoint closest to its earlier neighbour.
            gaps = [(points[i].at - points[i - 1].at, i) for i in range(1, len(points))]
            points.pop(min(gaps)[1])
        self._points[name] = points

    def start_sweep(self, db: Database, projection: Projection) -> None:
        if self.sweep_every is None or projection.name in self._sweeps:
            return
        self._sweeps[projection.name] = asyncio.create_task(sweep(db, projection, self, self.sweep_every))

    async def wait_for_sweeps(self) -> None:
        await asyncio.gather(*self._sweeps.values())


def _passes(start: Checkpoint | None, as_of: datetime, head: int) -> list[tuple[list[ColumnElement[bool]], bool]]:
    """What to fold on top of a checkpoint: events after its instant (by the time index) and those
    logged after it whatever their time (late arrivals). Folds do not depend on order, so the result
    is the full fold's."""
    by_time = event_log.c.occurred_at <= as_of
    if start is None:
        return [([by_time, event_log.c.seq <= head], False)]
    after_instant = [event_log.c.occurred_at > start.at, by_time, event_log.c.seq <= start.upto]
    logged_later = [event_log.c.seq > start.upto, event_log.c.seq <= head, by_time]
    return [(after_instant, True), (logged_later, False)]


async def fold_as_of(
    db: Database, projection: Projection, as_of: datetime, checkpoints: Checkpoints | None = None
) -> InMemoryDocuments:
    """The read model as it stood at `as_of` (event time), folded in memory; the live one is untouched."""
    types = event_log.c.type.in_(sorted(projection.handles))
    async with db.sessions() as session:
        head = await log_head(session)
        start = checkpoints.nearest(projection.name, as_of, head) if checkpoints else None
        docs = LayeredDocuments(start.docs) if start else InMemoryDocuments()
        folded = 0
        for where, by_time in _passes(start, as_of, head):
            async for page in stream_log(session, types, *where, by_time=by_time):
                for event in page:
                    projection.apply(docs, event)
                folded += len(page)
    result = docs.flatten() if isinstance(docs, LayeredDocuments) else docs
    if checkpoints is not None:
        if folded >= CHECKPOINT_AFTER:
            checkpoints.remember(projection.name, Checkpoint(as_of, head, result))
        checkpoints.start_sweep(db, projection)
    return result


def next_boundary(instant: datetime, every: timedelta) -> datetime:
    """The next month start (for a monthly interval), else the next day start plus `every`."""
    if every >= timedelta(days=28):
        first = datetime(instant.year, instant.month, 1, tzinfo=UTC)
        return (first + timedelta(days=32)).replace(day=1)
    return datetime(instant.year, instant.month, instant.day, tzinfo=UTC) + every


async def sweep(db: Database, projection: Projection, checkpoints: Checkpoints, every: timedelta) -> None:
    """One pass over the log in event-time order, leaving a checkpoint at each month start (or `every`)."""
    types = event_log.c.type.in_(sorted(projection.handles))
    try:
        async with db.sessions() as session:
            head = await log_head(session)
            docs: InMemoryDocuments = InMemoryDocuments()
            boundary: datetime | None = None
            async for page in stream_log(session, types, event_log.c.seq <= head, by_time=True):
                for event in page:
                    boundary = boundary or next_boundary(event.time, every)
                    while event.time > boundary:
                        flat = docs.flatten() if isinstance(docs, LayeredDocuments) else docs
                        checkpoints.remember(projection.name, Checkpoint(boundary, head, flat))
                        docs = LayeredDocuments(flat)
                        boundary = next_boundary(boundary, every)
                    projection.apply(docs, event)
    except Exception:
        log.exception("checkpoint sweep of %s failed; as_of questions fold from the start", projection.name)
