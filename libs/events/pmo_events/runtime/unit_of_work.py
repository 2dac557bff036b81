"""Load → decide → append in one transaction: the write path every command handler follows."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import pgdirect
from pmo_events.runtime.database import Database
from pmo_events.runtime.store import (
    ChangedViewRows,
    ConcurrencyConflict,
    EventStore,
    ExtraRows,
    GuardedRow,
    Metadata,
    NewViewRows,
    Premise,
    PreparedAppend,
    TransactionConflict,
    UpsertRows,
    lost_to_another_transaction,
)
from pmo_events.runtime.views import Folding, StreamView

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseModel)

#: An inline view updated in the same transaction as the events it reflects.
InlineProjector = Callable[[AsyncSession, RecordedEvent], Awaitable[None]]
#: "Whenever this event is recorded, do that" in the same transaction (an approval initiates a project).
#: It may append to other streams through the unit of work; rebuilds replay projectors, never policies.
#: One that declares the events it reacts to (`reacts_to`) is called for those only; any other, for every event.
Policy = Callable[["UnitOfWork", RecordedEvent], Awaitable[None]]
P = TypeVar("P", bound=Policy)


def reacts_to(*event_types: type[Event]) -> Callable[[P], P]:
    """Declares the only event types a policy does anything on (it must return at once on any other): the units
    of work then call it for those types only, not for every event recorded (`policies_for`)."""
    names = frozenset(event_type.type_name() for event_type in event_types)

    def declare(policy: P) -> P:
        policy.reacts_to = names  # type: ignore[attr-defined]
        return policy

    return declare


def policies_for(policies: Sequence[Policy], event_type: str) -> list[Policy]:
    """The policies to call on a recorded event of `event_type`, in their order: those that declared it, and
    those that declared nothing."""
    return [p for p in policies if event_type in getattr(p, "reacts_to", (event_type,))]


def on_prepared(policy: P) -> P:
    """Declares that a policy may run on a `write_at_end` append's events signed but not written yet, before the
    write: it reads only aggregates (`UnitOfWork.load`, never a view or the session), so it sees what it would see
    after the write (a load of the appended stream answers the append's state); an error it raises stops the write,
    and what it appends goes with it. A unit of work defers an append only when every policy that reacts to its
    events (`policies_for`) is so declared."""
    policy.on_prepared = True  # type: ignore[attr-defined]
    return policy


@dataclass(frozen=True)
class AggregateType(Generic[S]):
    """How to rebuild one kind of aggregate's state from its events (a pure fold)."""

    stream_type: str
    initial: Callable[[str], S]
    evolve: Callable[[S, Event], S]
    state_model: type[S]
    snapshot_every: int = 200
    #: `evolve` for a fold that owns the state it is given (`load`'s, from `initial` or a snapshot, handed out only
    #: at the end): may change it in place and return it instead of a copy; must give `evolve`'s states (each
    #: aggregate that has one tests it). None: `evolve`.
    evolve_owned: Callable[[S, Event], S] | None = None
    #: The process keeps this aggregate's states as committed units of work left them (`KeptStates`): its
    #: `evolve` is pure and no command changes a state it loaded, so one state can serve many commands.
    keep: bool = False
    #: A copy of a state that shares nothing `evolve_owned` changes in place: a poll's unit of work copies a
    #: stream's state once and folds each of its commands' appends on that copy in place (`UnitOfWork.state_after`)
    #: instead of copying the state per event. None (or no `evolve_owned`): `evolve`, a copy per event.
    own: Callable[[S], S] | None = None


@dataclass(frozen=True)
class Loaded(Generic[S]):
    state: S
    version: int

    def expect(self, version: int | None, what: str) -> None:
        """The client's If-Match: with a `version` other than this one, the command must not run."""
        if version is not None and version != self.version:
            raise StaleVersion(what, self.version)


@dataclass(frozen=True)
class Changed(Generic[S]):
    """What a command did to one aggregate: its state after, its stream's new version, the events recorded."""

    state: S
    version: int
    new_events: tuple[Event, ...] = ()


class StaleVersion(Exception):
    """The client named the version it read (If-Match) and the stream has moved on since (answered 412)."""

    def __init__(self, what: str, current: int) -> None:
        super().__init__(f"{what} has changed since you read it: it is now at version {current}")
        self.what = what
        self.current = current


@dataclass(frozen=True)
class _Folded(Generic[S]):
    """A stream's state as a full fold (snapshot and every event after it) gave it, and the id of the stream's
    event at that version (None at version 0). `head`: this unit of work appended it (no other transaction can
    append after its uncommitted events)."""

    aggregate: AggregateType[S]
    loaded: Loaded[S]
    event_id: str | None
    head: bool = False


class KeptStates:
    """The states of `keep` aggregates as the process's committed units of work folded them, for the next
    command on the same stream: a load then reads the stream from the kept version on (one statement, not a
    snapshot and its events), checks that the stream's event at that version is still the one the state was
    folded with (else it loads as before: a stream rewritten, a database restored), and folds only the events
    after it. A unit of work hands its states over only once it has committed (`keep_from`), so a rolled-back
    command leaves nothing here; nothing but a full fold or an append on a full fold's state puts a state here.
    At most `capacity` streams, the least recently used dropped first."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._kept: OrderedDict[str, _Folded[Any]] = OrderedDict()

    def get(self, aggregate: AggregateType[S], stream_id: str) -> _Folded[S] | None:
        found = self._kept.get(stream_id)
        if found is None or found.aggregate != aggregate:
            return None
        self._kept.move_to_end(stream_id)
        return found

    def keep_from(self, uow: UnitOfWork) -> None:
        """What a committed unit of work folded (an older version than the one kept is not kept)."""
        for stream_id, folded in uow.folded.items():
            kept = self._kept.get(stream_id)
            if kept is not None and kept.loaded.version > folded.loaded.version:
                continue
            self._kept[stream_id] = _Folded(folded.aggregate, folded.loaded, folded.event_id)
            self._kept.move_to_end(stream_id)
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)

    def forget(self) -> None:
        """Let every kept state go (`CommandRuntime.forget_held`, once a burst is over): a cache, so the next
        command on a stream folds it again from its snapshot."""
        self._kept = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)


class UnitOfWork:
    """One transaction: aggregates loaded, events appended, outbox and inline views written."""

    def __init__(
        self,
        session: AsyncSession | None,
        store: EventStore,
        meta: Metadata,
        projectors: Sequence[InlineProjector],
        policies: Sequence[Policy] = (),
        *,
        db: Database | None = None,
        kept: KeptStates | None = None,
    ) -> None:
        """`session` None: the unit of work opens one from `db` (PostgreSQL through asyncpg) only when
        something asks for it; until then its reads and its last write go to a `pgdirect.Direct`. `kept`: the
        process's `KeptStates`, read by `load` (the runtime hands this unit of work's over after its commit)."""
        if session is None and (db is None or db.lender is None):
            raise ValueError("a unit of work without a session needs a PostgreSQL (asyncpg) database")
        self._session = session
        self._db = db
        self._direct: pgdirect.Direct | None = None
        self._fast = session is None or pgdirect.on_asyncpg(session)
        self.store = store
        self.meta = meta
        self._projectors = projectors
        self._policies = policies
        self.recorded: list[RecordedEvent] = []
        #: Appends made with `write_at_end`, not sent yet.
        self._pending: list[PreparedAppend] = []
        #: The states after those appends, by stream (given with them), for views that write rows from them.
        self._pending_states: dict[str, Any] = {}
        #: The aggregate each of `_pending_states` was folded by (a view folding the same way takes the state).
        self._pending_aggregates: dict[str, AggregateType[Any]] = {}
        #: Rows to insert with the last write (`insert_at_end`).
        self._at_end: ExtraRows | None = None
        #: What the command decided on without reading it (`assume`), until the first write checks it.
        self._premise: Premise | None = None
        self._kept = kept
        #: The `keep` aggregates' states this unit of work folded in full or appended to, by stream.
        self.folded: dict[str, _Folded[Any]] = {}
        #: Streams `load_together` read ahead, for their next `load` (until the unit of work appends).
        self._ahead: set[str] = set()
        #: Rows rewritten with the last write where each is as its guard says (`guard_at_end`).
        self._guarded: list[GuardedRow] = []
        #: `on_prepared` policies are running on `write_at_end` appends not sent yet (`load` leaves them pending).
        self._before_write = False

    def assume(self, premise: Premise) -> None:
        """The command decides on `premise` without reading: the unit of work writes nothing unless it still
        holds when it writes (on PostgreSQL checked inside the one statement of the `write_at_end` appends,
        else just before the first write, in its transaction); `PremiseFailed` otherwise. One per unit of work."""
        if self._premise is not None:
            raise ValueError("a unit of work takes one premise")
        self._premise = premise

    async def _check_premise(self) -> None:
        """Before a write that does not carry the premise in its own statement: ask it alone, in the transaction."""
        premise, self._premise = self._premise, None
        if premise is not None and not await premise.holds(self.session):
            raise premise.failed()

    def insert_at_end(self, table: Table, row: dict[str, Any]) -> None:
        """Insert `row` into `table` with the unit of work's last write: on PostgreSQL in the one statement
        that sends the `write_at_end` appends (alone when there are none, or in the session's transaction
        when it has one), elsewhere in the transaction. All or nothing with the rest: a unique violation
        fails the unit of work (`ConcurrencyConflict` when it came in the appends' statement, else the
        `IntegrityError`). One table per unit of work."""
        if self._at_end is None:
            self._at_end = ExtraRows(table, [row])
        elif self._at_end.table is not table or tuple(row) != self._at_end.names:
            raise ValueError("insert_at_end takes rows of one table, with the same columns")
        else:
            self._at_end.rows.append(row)

    def guard_at_end(self, row: GuardedRow) -> None:
        """Rewrite `row` with the unit of work's last write, only where the table's row is still as its guard says
        (on PostgreSQL in the one statement of the `write_at_end` appends of one event: else nothing at all is
        written; elsewhere checked with `SELECT … FOR UPDATE` in the transaction, before the other writes). Either
        way a row not as guarded makes the unit of work a lost race (`ConcurrencyConflict`). The caller's word:
        the inline projectors leave this row to it (their `upserts` give no row for it). PostgreSQL only."""
        if not self._fast:
            raise ValueError("a guarded row goes with a write on PostgreSQL (asyncpg): see `defers_writes`")
        self._guarded.append(row)

    @property
    def defers_writes(self) -> bool:
        """Whether `append(..., write_at_end=True)` can hold its events for one last statement (PostgreSQL through
        asyncpg); elsewhere it is an ordinary append."""
        return self._fast

    @property
    def session(self) -> AsyncSession:
        """The unit of work's session, in its transaction (opened at the first ask: its first statement
        begins the transaction, which commits when the unit of work ends)."""
        if self._session is None:
            assert self._db is not None
            self._session = self._db.sessions()
            if self._direct is not None:
                # every statement it ran has committed; from now on, the session: its connection goes back to the
                # pool, where this session (or another unit of work's) may be waiting for one
                self._direct.give_back(keep=False)
                self._direct = None
        return self._session

    @property
    def reads(self) -> AsyncSession | pgdirect.Direct:
        """Where a read that needs no transaction goes (`pgdirect.fetch(..., begin=False)`, a search): the
        session once there is one, else a pooled connection borrowed without one (PostgreSQL)."""
        if self._session is not None:
            return self._session
        if self._direct is None:
            assert self._db is not None and self._db.lender is not None
            self._direct = pgdirect.Direct(self._db.lender)
        return self._direct

    def kept_state(self, aggregate: AggregateType[S], stream_id: str) -> S | None:
        """The process's kept state of this stream (`KeptStates`), unchecked, with no statement: a hint of what
        to `load_together` (a project's portfolio), never a state to decide on."""
        kept = self._kept.get(aggregate, stream_id) if self._kept is not None and aggregate.keep else None
        return kept.loaded.state if kept is not None else None

    async def load_together(self, wanted: Sequence[tuple[AggregateType[Any], str]]) -> None:
        """Read ahead, in ONE statement, the streams of `wanted` whose states the process keeps (`KeptStates`):
        each stream's events from its kept version on, checked and folded as `load` would (`_load_after`), so
        the next `load` of each answers with no statement. Before the unit of work writes anything (an append
        drops what was read ahead of its own stream: the others' next `load` still answers from it, as a read at
        that moment would, which a policy run after the append may use); fewer than two such streams, or no kept
        states, read nothing. A stream whose kept state does not hold (rewritten, far behind) is loaded by `load`
        as before."""
        if self._kept is None or self._pending or self.recorded:
            return
        found: dict[str, _Folded[Any]] = {}
        for aggregate, stream_id in wanted:
            kept = self._kept.get(aggregate, stream_id) if aggregate.keep else None
            if kept is not None and stream_id not in self.folded and stream_id not in found:
                found[stream_id] = kept
        if len(found) < 2:
            return
        after = {stream_id: max(kept.loaded.version - 1, 0) for stream_id, kept in found.items()}
        read = await self.store.load_after_each(self.reads, after)
        for stream_id, kept in found.items():
            if self._folded_after(kept, stream_id, read[stream_id]) is not None:
                self._ahead.add(stream_id)

    async def load(self, aggregate: AggregateType[S], stream_id: str) -> Loaded[S]:
        if self._before_write:
            # An `on_prepared` policy: its own stream answers from the append's state; any other stream is read
            # as it stands (the appends not sent yet touch only their own streams).
            mine = self.folded.get(stream_id)
            if mine is not None and mine.aggregate == aggregate and stream_id in self._pending_states:
                return mine.loaded
            if any(prepared.stream_id == stream_id for prepared in self._pending):
                await self.flush()
        else:
            await self.flush()
        if aggregate.keep:
            mine = self.folded.get(stream_id)
            if mine is not None and mine.head and mine.aggregate == aggregate:
                return mine.loaded  # this transaction appended last to the stream: nothing can follow it
            if stream_id in self._ahead:
                self._ahead.discard(stream_id)
                if mine is not None and mine.aggregate == aggregate:
                    return mine.loaded  # read by `load_together`, nothing written since
        reads = self.reads  # on PostgreSQL, no session needed: a read sees every write sent before it
        kept = self._kept.get(aggregate, stream_id) if self._kept is not None and aggregate.keep else None
        if kept is not None:
            loaded = await self._load_after(reads, kept, stream_id)
            if loaded is not None:
                return loaded
        state = aggregate.initial(stream_id)
        version = 0
        snapshot = await self.store.load_snapshot(reads, stream_id)
        if snapshot is not None:
            state = snapshot.restore(aggregate.state_model)
            version = snapshot.version
        evolve = aggregate.evolve_owned or aggregate.evolve  # the state is this fold's own until it returns
        # A kept aggregate reads the snapshot's own event too (not folded): the id its state is checked by.
        after = version - 1 if aggregate.keep and version > 0 else version
        event_id = None
        for recorded in await self.store.load(reads, stream_id, after_version=after):
            if recorded.sequence > version:
                state = evolve(state, recorded.decode())
                version = recorded.sequence
            event_id = recorded.event_id
        if aggregate.keep and (event_id is not None or version == 0):
            self.folded[stream_id] = _Folded(aggregate, Loaded(state, version), event_id)
        return Loaded(state, version)

    def state_after(self, aggregate: AggregateType[S], stream_id: str, state: S, new_events: Sequence[Event]) -> S:
        """`state`, this unit of work's state of `stream_id`, with `new_events` folded: the `state_after` of an
        append of them. Here a new state (`fold`), the one given left as it was; a poll's may fold in place."""
        return fold(aggregate, state, new_events)

    def folded_state(self, aggregate: AggregateType[S], stream_id: str) -> S | None:
        """The state of a `keep` aggregate this unit of work loaded or appended to, as it stands in it now
        (None if it has not, or appended to it without the state after): no statement."""
        found = self.folded.get(stream_id)
        return found.loaded.state if found is not None and found.aggregate == aggregate else None

    async def _load_after(
        self, reads: AsyncSession | pgdirect.Direct, kept: _Folded[S], stream_id: str
    ) -> Loaded[S] | None:
        """The kept state and the events after it; None when the stream's event at the kept version is not the
        one it was folded with (or is gone)."""
        found = await self.store.load(reads, stream_id, after_version=max(kept.loaded.version - 1, 0))
        return self._folded_after(kept, stream_id, found)

    def _folded_after(self, kept: _Folded[S], stream_id: str, found: list[RecordedEvent]) -> Loaded[S] | None:
        """`_load_after` once the stream's events from the kept version on are read (`found`)."""
        aggregate, state, version, event_id = kept.aggregate, kept.loaded.state, kept.loaded.version, kept.event_id
        if version > 0:
            if not found or found[0].sequence != version or found[0].event_id != event_id:
                return None
            found = found[1:]
        if len(found) > aggregate.snapshot_every:
            return None  # far behind (another worker's commands, a catch-up): the newest snapshot leaves fewer to fold
        for recorded in found:
            state = aggregate.evolve(state, recorded.decode())
            version, event_id = recorded.sequence, recorded.event_id
        loaded = Loaded(state, version)
        self.folded[stream_id] = _Folded(aggregate, loaded, event_id)
        return loaded

    async def append(
        self,
        aggregate: AggregateType[S],
        stream_id: str,
        expected_version: int,
        new_events: Sequence[Event],
        state_after: S | None = None,
        *,
        write_at_end: bool = False,
    ) -> list[RecordedEvent]:
        """Record `new_events` after `expected_version`, update the inline views, run the policies.

        `write_at_end=True` is the caller's word that nothing in this unit of work reads these streams or
        their views any more: on PostgreSQL the events are then signed now but sent when the unit of work
        ends (or before its next `load` or immediate `append`), all such appends with their outbox records
        and their views' new rows in ONE statement; when that statement is all the unit of work writes and
        nothing began a transaction, it goes alone, with no `BEGIN`/`COMMIT` (one statement is atomic).
        The events returned have no store position yet (`recorded` gets them after the write). A
        conflict raises `ConcurrencyConflict` when the unit of work ends. Elsewhere (SQLite, a service
        with policies, a snapshot due) it is an ordinary append."""
        if not new_events:
            return []
        # This stream's read-ahead is behind from now on (`load` answers the append's state or reads again); the
        # other streams' stay as good as a read now (each statement sees what has committed when it starts).
        self._ahead.discard(stream_id)
        new_version = expected_version + len(new_events)
        snapshot_due = state_after is not None and _crossed(expected_version, new_version, aggregate)
        reacting = self._on_prepared(new_events) if write_at_end and self._fast and not snapshot_due else None
        if reacting is not None:
            prepared = self.store.prepare(
                stream_id=stream_id,
                stream_type=aggregate.stream_type,
                expected_version=expected_version,
                new_events=new_events,
                meta=self.meta,
            )
            self._pending.append(prepared)
            if state_after is not None:
                self._pending_states[stream_id] = state_after
                self._pending_aggregates[stream_id] = aggregate
            else:
                self._pending_states.pop(stream_id, None)
                self._pending_aggregates.pop(stream_id, None)
            self.recorded.extend(prepared.recorded)
            if aggregate.keep and state_after is not None and prepared.recorded:
                # The caller's word, as below: for the process's kept states once the unit of work has committed.
                # Not `head`: sent alone on PostgreSQL, the statement commits at once and others may append after it.
                after = Loaded(state_after, new_version)
                self.folded[stream_id] = _Folded(aggregate, after, prepared.recorded[-1].event_id)
            else:
                self.folded.pop(stream_id, None)
            if reacting:
                await self._react_before_write(reacting, prepared.recorded)
            return list(prepared.recorded)
        await self.flush()
        await self._check_premise()
        recorded = await self.store.append(
            self.session,
            stream_id=stream_id,
            stream_type=aggregate.stream_type,
            expected_version=expected_version,
            new_events=new_events,
            meta=self.meta,
        )
        given = _states_given(self.session)
        if state_after is not None:
            given[recorded[-1].event_id] = state_after
        try:
            for event in recorded:
                for project in self._projectors:
                    await project(self.session, event)
        finally:
            given.pop(recorded[-1].event_id, None)
        self.recorded.extend(recorded)
        if aggregate.keep and state_after is not None:
            # the caller's word, as for the snapshot: `state_after` is the loaded state with `new_events` folded
            self.folded[stream_id] = _Folded(aggregate, Loaded(state_after, new_version), recorded[-1].event_id, True)
        else:
            self.folded.pop(stream_id, None)
        if snapshot_due and state_after is not None:
            await self.store.save_snapshot(self.session, stream_id, new_version, state_after.model_dump_json())
        for event in recorded:
            for react in policies_for(self._policies, event.type):
                await react(self, event)
        return recorded

    def _on_prepared(self, new_events: Sequence[Event]) -> list[Policy] | None:
        """The policies that react to these events when each of them may run on the prepared events before the
        write (`on_prepared`); None when one of them may not (the ordinary append then)."""
        types = {type(event).type_name() for event in new_events}
        reacting = [react for react in self._policies if any(policies_for([react], t) for t in types)]
        if any(not getattr(react, "on_prepared", False) for react in reacting):
            return None
        return reacting

    async def _react_before_write(self, reacting: list[Policy], events: Sequence[RecordedEvent]) -> None:
        """`on_prepared` policies on events signed but not sent: in the order the ordinary append runs them."""
        before, self._before_write = self._before_write, True
        try:
            for event in events:
                for react in policies_for(reacting, event.type):
                    await react(self, event)
        finally:
            self._before_write = before

    async def flush(self, *, last: bool = False) -> None:
        """Send the appends made with `write_at_end`. `last`: nothing else is written after this in the
        unit of work, so when no transaction has begun and one statement carries everything (with the
        rows of `insert_at_end`), it runs alone."""
        extra, self._at_end = (self._at_end, None) if last else (None, self._at_end)
        if not self._pending:
            await self._check_guards()
            if extra is not None:
                await self._check_premise()
                await self._insert(extra)
            return
        pending, self._pending = self._pending, []
        states, self._pending_states = self._pending_states, {}
        aggregates, self._pending_aggregates = self._pending_aggregates, {}
        events = [event for prepared in pending for event in prepared.recorded]
        together, view = _new_view_rows(self._projectors, events, states, aggregates)
        changed = None
        upserts: list[UpsertRows] | None = None
        if not together and self._fast:
            changed = await self._changed_view_rows(events)
            together = changed is not None
        if not together and self._fast:
            upserts = _upserted_rows(self._projectors, events, states)
            together = upserts is not None
        guarded: list[GuardedRow] = []
        if self._guarded and len(events) != 1:
            together = False  # a guarded row goes in a statement of one event; else checked, and the projectors write
        elif together:
            guarded, self._guarded = self._guarded, []
        if together:
            # Last, and nothing opened a session: on the borrowed connection, alone (it is one statement).
            target = self.reads if last else self.session
            premise, self._premise = self._premise, None
            written = await self.store.write_together(
                target,
                pending,
                view if view is not None and view.rows else None,
                begin=not last,
                extra=extra,
                changed=changed if changed is not None and changed.rows else None,
                premise=premise,
                upserts=upserts or (),
                guarded=guarded,
            )
        else:
            await self._check_premise()
            await self._check_guards()
            written = [event for prepared in pending for event in await self.store.write(self.session, prepared)]
            for event in written:
                for project in self._projectors:
                    await project(self.session, event)
            if extra is not None:
                await self._insert(extra)
        positioned = {event.event_id: event for event in written}
        self.recorded = [positioned.get(event.event_id, event) for event in self.recorded]

    async def _check_guards(self) -> None:
        """`guard_at_end`'s rows that did not go in the events' statement: each checked and locked in the
        transaction (the projectors write them, as without a guard); one not as guarded is a lost race."""
        guarded, self._guarded = self._guarded, []
        for row in guarded:
            if not await pgdirect.fetch(self.session, row.check(), row.row[row.key], *row.params):
                raise ConcurrencyConflict(str(row.row[row.key]), 0)

    async def _changed_view_rows(self, events: list[RecordedEvent]) -> ChangedViewRows | None:
        """When every stream of `events` goes on and one stream view holds their rows: those rows after the
        events, read and folded now, for the events' statement. None (the ordinary path) when a projector
        cannot say its rows, a stream starts here, two views have rows, a row is missing, or a stream is no
        longer at the version the events follow (then the ordinary path reports the conflict)."""
        found: tuple[StreamView[Any], list[str]] | None = None
        for project in self._projectors:
            if not isinstance(project, StreamView):
                return None
            ids = project.continued_ids(events)
            if ids is None:
                return None
            if ids:
                if found is not None:
                    return None
                found = (project, ids)
        if found is None:
            return None
        view, ids = found
        follows: dict[str, int] = {}
        for event in events:
            follows.setdefault(event.stream_id, event.sequence - 1)
        stored = await view.stored_at(self.reads, ids)
        if set(stored) != set(ids) or any(version != follows[i] for i, (_, version) in stored.items()):
            return None
        return view.changed_rows(events, {i: state for i, (state, _) in stored.items()})

    async def _insert(self, extra: ExtraRows) -> None:
        """`insert_at_end`'s rows without appends: in the session's transaction, or alone on PostgreSQL."""
        if self._fast:
            await pgdirect.fetch(self.reads, extra.statement(), *extra.arrays(), begin=False)
        else:
            await self.session.execute(insert(extra.table), extra.rows)

    async def _end(self) -> None:
        """Close the session (a rollback when it did not commit) and give the borrowed connection back."""
        try:
            if self._session is not None:
                await self._session.close()
        finally:
            if self._direct is not None:
                self._direct.give_back()
                self._direct = None
            if self._db is not None and self._db.lender is not None:
                await self._db.lender.trim()

    async def open_stream(self, stream_type: str, stream_id: str, new_events: Sequence[Event]) -> list[RecordedEvent]:
        """A new stream of its own for facts that need no aggregate to stay consistent (a lesson, a score)."""
        return await self.append(AggregateType(stream_type, _no_state, _no_change, BaseModel), stream_id, 0, new_events)


#: `session.info`'s key for the states `append` was given, by the id of the last event they follow (`state_after`).
_STATES_GIVEN = "pmo_states_given"


def _states_given(session: AsyncSession) -> dict[str, Any]:
    found = session.info.get(_STATES_GIVEN)
    if found is None:
        found = session.info[_STATES_GIVEN] = {}
    return found


def state_after(session: AsyncSession, event: RecordedEvent) -> Any | None:
    """For an inline projector, while `UnitOfWork.append` runs it: the state of `event`'s stream after it, when
    `event` is the last of the append and the command gave the state after (its fold of the loaded state and
    its events, `append`'s `state_after`); else None. A view whose row is that state (plus what other streams
    count) can write it without reading and folding the row first."""
    found = session.info.get(_STATES_GIVEN)
    return found.get(event.event_id) if found else None


def _new_view_rows(
    projectors: Sequence[InlineProjector],
    events: list[RecordedEvent],
    states: dict[str, Any],
    aggregates: dict[str, AggregateType[Any]],
) -> tuple[bool, NewViewRows | None]:
    """Whether the views can be written with `events` in one statement and, if so, the one view's new rows
    (None: no view wants these events). No when a projector cannot say its rows in advance (not a
    `StreamView`, or a stream continued) or two views have rows. A view that folds as a stream's aggregate does
    (the same `initial` and `evolve`) takes the state its append gave (`states`) instead of folding again."""
    found: NewViewRows | None = None
    for project in projectors:
        if not isinstance(project, StreamView):
            return False, None
        folded = {
            stream: state
            for stream, state in states.items()
            if aggregates[stream].evolve is project.evolve and aggregates[stream].initial is project.initial
        }
        rows = project.new_rows(events, folded)
        if rows is None:
            return False, None
        if rows.rows:
            if found is not None:
                return False, None
            found = rows
    return True, found


def _upserted_rows(
    projectors: Sequence[InlineProjector], events: list[RecordedEvent], states: dict[str, Any]
) -> list[UpsertRows] | None:
    """Every projector's rows for `events` as upserts (`Upserting`), from `states` (each stream's state after the
    events, as its append gave it), for the events' statement; None (the ordinary path) when a projector cannot
    say its rows so, or a stream's state is not known."""
    if any(event.stream_id not in states for event in events):
        return None
    found: list[UpsertRows] = []
    for project in projectors:
        upserts = getattr(project, "upserts", None)
        rows = upserts(events, states) if upserts is not None else None
        if rows is None:
            return None
        found.extend(part for part in rows if part.rows)
    return found


def _no_state(_stream_id: str) -> BaseModel:
    return BaseModel()


def _no_change(state: BaseModel, _event: Event) -> BaseModel:
    return state


def _crossed(old: int, new: int, aggregate: AggregateType[Any]) -> bool:
    return new // aggregate.snapshot_every > old // aggregate.snapshot_every


def fold(aggregate: AggregateType[S], state: S, new_events: Sequence[Event]) -> S:
    for event in new_events:
        state = aggregate.evolve(state, event)
    return state


class HeldStates:
    """The aggregates a subscription's last poll appended to, kept for its next poll (a catch-up's polls name
    the same portfolios again and again: each would load and fold each one from its snapshot and events).

    Each is held with its stream's last event id, and used again only while that is still the stream's last
    event (`EventStore.last_event_ids`, one statement per poll): a command that appended to the stream since
    (over HTTP, in another transaction), or a poll whose transaction was rolled back after it was held, makes
    the next poll load it from the store as before. Only the last poll's streams are held (bounded memory)."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[AggregateType[Any], Loaded[Any], str]] = {}

    async def still_current(
        self, store: EventStore, session: AsyncSession, stream_ids: Sequence[str]
    ) -> dict[str, tuple[AggregateType[Any], Loaded[Any]]]:
        """The held states of these streams that no event has followed since."""
        wanted = [i for i in dict.fromkeys(stream_ids) if i in self._held]
        if not wanted:
            return {}
        last = await store.last_event_ids(session, wanted)
        current = {}
        for stream_id in wanted:
            aggregate, loaded, event_id = self._held[stream_id]
            if last.get(stream_id) == event_id:
                current[stream_id] = (aggregate, loaded)
        return current

    def replace(self, held: dict[str, tuple[AggregateType[Any], Loaded[Any], str]]) -> None:
        self._held = held

    def forget(self) -> None:
        """Let every held state go (`CommandRuntime.forget_held`: the memory part, once a burst is over); the next
        poll loads its aggregates from the store as before."""
        self._held = {}


class PollUnitOfWork(UnitOfWork):
    """A subscription's poll as ONE unit of work: the commands its events cause run one after another on it,
    each with its cause's `meta`; nothing is written until `end`.

    `load` answers each aggregate from the poll's own state once it has been loaded (after the poll's
    earlier appends); `append` only prepares (signs) the events. `end` writes every append with its outbox
    records (one statement on PostgreSQL), runs each inline projector once over all of them (`many` when the
    projector has it, else event by event), saves the snapshots the poll made due, then runs the policies on
    each recorded event with a unit of work of its cause's `meta`. So a command run on it must read nothing
    but aggregates (no view) while the poll runs, and the policies see the views as of the poll's end."""

    def __init__(
        self,
        session: AsyncSession,
        store: EventStore,
        meta: Metadata,
        projectors: Sequence[InlineProjector],
        policies: Sequence[Policy] = (),
        held: HeldStates | None = None,
    ) -> None:
        super().__init__(session, store, meta, projectors, policies)
        self._states: dict[str, tuple[AggregateType[Any], Loaded[Any]]] = {}
        #: States kept from the subscription's earlier polls (checked before use), and given the poll's at its end.
        self._held = held
        #: Each appended stream's version when the poll first appended to it (for the snapshot rule).
        self._versions_before: dict[str, int] = {}
        self._appends: list[tuple[PreparedAppend, Metadata]] = []
        #: The streams whose state this poll copied (`AggregateType.own`) and folds in place: the copy, by stream.
        self._owned: dict[str, Any] = {}

    def assume(self, premise: Premise) -> None:
        raise TypeError("a poll's unit of work writes at its end whatever its commands decided: it takes no premise")

    async def prefetch(self, aggregate: AggregateType[Any], stream_ids: Sequence[str]) -> None:
        """Load every one of these streams the poll does not hold yet, as `load` would one by one: the states kept
        from the subscription's earlier polls that are still current, then from the aggregate's inline view where
        its row is at the stream's version (PostgreSQL, one statement), the rest from the store in two statements
        per thousand (`EventStore.load_many`)."""
        missing = [i for i in dict.fromkeys(stream_ids) if i not in self._states]
        if missing and self._held is not None:
            self._states.update(await self._held.still_current(self.store, self.session, missing))
            missing = [i for i in missing if i not in self._states]
        view = self._view_of(aggregate)
        if missing and view is not None and pgdirect.on_asyncpg(self.session):
            # The view's row holds the aggregate's state at its stream's version (the same fold, written with the
            # events): one row read and validated instead of a snapshot and events read, decoded and folded.
            for stream_id, (state, version) in (await view.stored_at(self.session, missing, exact=True)).items():
                self._states[stream_id] = (aggregate, Loaded(state, version))
            missing = [i for i in missing if i not in self._states]
        if not missing:
            return
        for stream_id, (snapshot, recorded) in (await self.store.load_many(self.session, missing)).items():
            state = aggregate.initial(stream_id)
            version = 0
            if snapshot is not None:
                state = snapshot.restore(aggregate.state_model)
                version = snapshot.version
            for event in recorded:
                state = aggregate.evolve(state, event.decode())
                version = event.sequence
            self._states[stream_id] = (aggregate, Loaded(state, version))

    def _view_of(self, aggregate: AggregateType[Any]) -> StreamView[Any] | None:
        """The inline view whose rows are this aggregate's states (`_held_rows`' rule: the same model, `initial`
        and `evolve`, every stream of its type, a version column to tell a row behind its stream), if any."""
        fold = (aggregate.state_model, aggregate.initial, aggregate.evolve)
        for view in self._projectors:
            if (
                isinstance(view, StreamView)
                and view.version is not None
                and view.stream_type in (None, aggregate.stream_type)
                and fold == (view.model, view.initial, view.evolve)
            ):
                return view
        return None

    async def load(self, aggregate: AggregateType[S], stream_id: str) -> Loaded[S]:
        found = self._states.get(stream_id)
        if found is None and self._held is not None:
            found = (await self._held.still_current(self.store, self.session, [stream_id])).get(stream_id)
            if found is not None:
                self._states[stream_id] = found
        if found is not None:
            return found[1]
        loaded = await super().load(aggregate, stream_id)
        self._states[stream_id] = (aggregate, loaded)
        return loaded

    def state_after(self, aggregate: AggregateType[S], stream_id: str, state: S, new_events: Sequence[Event]) -> S:
        """When `state` is the poll's state of the stream and the aggregate can be owned (`own`, `evolve_owned`):
        folded in place on the poll's own copy of it, copied at the poll's first append to the stream (a poll's
        registrations on a portfolio of n candidates made a copy of the portfolio and its n candidates' mapping
        each). The state given is then that copy, changed: the command must append what it folded, or fail (and
        its poll with it: a poll's states are never held after a failure). Else `fold`, as a command's."""
        found = self._states.get(stream_id)
        owned_evolve = aggregate.evolve_owned
        if aggregate.own is None or owned_evolve is None or found is None or found[1].state is not state:
            return fold(aggregate, state, new_events)
        if self._owned.get(stream_id) is not state:
            state = aggregate.own(state)  # held from an earlier poll, read from a view or loaded: shared
        for event in new_events:
            state = owned_evolve(state, event)
        self._owned[stream_id] = state
        return state

    async def append(
        self,
        aggregate: AggregateType[S],
        stream_id: str,
        expected_version: int,
        new_events: Sequence[Event],
        state_after: S | None = None,
        *,
        write_at_end: bool = False,
    ) -> list[RecordedEvent]:
        if not new_events:
            return []
        found = self._states.get(stream_id)
        if found is not None and found[1].version != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version)
        if state_after is None:
            if found is not None:
                before = found[1].state
            elif expected_version == 0:
                before = aggregate.initial(stream_id)
            else:
                before = (await self.load(aggregate, stream_id)).state
            state_after = fold(aggregate, before, new_events)
        prepared = self.store.prepare(
            stream_id=stream_id,
            stream_type=aggregate.stream_type,
            expected_version=expected_version,
            new_events=new_events,
            meta=self.meta,
        )
        self._appends.append((prepared, self.meta))
        self._versions_before.setdefault(stream_id, expected_version)
        self._states[stream_id] = (aggregate, Loaded(state_after, expected_version + len(new_events)))
        self.recorded.extend(prepared.recorded)
        return list(prepared.recorded)

    async def end(self) -> list[RecordedEvent]:
        """Write what the poll recorded (see the class); answers the events with their store positions."""
        appends, self._appends = self._appends, []
        if not appends:
            return []
        prepared = [append for append, _meta in appends]
        if pgdirect.on_asyncpg(self.session):
            written = await self.store.write_together(self.session, prepared)
        else:
            written = [event for append in prepared for event in await self.store.write(self.session, append)]
        positioned = {event.event_id: event for event in written}
        self.recorded = [positioned.get(event.event_id, event) for event in self.recorded]
        if self._held is not None:
            # Checked against the store when the next poll uses them: this transaction may still roll back.
            last_ids = {append.stream_id: append.recorded[-1].event_id for append in prepared if append.recorded}
            self._held.replace({i: (*self._states[i], event_id) for i, event_id in last_ids.items()})
        for project in self._projectors:
            held = self._held_rows(project, written) if isinstance(project, StreamView) else None
            if held is not None:
                await held.write(self.session)
                continue
            many = getattr(project, "many", None)
            if many is not None:
                await many(self.session, written)
                continue
            for event in written:
                await project(self.session, event)
        versions_before, self._versions_before = self._versions_before, {}
        for stream_id, before in versions_before.items():
            aggregate, loaded = self._states[stream_id]
            if _crossed(before, loaded.version, aggregate):
                await self.store.save_snapshot(self.session, stream_id, loaded.version, loaded.state.model_dump_json())
        if self._policies:
            await self._react(appends, positioned)
        return written

    async def _react(
        self, appends: list[tuple[PreparedAppend, Metadata]], positioned: dict[str, RecordedEvent]
    ) -> None:
        """The policies on each recorded event, with a unit of work of its cause's `meta` per append; an append
        none of whose events any policy reacts to (`reacts_to`) gets none."""
        by_type: dict[str, list[Policy]] = {}
        for append, meta in appends:
            caused: UnitOfWork | None = None
            for recorded in append.recorded:
                reacting = by_type.get(recorded.type)
                if reacting is None:
                    reacting = by_type[recorded.type] = policies_for(self._policies, recorded.type)
                if not reacting:
                    continue
                if caused is None:
                    caused = UnitOfWork(self.session, self.store, meta, self._projectors, self._policies)
                for react in reacting:
                    await react(caused, positioned[recorded.event_id])
            if caused is not None:
                await caused.flush()

    def _held_rows(self, view: StreamView[Any], written: list[RecordedEvent]) -> Folding[Any] | None:
        """The view's rows after `written`, from the states the poll holds, when the view's state IS the
        aggregate's (the same model, `initial` and `evolve`, as portfolio's portfolios view and intake's
        proposals view): its row after the poll is the aggregate's state after it, so nothing is read, validated
        or folded again (a portfolio's row holds every candidate). A stream starting in the poll gets its row
        inserted, the others updated, as `many` would. None (`many` then) for any other view."""
        states: dict[str, Any] = {}
        first: dict[str, RecordedEvent] = {}
        last: dict[str, RecordedEvent] = {}
        for event in written:
            if not view.accepts(event):
                continue
            stream = event.stream_id
            if stream not in states:
                aggregate, loaded = self._states[stream]
                same_fold = (aggregate.state_model, aggregate.initial, aggregate.evolve) == (
                    view.model, view.initial, view.evolve
                )  # fmt: skip
                if not same_fold:
                    return None
                states[stream] = loaded.state
                if event.sequence == 1:
                    first[stream] = event
            last[stream] = event
        if not states:
            return None
        # `stored` names the streams whose rows exist (updated); the values are unused by `write`.
        stored = {stream: state for stream, state in states.items() if stream not in first}
        return Folding(view, stored, states, first, last)


