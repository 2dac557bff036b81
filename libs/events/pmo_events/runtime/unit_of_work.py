"""Load → decide → append in one transaction: the write path every command handler follows."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.database import Database
from pmo_events.runtime.store import EventStore, Metadata

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseModel)

#: An inline view updated in the same transaction as the events it reflects.
InlineProjector = Callable[[AsyncSession, RecordedEvent], Awaitable[None]]
#: "Whenever this event is recorded, do that" in the same transaction (an approval initiates a project).
#: It may append to other streams through the unit of work; rebuilds replay projectors, never policies.
Policy = Callable[["UnitOfWork", RecordedEvent], Awaitable[None]]


@dataclass(frozen=True)
class AggregateType(Generic[S]):
    """How to rebuild one kind of aggregate's state from its events (a pure fold)."""

    stream_type: str
    initial: Callable[[str], S]
    evolve: Callable[[S, Event], S]
    state_model: type[S]
    snapshot_every: int = 200


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


class UnitOfWork:
    """One transaction: aggregates loaded, events appended, outbox and inline views written."""

    def __init__(
        self,
        session: AsyncSession,
        store: EventStore,
        meta: Metadata,
        projectors: Sequence[InlineProjector],
        policies: Sequence[Policy] = (),
    ) -> None:
        self.session = session
        self.store = store
        self.meta = meta
        self._projectors = projectors
        self._policies = policies
        self.recorded: list[RecordedEvent] = []

    async def load(self, aggregate: AggregateType[S], stream_id: str) -> Loaded[S]:
        state = aggregate.initial(stream_id)
        version = 0
        snapshot = await self.store.load_snapshot(self.session, stream_id)
        if snapshot is not None:
            state = aggregate.state_model.model_validate(snapshot.state)
            version = snapshot.version
        for recorded in await self.store.load(self.session, stream_id, after_version=version):
            state = aggregate.evolve(state, recorded.decode())
            version = recorded.sequence
        return Loaded(state, version)

    async def append(
        self,
        aggregate: AggregateType[S],
        stream_id: str,
        expected_version: int,
        new_events: Sequence[Event],
        state_after: S | None = None,
    ) -> list[RecordedEvent]:
        recorded = await self.store.append(
            self.session,
            stream_id=stream_id,
            stream_type=aggregate.stream_type,
            expected_version=expected_version,
            new_events=new_events,
            meta=self.meta,
        )
        for event in recorded:
            for project in self._projectors:
                await project(self.session, event)
        self.recorded.extend(recorded)
        new_version = expected_version + len(recorded)
        if state_after is not None and _crossed(expected_version, new_version, aggregate):
            await self.store.save_snapshot(self.session, stream_id, new_version, state_after.model_dump(mode="json"))
        for event in recorded:
            for react in self._policies:
                await react(self, event)
        return recorded

    async def open_stream(self, stream_type: str, stream_id: str, new_events: Sequence[Event]) -> list[RecordedEvent]:
        """A new stream of its own for facts that need no aggregate to stay consistent (a lesson, a score)."""
        return await self.append(AggregateType(stream_type, _no_state, _no_change, BaseModel), stream_id, 0, new_events)


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

    @asynccontextmanager
    async def unit_of_work(self, meta: Metadata) -> AsyncIterator[UnitOfWork]:
        async with self.db.transaction() as session:
            uow = UnitOfWork(session, self.store, meta, self.projectors, self.policies)
            yield uow
        if uow.recorded and self._on_commit is not None:
            # Committed: nothing after this line may turn the command's answer into a 5xx (the relay's
            # poll finds the events anyway when the nudge fails).
            try:
                self._on_commit()
            except Exception:
                log.exception("the after-commit hook failed; the events are stored and will be published")

    @asynccontextmanager
    async def in_session(self, session: AsyncSession, meta: Metadata) -> AsyncIterator[UnitOfWork]:
        """A unit of work inside a transaction someone else owns (a subscription's batch)."""
        uow = UnitOfWork(session, self.store, meta, self.projectors, self.policies)
        yield uow
