"""The event store: atomic, optimistically concurrent appends; stream loads; the global log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Table, and_, func, insert, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent, dumps, loads, stored_reader, to_kafka
from pmo_events.runtime import pgdirect
from pmo_events.runtime.database import asyncpg_connection
from pmo_events.runtime.schema import events, outbox, snapshots
from pmo_events.runtime.tracing import current_traceparent
from pmo_events.signing import EventSigner

#: The largest record an event may become on Kafka (value, key and headers): well below the producer's and the
#: broker's default 1 MiB (`max.request.size`, `message.max.bytes`), so a dead-letter copy with its extra
#: headers still fits.
DEFAULT_MAX_EVENT_BYTES = 512 * 1024


class EventTooLarge(Exception):
    """An event that would be refused by the broker: the command is refused instead, and nothing is stored."""

    def __init__(self, event_type: str, size: int, limit: int) -> None:
        super().__init__(f"a {event_type} event would be {size} bytes on the broker; the limit is {limit}")
        self.event_type = event_type
        self.size = size
        self.limit = limit


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream since it was loaded."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} is no longer at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


#: PostgreSQL's codes for a transaction it aborted to end a conflict with another one: deadlock_detected and
#: serialization_failure. Nothing of it was committed; decided (or applied) again, it can succeed.
LOST_TO_ANOTHER_TRANSACTION = frozenset({"40P01", "40001"})


def lost_to_another_transaction(exc: BaseException) -> bool:
    """`exc` is PostgreSQL aborting this transaction for another's sake (a deadlock, a serialization failure)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    for error in (orig, getattr(orig, "__cause__", None)):  # the DBAPI's error, then asyncpg's own
        if getattr(error, "sqlstate", None) in LOST_TO_ANOTHER_TRANSACTION:
            return True
    return False


class TransactionConflict(ConcurrencyConflict):
    """The database aborted the transaction to end a conflict with another (`lost_to_another_transaction`):
    nothing was written; decide again, as after any lost race."""

    def __init__(self, error: BaseException) -> None:
        Exception.__init__(self, f"the transaction lost a conflict with another: {error}")
        self.stream_id = ""
        self.expected_version = 0


def unique_violation(exc: BaseException) -> bool:
    """`exc` is a unique (or primary key) violation: PostgreSQL's 23505, SQLite's constraint of either kind."""
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    for error in (orig, getattr(orig, "__cause__", None)):  # the DBAPI's error, then asyncpg's own
        if getattr(error, "sqlstate", None) == "23505":
            return True
        if getattr(error, "sqlite_errorname", None) in {"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"}:
            return True
    return False


@contextlib.contextmanager
def view_rows_taken_are_a_lost_race() -> Iterator[None]:
    """Around a command's (or a poll's) insert of view rows it found missing: another transaction inserting the
    same rows meanwhile (an operator's rebuild re-inserting every row, waited for on its table lock) is a lost
    race, as a deadlock is: a `TransactionConflict`, so the command is decided again (a poll applied again) on
    the row now there, never a 5xx, and the row is the rebuild's folded on as every other."""
    try:
        yield
    except IntegrityError as exc:
        if not unique_violation(exc):
            raise
        raise TransactionConflict(exc) from exc


@dataclass(frozen=True, slots=True)
class Premise:
    """What a command decided on without reading it first: that a query finds no row (no lesson matches a
    proposal's words, so none is offered). The unit of work writes only while it holds, checked with the
    write itself: on PostgreSQL inside the one statement that writes (`exists`, with `params`), elsewhere
    by `holds` in the transaction just before its first write. When it does not hold, nothing is written
    and `PremiseFailed` is raised (after `broken` is told, so the caller decides the slow way next time)."""

    #: PostgreSQL: a query whose rows break the premise, its parameters written `{0}`, `{1}`… (`params`).
    exists: str
    params: tuple[Any, ...]
    #: The same question asked alone, in the session's transaction (or on a connection borrowed without one).
    holds: Callable[[Any], Awaitable[bool]]
    broken: Callable[[], None] = field(default=lambda: None)

    def failed(self) -> PremiseFailed:
        self.broken()
        return PremiseFailed(self)


class PremiseFailed(ConcurrencyConflict):
    """A command's premise no longer held when it wrote, so nothing was written: decide again (at once; no
    other writer to step aside for), as after any lost race."""

    def __init__(self, premise: Premise) -> None:
        Exception.__init__(self, f"a command's premise no longer held when it wrote: {premise.exists}")
        self.premise = premise
        self.stream_id = ""
        self.expected_version = 0


