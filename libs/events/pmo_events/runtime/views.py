"""Row-per-stream inline views: one row holding a stream's folded state, written one event or a batch at a time."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Column, Table, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import pgdirect
from pmo_events.runtime.schema import events
from pmo_events.runtime.store import (
    ChangedViewRows,
    EventStore,
    NewViewRows,
    UpsertRows,
    view_rows_taken_are_a_lost_race,
)

S = TypeVar("S", bound=BaseModel)
_CHUNK = 1000


class _Position:
    """Stands for an event's store position before it has one (`StreamView.new_rows`)."""


_AT_POSITION = _Position()


class _Positioned:
    """An event as `on_insert` sees it before the event has a store position: every attribute the event's,
    `position` the stand-in (`_AT_POSITION`). A proxy, not a copy (`dataclasses.replace` of a recorded event
    was a tenth of a draft's view rows); an `on_insert` that wants a real dataclass fails with a TypeError, which
    sends the rows the ordinary way."""

    __slots__ = ("_event",)
    position = _AT_POSITION

    def __init__(self, event: RecordedEvent) -> None:
        self._event = event

    def __getattr__(self, name: str) -> Any:
        return getattr(self._event, name)


def _nothing(_event: RecordedEvent) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class StreamView(Generic[S]):
    """A view with one row per stream: the state column holds the fold, `columns` the queryable fields.

    Called with one event it is an inline projector (one read, one write in the command's
    transaction); `many` folds a batch in memory with one read and one write per chunk of streams;
    a rebuild folds the whole store with `replay()` and writes each row once at the end.
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
    #: Only streams of this type have rows (None: every stream the service records).
    stream_type: str | None = None
    #: The column `columns` fills with the sequence of the row's last event: a row not at the version an event
    #: follows (restored from an older backup) is folded again from its stream, as a missing row is. None: only
    #: a missing row is detected.
    version: Column[Any] | None = None
    #: A rebuild's decode of a stored event given the stream's next stored event (None: the last one, or the
    #: next is on a later page): may leave out what that next event replaces, so long as the state after it
    #: is the full decode's (each view that has one tests it). None: every event decoded in full.
    rebuild_decode: Callable[[RecordedEvent, RecordedEvent | None], Event] | None = None
    #: A rebuild's `evolve`: a rebuild's fold owns every state it holds (made by `initial`, never stored or
    #: handed out before the end), so this may change the state it is given and return it instead of a copy;
    #: the states must equal `evolve`'s (each view that has one tests it). None: `evolve`.
    rebuild_evolve: Callable[[S, Event], S] | None = None

    def accepts(self, event: RecordedEvent) -> bool:
        return self.stream_type is None or event.stream_type == self.stream_type

    def upserts(self, events: Sequence[RecordedEvent], _states: dict[str, Any]) -> list[UpsertRows] | None:
        """As `InlineViews.upserts`: no rows when it accepts none of `events` (it would write nothing), else None
        (the view folds its rows itself)."""
        return None if any(self.accepts(event) for event in events) else []

    async def __call__(self, session: AsyncSession, event: RecordedEvent) -> None:
        await self.many(session, [event])

    async def many(self, session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        """Fold `events` (in order) into their streams' rows."""
        events = [e for e in events if self.accepts(e)]
        if not events:
            return
        starts: dict[str, int] = {}
        for event in events:
            starts.setdefault(event.stream_id, event.sequence)
        # A stream whose batch starts at its first event has no row yet: nothing to read (a create).
        continued = [i for i, first in starts.items() if first > 1]
        stored = await self._load(session, continued)
        folding = self.replay({i: state for i, (state, _) in stored.items()})
        # A row missing (an operator's delete, a partial restore) or not at the version its stream's first event
        # here follows: folded from the stream's whole history, never from an empty or an older state. A missing
        # row is then inserted (its first event is the stream's), one behind is rewritten.
        out_of_step = [i for i in continued if i not in stored or stored[i][1] not in (None, starts[i] - 1)]
        if out_of_step:
            store = EventStore(source=events[0].source, topic=None)
            earlier: list[RecordedEvent] = []
            for stream_id in out_of_step:
                earlier += [e for e in await store.load(session, stream_id) if e.sequence < starts[stream_id]]
                if stream_id in folding.stored:
                    folding.stored[stream_id] = self.initial(stream_id)
            folding.fold(earlier)
        folding.fold(events)
        await folding.write(session)

    def new_rows(self, events: Sequence[RecordedEvent], folded: dict[str, S] | None = None) -> NewViewRows | None:
        """The rows these events give when each stream they touch starts with them (a create), for the
        statement that inserts the events (`EventStore.write_together`); None when one continues a stream
        (its row must be read first) or `on_insert` does more with the event's position than copy it.
        `folded`: streams' states after these events as their appends folded them with this view's own
        `initial` and `evolve` (the caller's word): taken as they are, not folded again."""
        events = [e for e in events if self.accepts(e)]
        first: dict[str, RecordedEvent] = {}
        for event in events:
            if first.setdefault(event.stream_id, event).sequence != 1:
                return None
        folding = self.replay()
        if folded and all(stream in folded for stream in first):
            for event in events:
                folding.last[event.stream_id] = event
            folding.states.update((stream, folded[stream]) for stream in first)
        else:
            folding.fold(events)
        rows: list[dict[str, Any]] = []
        positions: tuple[str, ...] = ()
        for stream, event in first.items():
            try:
                inserted = self.on_insert(_Positioned(event))  # type: ignore[arg-type]
            except TypeError:
                return None
            at = tuple(name for name, value in inserted.items() if value is _AT_POSITION)
            if rows and at != positions:
                return None
            positions = at
            rows.append(
                self._row(stream, folding.states[stream], folding.last[stream])
                | {name: value for name, value in inserted.items() if name not in at}
            )
        if not rows:
            return NewViewRows(self.table, (), (), [], [])
        names = tuple(rows[0])
        if any(tuple(row) != names for row in rows):
            return None
        return NewViewRows(self.table, names, positions, rows, [e.event_id for e in first.values()])

    def continued_ids(self, events: Sequence[RecordedEvent]) -> list[str] | None:
        """The streams these events continue (each must have its row), or None when one starts with them."""
        starts: dict[str, int] = {}
        for event in events:
            if self.accepts(event):
                starts.setdefault(event.stream_id, event.sequence)
        if any(first == 1 for first in starts.values()):
            return None
        return list(starts)

    async def stored_at(
        self, session: AsyncSession | pgdirect.Direct, ids: list[str], *, exact: bool = False
    ) -> dict[str, tuple[S, int]]:
        """The rows' folded states with their streams' versions, read in one snapshot (asyncpg only; a read,
        it needs no transaction): rows are written with their events, so each state is its stream's at that
        version. `exact`: only rows whose version column says they are at their stream's last event (a row
        without one, or a stream without events, is left out too)."""
        key_type = pgdirect.parameter_type(self.key)
        row_version = f"v.{self.version.name}" if self.version is not None else "NULL"
        statement = (
            f"SELECT v.{self.key.name}, v.{self.state.name}, "
            f"(SELECT max(e.version) FROM {events.name} AS e WHERE e.stream_id = v.{self.key.name}), {row_version} "
            f"FROM {self.table.name} AS v WHERE v.{self.key.name} = ANY($1::{key_type}[])"
        )
        rows = await pgdirect.fetch(session, statement, ids, begin=False)
        # A row behind its stream (restored from an older backup) is left out, as a missing one: the caller's
        # ordinary path (`many`) folds it from the stream.
        return {
            key: (self.model.model_validate_json(state), version)
            for key, state, version, at in rows
            if (at == version and version is not None) or (at is None and not exact)
        }

    def changed_rows(self, events: Sequence[RecordedEvent], stored: dict[str, S]) -> ChangedViewRows:
        """The rows of streams that go on (`stored`: each one's state before `events`), rewritten after them."""
        folding = self.replay(stored)
        folding.fold(events)
        rows = [self._row(i, folding.states[i], folding.last[i]) for i in folding.last]
        names = tuple(name for name in rows[0] if name != self.key.name) if rows else ()
        return ChangedViewRows(self.table, self.key.name, names, rows)

    def replay(self, stored: dict[str, S] | None = None, *, rebuilding: bool = False) -> Folding[S]:
        """An in-memory fold over these rows (`stored`: the states already in the table); `rebuilding`: over
        the whole store in order from empty rows (a rebuild), through `rebuild_decode` and `rebuild_evolve`."""
        if rebuilding and stored:
            raise ValueError("a rebuild folds from empty rows: its states are its own")
        return Folding(self, dict(stored or {}), rebuilding=rebuilding)

    async def _load(self, session: AsyncSession, ids: list[str]) -> dict[str, tuple[S, int | None]]:
        """The rows' states, each with its `version` (None when the view has no such column)."""
        found: dict[str, tuple[S, int | None]] = {}
        version = self.version if self.version is not None else literal(None)
        for start in range(0, len(ids), _CHUNK):
            query = select(self.key, self.state, version).where(self.key.in_(ids[start : start + _CHUNK]))
            for key, state, at in await session.execute(query):
                found[key] = (self.model.model_validate_json(state), at)
        return found

    def _row(self, stream_id: str, state: S, event: RecordedEvent) -> dict[str, Any]:
        return {
            self.key.name: stream_id,
            **self.columns(state, event),
            # pydantic's own JSON: the same text as `dumps(state.model_dump(mode="json"))`, without the dict.
            self.state.name: state.model_dump_json(),
        }