class CommandRuntime:
    """What handlers need: a way to open a unit of work. Wakes the relay after each commit."""

    def __init__(
        self,
        db: Database,
        store: EventStore,
        *,
        projectors: Sequence[InlineProjector] = (),
        policies: Sequence[Policy] = (),
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.projectors = list(projectors)
        self.policies = list(policies)
        self._on_commit = on_commit
        self._held: list[HeldStates] = []
        #: The `keep` aggregates' states as this process's committed units of work left them.
        self.kept = KeptStates()

    @asynccontextmanager
    async def unit_of_work(self, meta: Metadata) -> AsyncIterator[UnitOfWork]:
        """A command's unit of work. PostgreSQL aborting it for another transaction's sake (a deadlock, a
        serialization failure: `lost_to_another_transaction`) is a `TransactionConflict`: decided again."""
        try:
            if self.db.lender is None:
                async with self.db.transaction() as session:
                    uow = UnitOfWork(session, self.store, meta, self.projectors, self.policies, kept=self.kept)
                    yield uow
                    await uow.flush(last=True)
                self.kept.keep_from(uow)  # committed
            else:
                # PostgreSQL: the session only when the command asks for it (as `Database.transaction` would
                # run it: committed on success, rolled back by its close on any error). A draft asks for none.
                uow = UnitOfWork(None, self.store, meta, self.projectors, self.policies, db=self.db, kept=self.kept)
                try:
                    yield uow
                    await uow.flush(last=True)
                    if uow._session is not None:
                        await uow._session.commit()
                    self.kept.keep_from(uow)  # committed (or, with no session, every statement ran alone)
                finally:
                    await uow._end()
        except DBAPIError as exc:
            if not lost_to_another_transaction(exc):
                raise
            raise TransactionConflict(exc) from exc
        if uow.recorded and self._on_commit is not None:
            # Committed: nothing after this line may turn the command's answer into a 5xx (the relay's
            # poll finds the events anyway when the nudge fails).
            try:
                self._on_commit()
            except Exception:
                log.exception("the after-commit hook failed; the events are stored and will be published")

    def held_states(self) -> HeldStates:
        """A subscription's `HeldStates` (for `for_poll`), let go with every other by `forget_held`."""
        held = HeldStates()
        self._held.append(held)
        return held

    def forget_held(self) -> None:
        """Every `held_states` lets its states go, and so do the commands' `kept` states: a portfolio held
        after a catch-up or kept after a command is ~5.7 MB that would stay until the next poll or command on
        its stream (`pmo_servicekit.memory` calls this before it gives memory back)."""
        for held in self._held:
            held.forget()
        self.kept.forget()

    def for_poll(self, session: AsyncSession, held: HeldStates | None = None) -> PollUnitOfWork:
        """A subscription's poll as one unit of work in its transaction (`PollUnitOfWork`; call its `end`);
        `held`: the aggregates its earlier polls left, used again while no event has followed them."""
        return PollUnitOfWork(session, self.store, Metadata(), self.projectors, self.policies, held)

    @asynccontextmanager
    async def in_session(self, session: AsyncSession, meta: Metadata) -> AsyncIterator[UnitOfWork]:
        """A unit of work inside a transaction someone else owns (a subscription's batch)."""
        uow = UnitOfWork(session, self.store, meta, self.projectors, self.policies)
        yield uow
        await uow.flush()