@dataclass(frozen=True, slots=True)
class Metadata:
    """Who caused the events, in answer to what, and when."""

    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def caused_by(cls, event: RecordedEvent, *, actor: str | None = None) -> Metadata:
        """For a command a consumed event triggers: same correlation, that event as the cause, and the
        trace context of the consumer span the subscription opened around it. Made without the frozen
        dataclass's `__init__` (once per consumed event that issues a command: 6.5 against 3.0 µs, load 12)."""
        meta: Metadata = _new_metadata(cls)
        _set_actor(meta, actor if actor is not None else event.actor)
        _set_correlation_id(meta, event.correlation_id)
        _set_causation_id(meta, event.event_id)
        _set_traceparent(meta, current_traceparent() or _well_formed(event.traceparent))
        _set_occurred_at(meta, datetime.now(UTC))
        return meta


_new_metadata = object.__new__
_set_actor, _set_correlation_id, _set_causation_id, _set_traceparent, _set_occurred_at = (
    Metadata.__dict__[name].__set__
    for name in ("actor", "correlation_id", "causation_id", "traceparent", "occurred_at")
)


#: A W3C `traceparent` as this runtime writes it (`current_traceparent`): version 00, 55 characters.
_TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\Z", re.ASCII)


def _well_formed(traceparent: str | None) -> str | None:
    """A consumed event's `traceparent` when it is one: the header is not signed, so a genuine event put on the
    topic again by anyone else may carry any text there (the column takes 64 characters: a longer one failed the
    consumer's append on PostgreSQL, and the genuine event was dead-lettered)."""
    return traceparent if traceparent is not None and _TRACEPARENT.match(traceparent) else None


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An aggregate's state after its event `version`, as the JSON text it was kept as."""

    version: int
    text: str

    @property
    def state(self) -> dict[str, Any]:
        return loads(self.text)

    def restore(self, model: type[M]) -> M:
        """The state as `model`, validated straight from the text: no dict of the whole state on the way (for a
        portfolio, several MB of objects per poll that die with it and leave CPython's arenas fragmented)."""
        return model.model_validate_json(self.text)


@dataclass(frozen=True, slots=True)
class PreparedAppend:
    """An append computed and signed but not sent: the events (no positions yet), their rows, their records."""

    stream_id: str
    expected_version: int
    recorded: list[RecordedEvent]
    rows: list[dict[str, Any]]
    messages: list[KafkaRecord]


@dataclass(frozen=True, slots=True)
class NewViewRows:
    """New rows of an inline view written in the same statement as the events they fold (a stream's first
    events): `names` are given as values; each of `positions` takes the store position of the event named
    by the row's `first_event` (known only once the events are inserted)."""

    table: Table
    names: tuple[str, ...]
    positions: tuple[str, ...]
    rows: list[dict[str, Any]]
    first_events: list[str]

    def arrays(self) -> list[list[Any]]:
        return [*pgdirect.ArrayColumns(self.table, self.names).arrays(self.rows), self.first_events]

    def scalars(self) -> list[Any]:
        """The one row's parameters (`_append_statement(..., single=True)`)."""
        return [*pgdirect.ArrayColumns(self.table, self.names).row(self.rows[0]), self.first_events[0]]


@dataclass(frozen=True, slots=True)
class ChangedViewRows:
    """Rows of an inline view rewritten in the same statement as the events they fold (streams that go
    on): each row's `key` column names it, the other columns are set."""

    table: Table
    key: str
    names: tuple[str, ...]
    rows: list[dict[str, Any]]

    def arrays(self) -> list[list[Any]]:
        return pgdirect.ArrayColumns(self.table, (self.key, *self.names)).arrays(self.rows)

    def scalars(self) -> list[Any]:
        """The one row's parameters (`_append_statement(..., single=True)`)."""
        return pgdirect.ArrayColumns(self.table, (self.key, *self.names)).row(self.rows[0])


class _WholeRows:
    """Rows whose every column the caller gives (`rows`, each with the same columns) for one table: their arrays
    for an `unnest`, or the one row's parameters."""

    __slots__ = ()
    table: Table
    rows: list[dict[str, Any]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.rows[0])

    def arrays(self) -> list[list[Any]]:
        return pgdirect.ArrayColumns(self.table, self.names).arrays(self.rows)

    def scalars(self) -> list[Any]:
        """The one row's parameters (`_append_statement(..., single=True)`)."""
        return pgdirect.ArrayColumns(self.table, self.names).row(self.rows[0])


