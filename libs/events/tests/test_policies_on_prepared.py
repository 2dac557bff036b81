"""Policies that declare what they react to (`reacts_to`) and run on a `write_at_end` append's prepared events
before the write (`on_prepared`), and rows rewritten with the last write under a guard (`UnitOfWork.guard_at_end`).

On PostgreSQL a unit of work whose policies all may run on the prepared events stays one statement with no
session; a policy's error writes nothing; a guarded row not as guarded makes the whole statement write nothing
(`ConcurrencyConflict`). On SQLite the same appends are ordinary ones and the policies run after them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import (
    CommandRuntime,
    ConcurrencyConflict,
    EventStore,
    Metadata,
    UnitOfWork,
    fold,
    on_prepared,
    reacts_to,
)
from pmo_events.runtime.store import GuardedRow

from .support import COUNTER, Counter, Incremented, migrated
from .test_rebuild import counter_rows, counter_view, stream_metadata
from .test_write_at_end import Statements

pytestmark = pytest.mark.integration

KEPT = replace(COUNTER, keep=True)


class Refused(Exception):
    pass


class Elsewhere(Event):
    service = "test"
    event_name = "ElsewhereHappened"


class Seen:
    """What the policies saw: the event's position (None: not written yet) and the counter's state they loaded."""

    def __init__(self) -> None:
        self.prepared: list[tuple[int | None, int]] = []
        self.other_calls = 0
        self.refuse = False


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[CommandRuntime, Statements, Seen]]:
    db = await migrated(database_url, tmp_path)
    async with db.engine.begin() as conn:
        await conn.run_sync(stream_metadata.create_all)
    statements = Statements()
    if db.is_postgres:

        @event.listens_for(db.engine.sync_engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(statements)

        await db.dispose()
    seen = Seen()

    @on_prepared
    @reacts_to(Incremented)
    async def on_increment(uow: UnitOfWork, recorded: RecordedEvent) -> None:
        state = (await uow.load(KEPT, recorded.stream_id)).state
        seen.prepared.append((recorded.position, state.total))
        if seen.refuse:
            raise Refused(recorded.stream_id)

    @reacts_to(Elsewhere)  # never recorded here
    async def elsewhere(_uow: UnitOfWork, _recorded: RecordedEvent) -> None:
        seen.other_calls += 1

    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    policies = [on_increment, elsewhere]
    yield CommandRuntime(db, store, projectors=[counter_view], policies=policies), statements, seen
    await db.dispose()


async def _created(commands: CommandRuntime, stream: str, by: int) -> None:
    async with commands.unit_of_work(Metadata()) as uow:
        new = [Incremented(counter_id=stream, by=by)]
        await uow.append(KEPT, stream, 0, new, fold(KEPT, Counter(counter_id=stream), new), write_at_end=True)


async def _total(commands: CommandRuntime, stream: str) -> int | None:
    async with commands.db.sessions() as session:
        return (await session.execute(select(counter_rows.c.total).where(counter_rows.c.counter_id == stream))).scalar()


async def test_a_policy_on_the_prepared_event_sees_the_state_after_and_the_command_stays_one_statement(
    runtime: tuple[CommandRuntime, Statements, Seen],
) -> None:
    commands, statements, seen = runtime
    await _created(commands, str(uuid.uuid4()), 1)  # asyncpg looks the types up the first time
    await statements.clear()
    seen.prepared.clear()
    stream = str(uuid.uuid4())
    await _created(commands, stream, 4)
    if commands.db.is_postgres:
        assert await statements.settled() == ["WITH"], statements.seen  # no BEGIN, no load, no COMMIT
        assert seen.prepared == [(None, 4)]  # before the write, on the append's state
    else:
        assert seen.prepared[0][1] == 4 and seen.prepared[0][0] is not None  # after the ordinary append
    assert seen.other_calls == 0  # it declared other types: never called
    assert await _total(commands, stream) == 4


async def test_a_policy_that_refuses_the_prepared_event_writes_nothing(
    runtime: tuple[CommandRuntime, Statements, Seen],
) -> None:
    commands, _, seen = runtime
    seen.refuse = True
    stream = str(uuid.uuid4())
    with pytest.raises(Refused):
        await _created(commands, stream, 2)
    assert await _total(commands, stream) is None
    async with commands.db.sessions() as session:
        assert await commands.store.load(session, stream) == []


async def test_a_guarded_row_goes_with_the_event_and_one_not_as_guarded_writes_nothing(
    runtime: tuple[CommandRuntime, Statements, Seen],
) -> None:
    commands, statements, _ = runtime
    if not commands.db.is_postgres:
        pytest.skip("PostgreSQL: a guarded row is written in the appends' one statement")
    sibling = str(uuid.uuid4())
    await _created(commands, sibling, 5)
    await statements.clear()

    def guarded(total: int, was: int) -> GuardedRow:
        row = {"counter_id": sibling, "total": total}
        return GuardedRow(counter_rows, "counter_id", row, "total = {0}::INTEGER", (was,))

    first = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        uow.guard_at_end(guarded(6, 5))
        new = [Incremented(counter_id=first, by=1)]
        await uow.append(KEPT, first, 0, new, fold(KEPT, Counter(counter_id=first), new), write_at_end=True)
    assert await statements.settled() == ["WITH"], statements.seen
    assert (await _total(commands, first), await _total(commands, sibling)) == (1, 6)
    second = str(uuid.uuid4())
    with pytest.raises(ConcurrencyConflict):
        async with commands.unit_of_work(Metadata()) as uow:
            uow.guard_at_end(guarded(7, 5))  # the row is at 6 now: not as guarded
            new = [Incremented(counter_id=second, by=1)]
            await uow.append(KEPT, second, 0, new, fold(KEPT, Counter(counter_id=second), new), write_at_end=True)
    assert (await _total(commands, second), await _total(commands, sibling)) == (None, 6)
    async with commands.db.sessions() as session:
        assert await commands.store.load(session, second) == []