@dataclass
class Folding(Generic[S]):
    """A stream view's rows being folded in memory: a page of a command, or a whole replay."""

    view: StreamView[S]
    stored: dict[str, S]
    states: dict[str, S] = field(default_factory=dict)
    first: dict[str, RecordedEvent] = field(default_factory=dict)
    last: dict[str, RecordedEvent] = field(default_factory=dict)
    #: A rebuild's: through the view's `rebuild_decode` (each event with its stream's next one on the same page)
    #: and `rebuild_evolve`, when it has them.
    rebuilding: bool = False

    def fold(self, events: Iterable[RecordedEvent]) -> None:
        view, states = self.view, self.states
        accepted = [event for event in events if view.accepts(event)]
        if self.rebuilding and view.rebuild_decode is not None:
            decoded: Iterable[Event] = self._looking_ahead(accepted)
        else:
            decoded = (event.decode() for event in accepted)
        evolve = view.rebuild_evolve if self.rebuilding and view.rebuild_evolve is not None else view.evolve
        for event, contract in zip(accepted, decoded, strict=True):
            stream = event.stream_id
            state = states.get(stream) or self.stored.get(stream) or view.initial(stream)
            states[stream] = evolve(state, contract)
            self.last[stream] = event
            if stream not in self.stored:
                self.first.setdefault(stream, event)

    def _looking_ahead(self, events: list[RecordedEvent]) -> list[Event]:
        """`rebuild_decode` of each event with its stream's next one in `events`."""
        decode = self.view.rebuild_decode
        assert decode is not None
        decoded: list[Event] = []
        after: dict[str, RecordedEvent] = {}
        for event in reversed(events):
            decoded.append(decode(event, after.get(event.stream_id)))
            after[event.stream_id] = event
        decoded.reverse()
        return decoded

    async def write(self, session: AsyncSession) -> None:
        """One insert for new streams and one update for the others, each a batch."""
        view, states, last = self.view, self.states, self.last
        fast = pgdirect.on_asyncpg(session)
        new = iter(self.first.items())
        while chunk := list(itertools.islice(new, _CHUNK)):
            rows = [view._row(i, states[i], last[i]) | view.on_insert(first) for i, first in chunk]
            if fast and self.rebuilding:
                await _copy_on_asyncpg(session, view.table, rows)
                continue
            # A row found missing (`many`) may be inserted meanwhile by a rebuild: a lost race, decided again.
            with view_rows_taken_are_a_lost_race():
                if fast:
                    await _insert_on_asyncpg(session, view.table, rows)
                else:
                    await session.execute(view.table.insert(), rows)
        updates = [view._row(i, states[i], last[i]) for i in last if i in self.stored]
        updated: set[str] = set()
        if updates and fast:
            for start in range(0, len(updates), _CHUNK):
                updated.update(
                    await _update_on_asyncpg(session, view.table, view.key.name, updates[start : start + _CHUNK])
                )
        elif updates:
            for start in range(0, len(updates), _CHUNK):
                wanted = [row[view.key.name] for row in updates[start : start + _CHUNK]]
                updated.update((await session.execute(select(view.key).where(view.key.in_(wanted)))).scalars())
            # Bound names must differ from column names in an UPDATE's SET clause.
            names = [name for name in updates[0] if name != view.key.name]
            statement = (
                view.table.update()
                .where(view.key == bindparam("b_key"))
                .values({name: bindparam(f"b_{name}") for name in names})
            )
            rows = [{"b_key": row[view.key.name], **{f"b_{n}": row[n] for n in names}} for row in updates]
            await session.execute(statement, rows)
        missing = [row for row in updates if row[view.key.name] not in updated]
        if missing:
            # A row gone while its stream went on (the states here are whole: a poll's held aggregates, or `many`'s
            # fold of the row it read): inserted, with the columns its stream's first event gives.
            store = EventStore(source=last[missing[0][view.key.name]].source, topic=None)
            for row in missing:
                first = await store.load_first(session, row[view.key.name])
                assert first is not None, "a stream that goes on has a first event"
                with view_rows_taken_are_a_lost_race():
                    await session.execute(view.table.insert(), [row | view.on_insert(first)])


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """A rebuild's rows (each with the same columns) into `table`: on asyncpg by binary `COPY`, a thousand
    rows at a time, as a `StreamView`'s rebuild writes its rows (less client CPU than an `unnest` of an array
    per column, which asyncpg checks element by element, and far less than SQLAlchemy's executemany, which
    builds and binds each row's parameters); elsewhere SQLAlchemy's executemany."""
    if not rows:
        return
    names = tuple(rows[0])
    fast = pgdirect.on_asyncpg(session) and all(tuple(row) == names for row in rows)
    for start in range(0, len(rows), _CHUNK):
        chunk = list(rows[start : start + _CHUNK])
        if fast:
            await _copy_on_asyncpg(session, table, chunk)
        else:
            await session.execute(table.insert(), chunk)