@dataclass(frozen=True, slots=True)
class UpsertRows(_WholeRows):
    """Rows of an inline view written in the same statement as the events they fold, each inserted or, where the
    table holds a row with its `key` already, rewritten (`ON CONFLICT … DO UPDATE`): a view whose rows the
    command knows whole from the aggregate's state after its events (no read of the row first). One row per key."""

    table: Table
    key: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class GuardedRow:
    """One row of an inline view rewritten in the same statement as the events it folds, only where the table's
    row is still as the command read it (`guard`: a condition on the row's columns, its parameters written
    `{0}`, `{1}`… and given in `params`): when it is not (another transaction changed it since, or it is gone),
    the statement writes nothing at all, neither the events nor any other part, and the append is a lost race
    (`ConcurrencyConflict`: decided again). For a row whose state the command knows whole from the aggregate's
    state after its events plus what it read of the row (counts kept from other streams)."""

    table: Table
    key: str
    row: dict[str, Any]
    guard: str
    params: tuple[Any, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The columns set (the key names the row)."""
        return tuple(name for name in self.row if name != self.key)

    @property
    def width(self) -> int:
        return 1 + len(self.names) + len(self.params)

    def clause(self, first: int, where: str = "") -> str:
        """The guarded `UPDATE`, its parameters from `$first` on (`scalars`); `where`: a further condition."""
        guard = self.guard.format(*(f"${n}" for n in range(first + 1 + len(self.names), first + self.width)))
        guard = f"({guard}) AND {where}" if where else guard
        update = pgdirect.values_update(self.table, self.key, self.names, first=first, where=guard)
        return f"{update} RETURNING 1"

    def scalars(self) -> list[Any]:
        return [*pgdirect.ArrayColumns(self.table, (self.key, *self.names)).row(self.row), *self.params]

    def check(self) -> str:
        """The guard asked alone, $1 the key (`SELECT … FOR UPDATE`: the row then stays as it is until the commit)."""
        guard = self.guard.format(*(f"${n}" for n in range(2, 2 + len(self.params))))
        key = pgdirect.ArrayColumns(self.table, (self.key,)).scalars(1)[0]
        quote = pgdirect.quoted((self.key,))
        return f"SELECT 1 FROM {self.table.name} WHERE {quote} = {key} AND {guard} FOR UPDATE"


@dataclass(frozen=True, slots=True)
class ExtraRows(_WholeRows):
    """Rows of another table written in the same statement as the events (an idempotency key and its answer)."""

    table: Table
    rows: list[dict[str, Any]]

    def statement(self) -> str:
        """The rows alone, in one statement (asyncpg)."""
        return pgdirect.unnest_insert(self.table, self.names)


class EventStore:
    """Appends to and reads from one service's `pmo_events` table; fills its outbox on append."""

    def __init__(
        self,
        *,
        source: str,
        topic: str | None,
        signer: EventSigner | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.source = source
        self.topic = topic
        self.signer = signer
        self.max_event_bytes = max_event_bytes

    async def append(
        self,
        session: AsyncSession,
        *,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        new_events: Sequence[Event],
        meta: Metadata,
    ) -> list[RecordedEvent]:
        """Append after `expected_version`; raises `ConcurrencyConflict` if someone else did first."""
        if not new_events:
            return []
        prepared = self.prepare(
            stream_id=stream_id,
            stream_type=stream_type,
            expected_version=expected_version,
            new_events=new_events,
            meta=meta,
        )
        return await self.write(session, prepared)

    def prepare(
        self,
        *,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        new_events: Sequence[Event],
        meta: Metadata,
    ) -> PreparedAppend:
        """The rows and signed outbox records of an append, nothing sent yet (`EventTooLarge` refuses it here)."""
        if meta.occurred_at.tzinfo is None:
            raise ValueError("naive datetime given; the store only takes timezone-aware UTC")
        ids = new_event_ids(len(new_events))
        recorded = [
            RecordedEvent.recorded(
                event,
                ids[offset - 1],
                self.source,
                stream_id,
                stream_type,
                expected_version + offset,
                meta.occurred_at,
                meta.actor,
                meta.correlation_id,
                meta.causation_id,
                meta.traceparent,
            )
            for offset, event in enumerate(new_events, start=1)
        ]
        messages = [kafka_record(r, self.signer) for r in recorded]
        for event, message in zip(recorded, messages, strict=True):
            if (size := message.size) > self.max_event_bytes:
                raise EventTooLarge(event.type, size, self.max_event_bytes)
        # the stored payload is the record's value (`to_kafka`: the event's JSON), not the event's JSON made again
        rows = [_row(r, m.value) for r, m in zip(recorded, messages, strict=True)]
        return PreparedAppend(stream_id, expected_version, recorded, rows, messages)

    async def write(self, session: AsyncSession, prepared: PreparedAppend) -> list[RecordedEvent]:
        """Send a prepared append in the session's transaction: its events with their store positions."""
        rows, messages = prepared.rows, prepared.messages
        if not rows:
            return []
        try:
            # No savepoint: a conflict ends the caller's transaction anyway (it is retried or refused
            # whole), and two fewer round trips per command matter at a thousand commands a second.
            if pgdirect.on_asyncpg(session):
                positions = await _append_on_asyncpg(session, rows, self.topic, messages)
            else:
                result = await session.execute(
                    insert(events).returning(events.c.position, sort_by_parameter_order=True), rows
                )
                positions = [row.position for row in result]
                if self.topic:
                    await _insert_outbox(session, self.topic, messages)
        except IntegrityError as exc:
            raise ConcurrencyConflict(prepared.stream_id, prepared.expected_version) from exc
        return [_with_position(r, p) for r, p in zip(prepared.recorded, positions, strict=True)]

    async def write_together(
        self,
        session: AsyncSession | pgdirect.Direct,
        appends: Sequence[PreparedAppend],
        view: NewViewRows | None = None,
        *,
        begin: bool = True,
        extra: ExtraRows | None = None,
        changed: ChangedViewRows | None = None,
        premise: Premise | None = None,
        upserts: Sequence[UpsertRows] = (),
        guarded: Sequence[GuardedRow] = (),
    ) -> list[RecordedEvent]:
        """Several prepared appends, their outbox records and a view's new rows in ONE statement (asyncpg
        only): the events with their positions, in the order given. `begin=False`: when the session has not
        begun a transaction (or on a `pgdirect.Direct`), the statement runs alone (one statement is atomic),
        with no `BEGIN`/`COMMIT`. `extra`: another table's rows, in the same statement (a unique violation
        there is a `ConcurrencyConflict` too: a twin request committed first). `changed`: a view's rows
        rewritten (streams that go on; the caller read them after loading the streams, so the events'
        unique version refuses the statement whole if a stream moved on since). `premise`: the statement
        writes nothing unless it holds (`PremiseFailed` then). `upserts`: views' rows inserted or rewritten
        (`UpsertRows`; rows the caller knows from the streams' states after these events, which the events'
        unique version makes the states the store holds when the statement succeeds). `guarded`: views' rows
        rewritten only where each is still as its `GuardedRow.guard` says (else nothing is written and the append is
        a `ConcurrencyConflict`); one event only (a single statement)."""
        rows = [row for prepared in appends for row in prepared.rows]
        messages = [message for prepared in appends for message in prepared.messages]
        parts = (view, changed, extra, *upserts)
        single = len(rows) == 1 and all(part is None or len(part.rows) == 1 for part in parts)
        if guarded and not single:
            raise ValueError("guarded rows go with one event, one row of each part")
        statement = _append_statement(
            bool(self.topic), view, extra, changed, single=single, premise=premise, upserts=upserts, guarded=guarded
        )
        if single:
            # One event (a draft, an edit): scalar parameters, not arrays of one (cheaper to encode).
            params: list[Any] = _EVENTS_IN.row(rows[0])
            if self.topic:
                params += _OUTBOX_IN.row(_outbox_rows(self.topic, messages)[0])
            for part in parts:
                if part is not None:
                    params += part.scalars()
            for guarded_row in guarded:
                params += guarded_row.scalars()
        else:
            params = _EVENTS_IN.arrays(rows)
            if self.topic:
                params += _OUTBOX_IN.arrays(_outbox_rows(self.topic, messages))
            for part in parts:
                if part is not None:
                    params += part.arrays()
        if premise is not None:
            params += premise.params
        try:
            written = await pgdirect.fetch(session, statement, *params, begin=begin)
        except IntegrityError as exc:
            first = appends[0]
            raise ConcurrencyConflict(first.stream_id, first.expected_version) from exc
        if premise is not None and not written and rows:
            raise premise.failed()
        if guarded and not written and rows:
            # A guarded row was not as the command read it: nothing was written (every part waits on the guards).
            raise ConcurrencyConflict(appends[0].stream_id, appends[0].expected_version)
        positions = {event_id: position for event_id, position in written}
        return [_with_position(r, positions[r.event_id]) for prepared in appends for r in prepared.recorded]

    async def load(
        self, session: AsyncSession | pgdirect.Direct, stream_id: str, *, after_version: int = 0
    ) -> list[RecordedEvent]:
        """A stream's events after `after_version` (on asyncpg straight through the driver: a read, it needs
        no transaction of its own)."""
        if pgdirect.on_asyncpg(session):
            rows = await pgdirect.fetch(session, _LOAD, stream_id, after_version, begin=False)
            return [_read(row, self.source) for row in rows]
        assert isinstance(session, AsyncSession)
        query = (
            select(*_COLUMNS)
            .where(events.c.stream_id == stream_id, events.c.version > after_version)
            .order_by(events.c.version)
        )
        return [_read(row, self.source) for row in await session.execute(query)]

    async def load_first(self, session: AsyncSession, stream_id: str) -> RecordedEvent | None:
        """A stream's first event (None: the stream has none)."""
        query = select(*_COLUMNS).where(events.c.stream_id == stream_id, events.c.version == 1)
        row = (await session.execute(query)).first()
        return _read(row, self.source) if row is not None else None

    async def load_after_each(
        self, session: AsyncSession | pgdirect.Direct, after: dict[str, int]
    ) -> dict[str, list[RecordedEvent]]:
        """Several streams' events, each after its own version, in one statement (as `load` one by one would
        read each; on asyncpg straight through the driver, a read that needs no transaction of its own)."""
        found: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in after}
        if pgdirect.on_asyncpg(session):
            listed = _LOAD_AFTER_LISTED.get(len(after))
            if listed is not None:
                rows = await pgdirect.fetch(session, listed, *(x for pair in after.items() for x in pair), begin=False)
            else:
                rows = await pgdirect.fetch(session, _LOAD_AFTER_EACH, list(after), list(after.values()), begin=False)
        else:
            assert isinstance(session, AsyncSession)
            wanted = [and_(events.c.stream_id == i, events.c.version > v) for i, v in after.items()]
            query = select(*_COLUMNS).where(or_(*wanted)).order_by(events.c.stream_id, events.c.version)
            rows = list(await session.execute(query))
        for row in rows:
            event = _read(row, self.source)
            found[event.stream_id].append(event)
        return found

    async def load_many(
        self, session: AsyncSession, stream_ids: Sequence[str]
    ) -> dict[str, tuple[Snapshot | None, list[RecordedEvent]]]:
        """Several streams at once, each as its snapshot (if any) and its events after it, in two statements
        per thousand streams (a subscription's poll loads every aggregate its events name this way)."""
        found: dict[str, tuple[Snapshot | None, list[RecordedEvent]]] = {}
        ids = sorted(set(stream_ids))
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            taken = {
                row.stream_id: Snapshot(row.version, row.state)
                for row in await session.execute(
                    select(snapshots.c.stream_id, snapshots.c.version, snapshots.c.state).where(
                        snapshots.c.stream_id.in_(chunk)
                    )
                )
            }
            # After the versions of the snapshots just read (not a subquery: one taken since would skip events).
            plain = [stream_id for stream_id in chunk if stream_id not in taken]
            wanted: list[ColumnElement[bool]] = [events.c.stream_id.in_(plain)] if plain else []
            wanted += [and_(events.c.stream_id == i, events.c.version > s.version) for i, s in taken.items()]
            query = select(*_COLUMNS).where(or_(*wanted)).order_by(events.c.stream_id, events.c.version)
            loaded: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in chunk}
            for row in await session.execute(query):
                event = _read(row, self.source)
                loaded[event.stream_id].append(event)
            for stream_id in chunk:
                found[stream_id] = (taken.get(stream_id), loaded[stream_id])
        return found

    async def last_event_ids(self, session: AsyncSession, stream_ids: Sequence[str]) -> dict[str, str]:
        """Each stream's last event's id (streams with no event are left out), a statement per thousand: what a
        state held since an earlier transaction is checked against (`HeldStates`). Event ids are never reused,
        so an equal id means no event was added since, not even one of a transaction rolled back since."""
        found: dict[str, str] = {}
        ids = sorted(set(stream_ids))
        for start in range(0, len(ids), 1000):
            latest = (
                select(events.c.stream_id, func.max(events.c.version).label("version"))
                .where(events.c.stream_id.in_(ids[start : start + 1000]))
                .group_by(events.c.stream_id)
                .subquery()
            )
            last = events.join(
                latest, and_(events.c.stream_id == latest.c.stream_id, events.c.version == latest.c.version)
            )
            for stream_id, event_id in await session.execute(
                select(events.c.stream_id, events.c.event_id).select_from(last)
            ):
                found[stream_id] = event_id
        return found

    async def read_all(
        self, session: AsyncSession, *, after_position: int = 0, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The service's whole history in commit-position order, a page at a time."""
        query = select(*_COLUMNS).where(events.c.position > after_position).order_by(events.c.position).limit(limit)
        return [_read(row, self.source) for row in await session.execute(query)]

    async def stream_all(
        self, session: AsyncSession, *, page: int = 5000, read_ahead: bool = False
    ) -> AsyncGenerator[list[RecordedEvent], None]:
        """The whole history in commit-position order, a page at a time, from one read (a replay).

        On PostgreSQL a server-side cursor on the session's asyncpg connection, without SQLAlchemy's result
        processing; with `read_ahead` the next page is asked for before this one is handed out, so the
        database reads it while the caller folds (only for a caller that sends no statement of its own on
        the session meanwhile). Elsewhere `read_all`, page by page.
        """
        connection = await asyncpg_connection(session)
        if connection is None:
            position = 0
            while rows := await self.read_all(session, after_position=position, limit=page):
                position = rows[-1].position or position
                yield rows
            return
        cursor = await connection.cursor(_READ_ALL)
        if not read_ahead:
            while rows := await cursor.fetch(page):
                yield [_read(row, self.source) for row in rows]
            return
        ahead = asyncio.ensure_future(cursor.fetch(page))
        try:
            while rows := await ahead:
                ahead = asyncio.ensure_future(cursor.fetch(page))
                await asyncio.sleep(0)  # sends the next FETCH; the database reads it during the fold
                yield [_read(row, self.source) for row in rows]
        finally:
            with contextlib.suppress(Exception):
                await ahead  # closed early: the connection goes back with no statement in flight

    async def count(self, session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(events))).scalar_one())

    async def load_snapshot(self, session: AsyncSession | pgdirect.Direct, stream_id: str) -> Snapshot | None:
        if pgdirect.on_asyncpg(session):
            found = await pgdirect.fetch(session, _SNAPSHOT, stream_id, begin=False)
            return Snapshot(found[0][0], found[0][1]) if found else None
        assert isinstance(session, AsyncSession)
        row = (await session.execute(select(snapshots).where(snapshots.c.stream_id == stream_id))).mappings().first()
        return Snapshot(row["version"], row["state"]) if row else None

    async def save_snapshot(
        self, session: AsyncSession, stream_id: str, version: int, state: dict[str, Any] | str
    ) -> None:
        """Keep the state (its JSON text, or a JSON-ready dict) as the stream's snapshot at `version`."""
        await session.execute(snapshots.delete().where(snapshots.c.stream_id == stream_id))
        await session.execute(
            insert(snapshots).values(
                stream_id=stream_id,
                version=version,
                state=state if isinstance(state, str) else dumps(state).decode(),
                taken_at=datetime.now(UTC),
            )
        )


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """An event as the relay will send it: key, headers (signed when the service has a key) and value."""

    key: str
    headers: dict[str, bytes]
    value: bytes

    @property
    def size(self) -> int:
        """Bytes on the wire, near enough to compare with the broker's limit (record overhead is tens of bytes)."""
        headers = self.headers
        return len(self.key) + len(self.value) + sum(map(len, headers)) + sum(map(len, headers.values())) + 64


