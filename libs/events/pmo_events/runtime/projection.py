"""Replay: rebuild inline views from the service's own store, or reset a subscription to offset 0."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.database import Database
from pmo_events.runtime.heap import growing_heap
from pmo_events.runtime.schema import consumed_streams, consumer_offsets
from pmo_events.runtime.store import EventStore, UpsertRows
from pmo_events.runtime.unit_of_work import InlineProjector
from pmo_events.runtime.views import StreamView

Progress = Callable[[int], None]


class Replay(Protocol):
    """Views folded in memory over a whole store (`rebuild_inline_views`): pages in, each row written once."""

    def fold(self, events: Iterable[RecordedEvent]) -> None: ...

    async def write(self, session: AsyncSession) -> None: ...


#: A command's view rows for its events, from each stream's state after them (`UnitOfWork`'s one statement on
#: PostgreSQL): None when these events need what only the projectors do (reads, deletes, other rows).
Upserting = Callable[[Sequence[RecordedEvent], dict[str, Any]], Sequence[UpsertRows] | None]


@dataclass(frozen=True)
class InlineViews:
    """Inline projectors that a rebuild folds in memory instead of running them event by event.

    Called with one event (a command's or a consumer's transaction) it runs each projector in turn, exactly as
    if they were listed one by one; `replay()` gives a fold over the whole store that must leave the views
    as those projectors would (each service's rebuild test compares the two), writing each row once.
    """

    projectors: tuple[InlineProjector, ...]
    replay: Callable[[], Replay]
    #: The rows the projectors would leave for a command's events, given each stream's state after them, written
    #: with the events in one statement (`EventStore.write_together`'s `upserts`); must equal the projectors' rows
    #: (each service that has one tests it). None: the projectors run in the command's transaction.
    upserts: Upserting | None = None

    async def __call__(self, session: AsyncSession, event: RecordedEvent) -> None:
        for project in self.projectors:
            await project(session, event)


async def rebuild_inline_views(
    db: Database,
    store: EventStore,
    *,
    tables: Sequence[Table],
    projectors: Sequence[InlineProjector],
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> int:
    """Empty the views and replay every stored event through their projectors, in one transaction.

    A `StreamView` or `InlineViews` folds the whole store in memory and writes each of its rows once at the
    end; the other projectors see each event in turn (no view reads another's table).
    """
    in_memory: list[Replay] = [
        p.replay(rebuilding=True) if isinstance(p, StreamView) else p.replay()
        for p in projectors
        if isinstance(p, StreamView | InlineViews)
    ]
    one_by_one = [p for p in projectors if not isinstance(p, StreamView | InlineViews)]
    replayed = 0
    async with db.transaction() as session:
        if tables and session.bind.dialect.name == "postgresql":
            # Commands keep serving during a rebuild: one that writes a view waits here until the rebuilt rows
            # are committed, then changes them (a fresh statement snapshot). Taken before the events are read,
            # so an event committed before the lock is folded, and one committed after it finds its row.
            # Without it a command's UPDATE could meet a row the rebuild had deleted, change nothing, and
            # leave the view one version behind its stream (reads go on: EXCLUSIVE blocks only writes).
            names = ", ".join(session.bind.dialect.identifier_preparer.format_table(t) for t in tables)
            await session.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
        for table in tables:
            await session.execute(delete(table))
        # Reading ahead only when nothing else uses the session's connection between pages.
        pages = store.stream_all(session, page=batch_size, read_ahead=not one_by_one)
        with growing_heap() as settle:
            async with contextlib.aclosing(pages):
                async for page in pages:
                    for folding in in_memory:
                        folding.fold(page)
                    for event in page:
                        for project in one_by_one:
                            await project(session, event)
                    replayed += len(page)
                    settle()
                    if progress is not None:
                        progress(len(page))
            for folding in in_memory:
                await folding.write(session)
    return replayed


async def reset_subscription(db: Database, consumer: str, *, tables: Sequence[Table] = ()) -> None:
    """Forget a subscription's offsets and stream positions (and its read model): it re-reads from 0."""
    async with db.transaction() as session:
        for table in tables:
            await session.execute(delete(table))
        await session.execute(delete(consumer_offsets).where(consumer_offsets.c.consumer == consumer))
        await session.execute(delete(consumed_streams).where(consumed_streams.c.consumer == consumer))
