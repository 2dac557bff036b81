"""Row-per-stream inline views: one row holding a stream's folded state, written one event or a batch at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Column, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent, dumps, loads

S = TypeVar("S", bound=BaseModel)
_CHUNK = 1000


def _nothing(_event: RecordedEvent) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class StreamView(Generic[S]):
    """A view with one row per stream: the state column holds the fold, `columns` the queryable fields.

    Called with one event it is an inline projector (one read, one write in the command's
    transaction); `many` folds a whole batch in memory with one read and one write per chunk of
    streams, which is what a rebuild replays through.
    """

    table: Table
    key: Column[Any]
    state: Column[Any]
    model: type[S]
    initial: Callable[[str], S]
    evolve: Callable[[S, Event], S]
    #: The row's columns after an event, written every time (the state column is added).
    columns: Callable[[S, RecordedEvent], dict[str, Any]]
    #: Columns written only with the stream's first row (creation time, listing order).
    on_insert: Callable[[RecordedEvent], dict[str, Any]] = field(default=_nothing)

    async def __call__(self, session: AsyncSession, event: RecordedEvent) -> None:
        await self.many(session, [event])

    async def many(self, session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        """Fold `events` (in order) into their streams' rows."""
        starts: dict[str, int] = {}
        for event in events:
            starts.setdefault(event.stream_id, event.sequence)
        # A stream whose batch starts at its first event has no row yet: nothing to read (a create).
        stored = await self._load(session, [i for i, first in starts.items() if first > 1])
        states: dict[str, S] = dict(stored)
        first: dict[str, RecordedEvent] = {}
        last: dict[str, RecordedEvent] = {}
        for event in events:
            state = states.get(event.stream_id) or self.initial(event.stream_id)
            states[event.stream_id] = self.evolve(state, event.decode())
            last[event.stream_id] = event
            if event.stream_id not in stored:
                first.setdefault(event.stream_id, event)
        inserts = [self._row(i, states[i], last[i]) | self.on_insert(first[i]) for i in first]
        updates = [self._row(i, states[i], last[i]) for i in last if i in stored]
        if inserts:
            await session.execute(self.table.insert(), inserts)
        if updates:
            # Bound names must differ from column names in an UPDATE's SET clause.
            names = [name for name in updates[0] if name != self.key.name]
            statement = (
                self.table.update()
                .where(self.key == bindparam("b_key"))
                .values({name: bindparam(f"b_{name}") for name in names})
            )
            rows = [{"b_key": row[self.key.name], **{f"b_{n}": row[n] for n in names}} for row in updates]
            await session.execute(statement, rows)

    async def _load(self, session: AsyncSession, ids: list[str]) -> dict[str, S]:
        found: dict[str, S] = {}
        for start in range(0, len(ids), _CHUNK):
            query = select(self.key, self.state).where(self.key.in_(ids[start : start + _CHUNK]))
            for key, state in await session.execute(query):
                found[key] = self.model.model_validate(loads(state))
        return found

    def _row(self, stream_id: str, state: S, event: RecordedEvent) -> dict[str, Any]:
        return {
            self.key.name: stream_id,
            **self.columns(state, event),
            self.state.name: dumps(state.model_dump(mode="json")).decode(),
        }