def kafka_record(event: RecordedEvent, signer: EventSigner | None) -> KafkaRecord:
    message = to_kafka(event)
    # the signer answers a new dict (one copy of the headers, not two)
    headers = signer.sign(message.headers, message.value) if signer is not None else dict(message.headers)
    return KafkaRecord(event.stream_id, headers, message.value)


def new_event_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as text, as `str(uuid.uuid4())` writes them, from one read of the
    system's random source (an append makes one per event it records)."""
    ids = []
    random = os.urandom(16 * count)
    for start in range(0, 16 * count, 16):
        raw = int.from_bytes(random[start : start + 16], "big")
        text = f"{raw & _UUID4_CLEAR | _UUID4_SET:032x}"
        ids.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return ids


#: RFC 4122 version 4: the version nibble 4, the variant bits 10 (as `uuid.UUID(version=4)` sets them).
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (4 << 76) | (0x8000 << 48)


async def enqueue(
    session: AsyncSession, topic: str, recorded: Sequence[RecordedEvent], signer: EventSigner | None
) -> None:
    """Write Kafka-ready (signed) records to the outbox in the caller's transaction."""
    await _insert_outbox(session, topic, [kafka_record(event, signer) for event in recorded])


async def _insert_outbox(session: AsyncSession, topic: str, records: Sequence[KafkaRecord]) -> None:
    await session.execute(insert(outbox), _outbox_rows(topic, records))