#: Statement texts by table and columns: fixed, so asyncpg prepares each once per connection.
_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, pgdirect.ArrayColumns]] = {}


async def _insert_on_asyncpg(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    names = tuple(rows[0])
    found = _STATEMENTS.get(("insert", table.name, names))
    if found is None:
        found = _STATEMENTS[("insert", table.name, names)] = (
            pgdirect.unnest_insert(table, names),
            pgdirect.ArrayColumns(table, names),
        )
    statement, feed = found
    await pgdirect.fetch(session, statement, *feed.arrays(rows))


async def _copy_on_asyncpg(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """`rows` into `table` by binary `COPY` on the session's connection, in its transaction: a rebuild's
    (two round trips, so not for a command's or a poll's few rows; the values converted as for `unnest`).
    A value longer than its character column is refused here as on every other path: nothing is cut."""
    names = tuple(rows[0])
    feed = _COPIED.get((table.name, names))
    if feed is None:
        feed = _COPIED[(table.name, names)] = pgdirect.ArrayColumns(table, names)
    await pgdirect.copy_rows(session, table.name, names, feed.records(rows))


_COPIED: dict[tuple[str, tuple[str, ...]], pgdirect.ArrayColumns] = {}


async def _update_on_asyncpg(session: AsyncSession, table: Table, key: str, rows: list[dict[str, Any]]) -> list[Any]:
    """The rows updated, answering their keys (a key whose row is missing is not among them)."""
    names = tuple(name for name in rows[0] if name != key)
    found = _STATEMENTS.get(("update", table.name, names))
    if found is None:
        found = _STATEMENTS[("update", table.name, names)] = (
            pgdirect.unnest_update(table, key, names) + f" RETURNING {table.name}.{pgdirect.quoted([key])}",
            pgdirect.ArrayColumns(table, (key, *names)),
        )
    statement, feed = found
    return [row[0] for row in await pgdirect.fetch(session, statement, *feed.arrays(rows))]