def _outbox_rows(topic: str, records: Sequence[KafkaRecord]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "topic": topic,
            "key": record.key,
            "headers": dumps({k: v.decode() for k, v in record.headers.items()}).decode(),
            "value": record.value,
            "created_at": now,
        }
        for record in records
    ]


#: The columns of an event row, in `_row`'s order.
_EVENT_COLUMNS = (
    "event_id",
    "stream_id",
    "stream_type",
    "version",
    "type",
    "data",
    "actor",
    "correlation_id",
    "causation_id",
    "traceparent",
    "occurred_at",
)
_OUTBOX_COLUMNS = ("topic", "key", "headers", "value", "created_at")
_EVENTS_IN = pgdirect.ArrayColumns(events, _EVENT_COLUMNS)
_OUTBOX_IN = pgdirect.ArrayColumns(outbox, _OUTBOX_COLUMNS)
#: Events and their outbox records in one statement (one round trip, prepared once per connection);
#: both keep the order given, so the relay publishes a stream's events in sequence.
_APPEND_WITH_OUTBOX = (
    f"WITH appended AS ({pgdirect.unnest_insert(events, _EVENT_COLUMNS, returning='event_id, position')}), "
    f"queued AS ({pgdirect.unnest_insert(outbox, _OUTBOX_COLUMNS, first=len(_EVENT_COLUMNS) + 1)}) "
    "SELECT event_id, position FROM appended"
)
_APPEND = pgdirect.unnest_insert(events, _EVENT_COLUMNS, returning="event_id, position")
_STATEMENTS: dict[tuple[Any, ...], str] = {}


def _append_statement(
    outbox_too: bool,
    view: NewViewRows | None,
    extra: ExtraRows | None = None,
    changed: ChangedViewRows | None = None,
    *,
    single: bool = False,
    premise: Premise | None = None,
    upserts: Sequence[UpsertRows] = (),
    guarded: Sequence[GuardedRow] = (),
) -> str:
    """Events (and outbox records, a view's new or changed rows, another table's rows, views' upserted rows) in
    one statement;
    its text is fixed per view, table and columns, so asyncpg prepares it once per connection. `single`:
    one row of each, as scalar parameters (`…scalars()`); else one array per column (`…arrays()`).
    `premise` (`Premise.exists`, its parameters last): every part writes only when it finds no row."""
    if (
        view is None and extra is None and changed is None and not single and premise is None and not upserts
        and not guarded
    ):  # fmt: skip
        return _APPEND_WITH_OUTBOX if outbox_too else _APPEND
    key = (
        outbox_too,
        single,
        *((premise.exists, len(premise.params)) if premise is not None else ((), ())),
        *((view.table.name, view.names, view.positions) if view is not None else ((), (), ())),
        *((changed.table.name, changed.key, changed.names) if changed is not None else ((), (), ())),
        *((extra.table.name, extra.names) if extra is not None else ((), ())),
        tuple((u.table.name, u.key, u.names) for u in upserts),
        tuple((g.table.name, g.key, g.names, g.guard, len(g.params)) for g in guarded),
    )
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = _built_statement(
            outbox_too, view, extra, changed, single=single, premise=premise, upserts=upserts, guarded=guarded
        )
    return found


def _built_statement(
    outbox_too: bool,
    view: NewViewRows | None,
    extra: ExtraRows | None,
    changed: ChangedViewRows | None,
    *,
    single: bool,
    premise: Premise | None,
    upserts: Sequence[UpsertRows] = (),
    guarded: Sequence[GuardedRow] = (),
) -> str:
    """`_append_statement`'s text (each shape built once)."""
    inserting = pgdirect.values_insert if single else pgdirect.unnest_insert
    # The premise's query runs once (a CTE), before anything is written; each part writes only if it found nothing.
    # A guarded row's UPDATE runs before every other part (they read its RETURNING): each writes only if it found
    # its row as guarded (checked again on the row's newest version when it waited for another writer's lock).
    conditions = ["NOT (SELECT broken FROM premise)"] if premise is not None else []
    conditions += [f"EXISTS (SELECT FROM guarded{n})" for n in range(len(guarded))]
    where = " AND ".join(conditions)
    appended = inserting(events, _EVENT_COLUMNS, returning="event_id, position", where=where)
    parts = [f"appended AS ({appended})"]
    first = len(_EVENT_COLUMNS) + 1
    if outbox_too:
        parts.append(f"queued AS ({inserting(outbox, _OUTBOX_COLUMNS, first=first, where=where)})")
        first += len(_OUTBOX_COLUMNS)
    if view is not None:
        parts.append(f"viewed AS ({_view_insert(view, first, single=single, where=where)})")
        first += len(view.names) + 1
    if changed is not None:
        updating = pgdirect.values_update if single else pgdirect.unnest_update
        parts.append(f"rewritten AS ({updating(changed.table, changed.key, changed.names, first=first, where=where)})")
        first += len(changed.names) + 1
    if extra is not None:
        parts.append(f"kept AS ({inserting(extra.table, extra.names, first=first, where=where)})")
        first += len(extra.names)
    for n, upsert in enumerate(upserts):
        names = upsert.names
        quoted = [pgdirect.quoted((name,)) for name in names if name != upsert.key]
        rewritten = ", ".join(f"{name} = EXCLUDED.{name}" for name in quoted)
        upserting = inserting(upsert.table, names, first=first, where=where)
        conflict = f" ON CONFLICT ({pgdirect.quoted((upsert.key,))}) DO UPDATE SET {rewritten}"
        parts.append(f"upserted{n} AS ({upserting}{conflict})")
        first += len(names)
    for n, guarded_row in enumerate(guarded):
        # Written only under the premise (when there is one), as every other part.
        parts.insert(n, f"guarded{n} AS ({guarded_row.clause(first, conditions[0] if premise is not None else '')})")
        first += guarded_row.width
    if premise is not None:
        query = premise.exists.format(*(f"${n}" for n in range(first, first + len(premise.params))))
        parts.insert(0, f"premise AS (SELECT EXISTS ({query}) AS broken)")
    return f"WITH {', '.join(parts)} SELECT event_id, position FROM appended"


def _view_insert(view: NewViewRows, first: int, *, single: bool, where: str) -> str:
    """A view's new rows, each with the store position of the event named by its `first_event`."""
    feed = pgdirect.ArrayColumns(view.table, view.names)
    event_id_type = pgdirect.parameter_type(events.c.event_id)
    if single:
        event = f"${first + len(view.names)}::{event_id_type}"
        position_of = f"(SELECT a.position FROM appended AS a WHERE a.event_id = {event})"
        values = [*feed.scalars(first), *(position_of for _ in view.positions)]
        source = ""
    else:
        aliases = [f"c{i}" for i in range(len(view.names))]
        position_of = "(SELECT a.position FROM appended AS a WHERE a.event_id = u.e)"
        values = [*(f"u.{a}" for a in aliases), *(position_of for _ in view.positions)]
        source = (
            f" FROM unnest({feed.casts(first)}, ${first + len(view.names)}::{event_id_type}[]) "
            f"AS u({', '.join(aliases)}, e)"
        )
    return (
        f"INSERT INTO {view.table.name} ({pgdirect.quoted((*view.names, *view.positions))}) "
        f"SELECT {', '.join(values)}{source}" + (f" WHERE {where}" if where else "")
    )


async def _append_on_asyncpg(
    session: AsyncSession, rows: list[dict[str, Any]], topic: str | None, messages: Sequence[KafkaRecord]
) -> list[int]:
    """The events' positions, after one statement wrote them (and their outbox records when there is a topic)."""
    arrays = _EVENTS_IN.arrays(rows)
    if topic:
        arrays += _OUTBOX_IN.arrays(_outbox_rows(topic, messages))
        written = await pgdirect.fetch(session, _APPEND_WITH_OUTBOX, *arrays)
    else:
        written = await pgdirect.fetch(session, _APPEND, *arrays)
    positions = {event_id: position for event_id, position in written}
    return [positions[row["event_id"]] for row in rows]


def _row(event: RecordedEvent, payload: bytes) -> dict[str, Any]:
    """The event's row, `payload` its JSON (`payload_bytes`)."""
    return {
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "stream_type": event.stream_type,
        "version": event.sequence,
        "type": event.type,
        "data": payload.decode(),
        "actor": event.actor,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "traceparent": event.traceparent,
        "occurred_at": event.time,
    }


#: The columns an event is read back from, in `_read`'s order (plain tuples, no per-row mapping).
_COLUMNS = (
    events.c.position,
    events.c.event_id,
    events.c.type,
    events.c.stream_id,
    events.c.stream_type,
    events.c.version,
    events.c.occurred_at,
    events.c.data,
    events.c.actor,
    events.c.correlation_id,
    events.c.causation_id,
    events.c.traceparent,
)


_LOAD = (
    f"SELECT {', '.join(column.name for column in _COLUMNS)} FROM {events.name} "
    "WHERE stream_id = $1 AND version > $2 ORDER BY version"
)
_LOAD_AFTER_EACH = (
    f"SELECT {', '.join(f'e.{column.name}' for column in _COLUMNS)} FROM {events.name} e "
    "JOIN unnest($1::text[], $2::int[]) AS a(stream_id, version) ON e.stream_id = a.stream_id "
    "AND e.version > a.version ORDER BY e.stream_id, e.version"
)
#: Up to this many streams `load_after_each` names each in its own parameters (`_load_after_listed`).
_LISTED_STREAMS = 8


def _load_after_listed(count: int) -> str:
    """`_LOAD_AFTER_EACH` for `count` streams named by parameters in a `VALUES` list: the same plan (each stream's
    index range), which PostgreSQL keeps as a generic plan from the sixth execution on. The planner estimates
    `unnest($1)` of a parameter at 10 rows (a custom plan sees the array's length), so with the array it judged
    the generic plan dearer than planning afresh and planned every execution: ~60 µs of a backend's CPU each."""
    pairs = ", ".join(f"(${2 * n + 1}::text, ${2 * n + 2}::int)" for n in range(count))
    return _LOAD_AFTER_EACH.replace("unnest($1::text[], $2::int[])", f"(VALUES {pairs})")


#: `_load_after_listed(n)` by `n` (a statement per count, each prepared once per connection).
_LOAD_AFTER_LISTED = {count: _load_after_listed(count) for count in range(1, _LISTED_STREAMS + 1)}
_SNAPSHOT = f"SELECT version, state FROM {snapshots.name} WHERE stream_id = $1"
_READ_ALL = f"SELECT {', '.join(column.name for column in _COLUMNS)} FROM {events.name} ORDER BY position"


def _recorded(row: Any, source: str) -> RecordedEvent:
    """An event from a row (or row mapping) of `select(events)`, read by column name."""
    mapping = getattr(row, "_mapping", row)
    return _read(tuple(mapping[column.name] for column in _COLUMNS), source)


def _read(row: Any, source: str) -> RecordedEvent:
    """An event from a row of `select(*_COLUMNS)`, read by position (the fast path for whole pages)."""
    return _STORED((*row, source))


#: `RecordedEvent.stored` of a `_COLUMNS` row followed by the store's source (`envelope.stored_reader`).
_STORED = stored_reader(
    (
        *("position", "event_id", "type", "stream_id", "stream_type", "sequence", "time", "text"),
        *("actor", "correlation_id", "causation_id", "traceparent", "source"),
    )
)


def _with_position(event: RecordedEvent, position: int) -> RecordedEvent:
    return event.at_position(position)
