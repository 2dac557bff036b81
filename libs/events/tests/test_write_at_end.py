"""`UnitOfWork.append(..., write_at_end=True)`: the appends of a unit of work sent together when it ends.

On PostgreSQL a unit of work whose only write is such an append (events, outbox records and a stream
view's new rows) sends ONE statement and no BEGIN/COMMIT; everything a command guarantees still holds:
all or nothing, the optimistic-concurrency conflict, the view row at its draft's position. On SQLite
the same calls are ordinary appends (the same assertions on what is stored)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from pmo_events.contracts.base import Event
from pmo_events.runtime import (
    AggregateType,
    CommandRuntime,
    ConcurrencyConflict,
    EventStore,
    Metadata,
    Premise,
    PremiseFailed,
    fold,
)
from pmo_events.runtime.schema import events, outbox

from .support import COUNTER, Counter, Incremented, evolve, migrated
from .test_rebuild import counter_rows, counter_view, stream_metadata

pytestmark = pytest.mark.integration


class Statements:
    """The statements PostgreSQL receives (asyncpg's query logger on every pooled connection)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.texts: list[str] = []

    def __call__(self, record: Any) -> None:
        self.seen.append(record.query.split(None, 1)[0].upper().rstrip(";"))
        self.texts.append(record.query)

    async def clear(self) -> None:
        await self.settled()
        self.seen.clear()
        self.texts.clear()

    async def settled(self) -> list[str]:
        """What was sent so far: asyncpg hands its query loggers each statement through `call_soon`."""
        await asyncio.sleep(0)
        return self.seen


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[CommandRuntime, Statements]]:
    db = await migrated(database_url, tmp_path)
    async with db.engine.begin() as conn:
        await conn.run_sync(stream_metadata.create_all)
    statements = Statements()
    if db.is_postgres:

        @event.listens_for(db.engine.sync_engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(statements)

        await db.dispose()  # connections made from now on log their statements
    yield (
        CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"), projectors=[counter_view]),
        statements,
    )
    await db.dispose()


async def _count(runtime: CommandRuntime, table: Any) -> int:
    async with runtime.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_a_create_is_one_statement_with_its_outbox_and_view_row(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, statements = runtime
    warm_up = str(uuid.uuid4())  # asyncpg looks the array types up the first time it prepares the statement
    async with commands.unit_of_work(Metadata()) as uow:
        increments = [Incremented(counter_id=warm_up, by=1), Incremented(counter_id=warm_up, by=1)]
        await uow.append(COUNTER, warm_up, 0, increments, write_at_end=True)  # two events: arrays
    await statements.clear()
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata(actor="a")) as uow:
        returned = await uow.append(
            COUNTER, stream, 0, [Incremented(counter_id=stream, by=2), Incremented(counter_id=stream, by=3)],
            write_at_end=True,
        )  # fmt: skip
    if commands.db.is_postgres:
        assert await statements.settled() == ["WITH"], statements.seen  # no BEGIN, no COMMIT, one round trip
        assert returned[0].position is None  # sent at the end; `recorded` has the positions
    assert [e.sequence for e in uow.recorded] == [1, 2] and all(e.position for e in uow.recorded)
    async with commands.db.sessions() as session:
        row = (await session.execute(select(counter_rows).where(counter_rows.c.counter_id == stream))).one()
        stored = await commands.store.load(session, stream)
    assert (row.total, row.version) == (5, 2)
    assert row.first_position == stored[0].position == uow.recorded[0].position
    assert await _count(commands, outbox) == 4


async def test_a_conflict_at_the_end_is_a_concurrency_conflict_and_stores_nothing(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, _ = runtime
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
    other = str(uuid.uuid4())
    with pytest.raises(ConcurrencyConflict):
        async with commands.unit_of_work(Metadata()) as uow:
            # Two streams in one statement: the new one must not land when the other conflicts.
            await uow.append(COUNTER, other, 0, [Incremented(counter_id=other, by=7)], write_at_end=True)
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=9)], write_at_end=True)
    assert await _count(commands, events) == 1
    assert await _count(commands, outbox) == 1
    async with commands.db.sessions() as session:
        assert [tuple(r) for r in await session.execute(select(counter_rows.c.counter_id, counter_rows.c.total))] == [
            (stream, 1)
        ]


async def test_a_failure_after_the_writes_rolls_them_back(runtime: tuple[CommandRuntime, Statements]) -> None:
    commands, _ = runtime
    stream = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with commands.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
            await uow.load(COUNTER, stream)  # sends the deferred append inside the transaction
            raise RuntimeError("the command failed after its writes were sent")
    assert await _count(commands, events) == 0
    assert await _count(commands, outbox) == 0
    assert await _count(commands, counter_rows) == 0


async def test_a_load_after_a_deferred_append_sees_it_and_a_continued_stream_is_written_in_the_transaction(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, statements = runtime
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
        loaded = await uow.load(COUNTER, stream)  # sends the pending append first: reads its own writes
        assert (loaded.state.total, loaded.version) == (1, 1)
        await statements.clear()
        # A stream that goes on, in a transaction begun: its view row is read, then rewritten in the statement.
        await uow.append(COUNTER, stream, 1, [Incremented(counter_id=stream, by=4)], write_at_end=True)
    if commands.db.is_postgres:
        assert (await statements.settled())[-1] == "COMMIT" and "WITH" in statements.seen, statements.seen
    async with commands.db.sessions() as session:
        row = (await session.execute(select(counter_rows.c.total, counter_rows.c.version))).one()
    assert tuple(row) == (5, 2)
    assert await _count(commands, outbox) == 2


async def test_with_a_transaction_begun_the_statement_runs_inside_it(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, statements = runtime
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    with pytest.raises(ConcurrencyConflict):
        async with commands.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, first, 0, [Incremented(counter_id=first, by=1)])  # begins the transaction
            await uow.append(COUNTER, second, 0, [Incremented(counter_id=second, by=1)], write_at_end=True)
            await uow.append(COUNTER, second, 0, [Incremented(counter_id=second, by=2)], write_at_end=True)
    # The conflict came from the last statement: the first, immediate append is rolled back with it.
    assert await _count(commands, events) == 0
    assert await _count(commands, counter_rows) == 0
    if commands.db.is_postgres:
        assert (await statements.settled())[-1] == "ROLLBACK", statements.seen


# A unit of work on PostgreSQL opens its session only when asked: until then its reads (`uow.reads`) and its
# last write go to a pooled connection it borrowed without one, given back when it ends.


async def _backend(uow: Any) -> int:
    from pmo_events.runtime import pgdirect

    return int((await pgdirect.fetch(uow.reads, "SELECT pg_backend_pid()", begin=False))[0][0])


async def test_a_read_and_a_last_write_need_no_session_and_the_connection_is_lent_again(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, statements = runtime
    if not commands.db.is_postgres:
        async with commands.unit_of_work(Metadata()) as uow:
            assert uow.reads is uow.session  # SQLite: the session, in the transaction it began
        return
    pids = []
    for _ in range(3):
        stream = str(uuid.uuid4())
        async with commands.unit_of_work(Metadata()) as uow:
            pids.append(await _backend(uow))
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
            assert uow._session is None
        assert uow.recorded[0].position is not None
    assert len(set(pids)) == 1  # given back idle and lent to the next unit of work
    await statements.clear()
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await _backend(uow)
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=2)], write_at_end=True)
    assert await statements.settled() == ["SELECT", "WITH"]  # no BEGIN, no COMMIT, no reset on give-back
    assert await _count(commands, events) == 4 and await _count(commands, outbox) == 4
    assert await _count(commands, counter_rows) == 4


async def test_a_conflict_on_the_lent_connection_stores_nothing_and_the_connection_serves_again(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, _ = runtime
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
    for _ in range(2):
        with pytest.raises(ConcurrencyConflict):
            async with commands.unit_of_work(Metadata()) as uow:
                await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=5)], write_at_end=True)
    async with commands.unit_of_work(Metadata()) as uow:
        loaded = await uow.load(COUNTER, stream)
        await uow.append(COUNTER, stream, loaded.version, [Incremented(counter_id=stream, by=2)], write_at_end=True)
    assert await _count(commands, events) == 2 and await _count(commands, outbox) == 2
    async with commands.db.sessions() as session:
        assert tuple((await session.execute(select(counter_rows.c.total, counter_rows.c.version))).one()) == (3, 2)


async def test_a_session_asked_for_after_a_lent_read_writes_in_its_transaction_and_rolls_back_whole(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, _ = runtime
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with commands.unit_of_work(Metadata()) as uow:
            if commands.db.is_postgres:
                await _backend(uow)
            await uow.append(COUNTER, first, 0, [Incremented(counter_id=first, by=1)])  # opens the session
            await uow.append(COUNTER, second, 0, [Incremented(counter_id=second, by=1)], write_at_end=True)
            await uow.load(COUNTER, second)  # sends it, in the session's transaction
            raise RuntimeError("the command failed after its writes")
    assert await _count(commands, events) == 0 and await _count(commands, counter_rows) == 0
    async with commands.unit_of_work(Metadata()) as uow:
        if commands.db.is_postgres:
            await _backend(uow)
        await uow.append(COUNTER, first, 0, [Incremented(counter_id=first, by=1)])
        await uow.append(COUNTER, second, 0, [Incremented(counter_id=second, by=1)], write_at_end=True)
    assert await _count(commands, events) == 2 and await _count(commands, outbox) == 2
    assert await _count(commands, counter_rows) == 2


async def test_a_statement_cancelled_on_the_lent_connection_is_not_lent_again(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, _ = runtime
    if not commands.db.is_postgres:
        pytest.skip("a connection is lent on PostgreSQL only")
    async with commands.unit_of_work(Metadata()) as uow:
        kept = await _backend(uow)
    started = asyncio.Event()

    async def slow() -> None:
        from pmo_events.runtime import pgdirect

        async with commands.unit_of_work(Metadata()) as uow:
            reads = uow.reads
            waiting = asyncio.ensure_future(pgdirect.fetch(reads, "SELECT pg_sleep(2)", begin=False))
            await asyncio.sleep(0.2)
            started.set()
            await waiting

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with commands.unit_of_work(Metadata()) as uow:
        assert await _backend(uow) != kept  # the cancelled one was closed, not kept
        stream = str(uuid.uuid4())
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
    assert await _count(commands, events) == 1
    from sqlalchemy import text

    for _ in range(100):  # closed by the client: its backend ends once its sleep is over and it finds no client
        async with commands.db.sessions() as session:
            query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            if (await session.execute(query, {"pid": kept})).scalar_one() == 0:
                break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the cancelled statement's connection is still open")


async def test_a_lost_lent_connection_invalidates_the_pool_and_the_next_unit_of_work_reconnects(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, _ = runtime
    if not commands.db.is_postgres:
        pytest.skip("a connection is lent on PostgreSQL only")
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    async with commands.unit_of_work(Metadata()) as uow:
        lost = await _backend(uow)
    async with commands.db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lost})
        await conn.commit()
    with pytest.raises(DBAPIError) as raised:
        async with commands.unit_of_work(Metadata()) as uow:
            await _backend(uow)
    assert raised.value.connection_invalidated
    async with commands.unit_of_work(Metadata()) as uow:
        assert await _backend(uow) != lost


# `insert_at_end`: another table's row (an idempotency key and its answer) goes with the last write.


def _key_row(key: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "principal": "someone",
        "key": key,
        "request_hash": "h" * 64,
        "status_code": 201,
        "headers": "{}",
        "body": b'{"ok": true}',
        "created_at": datetime.now(UTC),
    }


async def test_a_row_inserted_at_end_goes_in_the_appends_statement_and_fails_it_whole(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    from pmo_events.runtime.schema import idempotency_keys

    commands, statements = runtime
    warm_up = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, warm_up, 0, [Incremented(counter_id=warm_up, by=1)], write_at_end=True)
        uow.insert_at_end(idempotency_keys, _key_row("warm-up"))
    await statements.clear()
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
        uow.insert_at_end(idempotency_keys, _key_row("k1"))
    if commands.db.is_postgres:
        assert await statements.settled() == ["WITH"], statements.seen  # one statement, no BEGIN/COMMIT
    async with commands.db.sessions() as session:
        stored = (await session.execute(select(idempotency_keys).where(idempotency_keys.c.key == "k1"))).one()
    assert (stored.status_code, bytes(stored.body)) == (201, b'{"ok": true}')
    assert stored.created_at.tzinfo is not None
    # The same key again: the row's primary key refuses it, and the events of its statement go with it.
    from sqlalchemy.exc import IntegrityError

    other = str(uuid.uuid4())
    with pytest.raises(ConcurrencyConflict if commands.db.is_postgres else IntegrityError):
        async with commands.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, other, 0, [Incremented(counter_id=other, by=1)], write_at_end=True)
            uow.insert_at_end(idempotency_keys, _key_row("k1"))
    assert await _count(commands, events) == 2 and await _count(commands, outbox) == 2
    assert await _count(commands, counter_rows) == 2 and await _count(commands, idempotency_keys) == 2


async def test_a_row_inserted_at_end_goes_alone_or_in_the_sessions_transaction(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    from sqlalchemy.exc import IntegrityError

    from pmo_events.runtime.schema import idempotency_keys

    commands, _ = runtime
    async with commands.unit_of_work(Metadata()) as uow:
        uow.insert_at_end(idempotency_keys, _key_row("alone"))  # no appends: the row alone
    stream = str(uuid.uuid4())
    with pytest.raises(IntegrityError):
        async with commands.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)])  # in the session
            uow.insert_at_end(idempotency_keys, _key_row("alone"))
    assert await _count(commands, events) == 0 and await _count(commands, counter_rows) == 0
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)])
        uow.insert_at_end(idempotency_keys, _key_row("with-session"))
    assert await _count(commands, events) == 1 and await _count(commands, idempotency_keys) == 2


# A stream that goes on (an edit): loaded, then its events, outbox records and rewritten view row in one statement.


async def test_a_continued_stream_is_loaded_and_written_without_a_session(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, statements = runtime
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
    for by in (2, 3):  # the second time, every statement is prepared already
        await statements.clear()
        async with commands.unit_of_work(Metadata()) as uow:
            loaded = await uow.load(COUNTER, stream)
            await uow.append(
                COUNTER, stream, loaded.version, [Incremented(counter_id=stream, by=by)], write_at_end=True
            )
            assert uow._session is None or not commands.db.is_postgres
    if commands.db.is_postgres:
        # snapshot, events, the view row with its stream's version; then one statement: no BEGIN, no COMMIT
        assert await statements.settled() == ["SELECT", "SELECT", "SELECT", "WITH"], statements.seen
    async with commands.db.sessions() as session:
        row = (await session.execute(select(counter_rows.c.total, counter_rows.c.version))).one()
    assert tuple(row) == (6, 3)
    assert await _count(commands, outbox) == 3 and await _count(commands, events) == 3
    assert [e.sequence for e in uow.recorded] == [3] and uow.recorded[0].position is not None


async def test_one_event_goes_as_scalars_and_several_as_arrays_alike(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    """One event with one view row and one row at end is sent as scalar parameters, several as arrays of
    each column: the same rows either way, created or continued, and the key's row with them."""
    from pmo_events.runtime.schema import idempotency_keys

    commands, statements = runtime
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    for stream, count, key in ((one, 1, "k-one"), (two, 2, "k-two")):
        await statements.clear()
        async with commands.unit_of_work(Metadata(actor="a")) as uow:
            created = [Incremented(counter_id=stream, by=2) for _ in range(count)]
            await uow.append(COUNTER, stream, 0, created, write_at_end=True)
            uow.insert_at_end(idempotency_keys, _key_row(key))
        async with commands.unit_of_work(Metadata(actor="a")) as uow:
            loaded = await uow.load(COUNTER, stream)
            continued = [Incremented(counter_id=stream, by=3) for _ in range(count)]
            await uow.append(COUNTER, stream, loaded.version, continued, write_at_end=True)
            uow.insert_at_end(idempotency_keys, _key_row(f"{key}-again"))
        if commands.db.is_postgres:
            await statements.settled()
            written = [text for text in statements.texts if text.startswith("WITH appended")]
            assert len(written) == 2 and all(("unnest(" in text) == (count > 1) for text in written), written
    async with commands.db.sessions() as session:
        rows = {
            row.counter_id: (row.total, row.version, row.first_position)
            for row in await session.execute(select(counter_rows))
        }
        firsts = {i: (await commands.store.load(session, i))[0] for i in (one, two)}
        keys = set((await session.execute(select(idempotency_keys.c.key))).scalars())
        queued = (await session.execute(select(outbox.c.key).order_by(outbox.c.id))).scalars().all()
    assert rows == {one: (5, 2, firsts[one].position), two: (10, 4, firsts[two].position)}
    assert firsts[one].actor == firsts[two].actor == "a" and firsts[one].time.tzinfo is not None
    assert keys == {"k-one", "k-one-again", "k-two", "k-two-again"}
    assert queued == [one, one, two, two, two, two]


async def test_a_continued_stream_that_moved_on_since_its_load_is_a_conflict_and_stores_nothing(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands, _ = runtime
    if not commands.db.is_postgres:
        pytest.skip("SQLite has one writer: a unit of work holds it from its start, so no rival commits meanwhile")
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
    with pytest.raises(ConcurrencyConflict):
        async with commands.unit_of_work(Metadata()) as uow:
            loaded = await uow.load(COUNTER, stream)
            async with commands.unit_of_work(Metadata()) as rival:  # commits between the load and the write
                await rival.append(COUNTER, stream, 1, [Incremented(counter_id=stream, by=10)], write_at_end=True)
            await uow.append(
                COUNTER, stream, loaded.version, [Incremented(counter_id=stream, by=100)], write_at_end=True
            )
    async with commands.db.sessions() as session:
        row = (await session.execute(select(counter_rows.c.total, counter_rows.c.version))).one()
    assert tuple(row) == (11, 2)
    assert await _count(commands, events) == 2 and await _count(commands, outbox) == 2


async def test_a_stream_moving_on_between_the_view_read_and_the_write_fails_the_statement_whole(
    runtime: tuple[CommandRuntime, Statements], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view row is read before the statement; the events' unique version refuses the statement whole
    (view row, outbox records) when a rival's append commits in between."""
    commands, _ = runtime
    if not commands.db.is_postgres:
        pytest.skip("the one-statement path is PostgreSQL's")
    stream = str(uuid.uuid4())
    async with commands.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
    read = type(counter_view).stored_at

    rivals: list[int] = []

    async def then_a_rival(view: Any, session: Any, ids: list[str]) -> Any:
        found = await read(view, session, ids)
        if not rivals:  # once (the rival's own write reads the row too)
            rivals.append(1)
            async with commands.unit_of_work(Metadata()) as rival:
                await rival.append(COUNTER, stream, 1, [Incremented(counter_id=stream, by=10)], write_at_end=True)
        return found

    monkeypatch.setattr(type(counter_view), "stored_at", then_a_rival)
    with pytest.raises(ConcurrencyConflict):
        async with commands.unit_of_work(Metadata()) as uow:
            loaded = await uow.load(COUNTER, stream)
            await uow.append(
                COUNTER, stream, loaded.version, [Incremented(counter_id=stream, by=100)], write_at_end=True
            )
    monkeypatch.undo()
    async with commands.db.sessions() as session:
        row = (await session.execute(select(counter_rows.c.total, counter_rows.c.version))).one()
    assert tuple(row) == (11, 2)  # the rival's, not 101
    assert await _count(commands, events) == 2 and await _count(commands, outbox) == 2


# `assume`: a premise the command decided on without reading it, checked with the write itself.


def _no_stream(stream: str, broken: list[str]) -> Premise:
    """The premise that `stream` has no event yet (the test's stand-in for "no lesson matches")."""
    from pmo_events.runtime import pgdirect

    async def holds(session: Any) -> bool:
        if pgdirect.on_asyncpg(session):
            statement = f"SELECT 1 FROM {events.name} WHERE stream_id = $1"
            return not await pgdirect.fetch(session, statement, stream, begin=False)
        return (await session.execute(select(events.c.stream_id).where(events.c.stream_id == stream))).first() is None

    return Premise(
        f"SELECT 1 FROM {events.name} WHERE stream_id = {{0}}::varchar", (stream,), holds, lambda: broken.append(stream)
    )


@pytest.mark.parametrize("count", [1, 2], ids=["scalars", "arrays"])
async def test_a_premise_that_holds_goes_in_the_one_statement_and_one_that_does_not_writes_nothing(
    runtime: tuple[CommandRuntime, Statements], count: int
) -> None:
    from pmo_events.runtime.schema import idempotency_keys

    commands, statements = runtime
    watched, broken = str(uuid.uuid4()), list[str]()
    for attempt in ("warm-up", "holds", "broken"):  # asyncpg prepares the statement (types looked up) at first
        if attempt == "broken":
            async with commands.unit_of_work(Metadata()) as uow:  # the premise's watched stream now has an event
                await uow.append(COUNTER, watched, 0, [Incremented(counter_id=watched, by=1)], write_at_end=True)
        before = [await _count(commands, table) for table in (events, outbox, counter_rows, idempotency_keys)]
        await statements.clear()
        stream = str(uuid.uuid4())
        with pytest.raises(PremiseFailed) if attempt == "broken" else contextlib.nullcontext():
            async with commands.unit_of_work(Metadata()) as uow:
                uow.assume(_no_stream(watched, broken))
                increments = [Incremented(counter_id=stream, by=2) for _ in range(count)]
                await uow.append(COUNTER, stream, 0, increments, write_at_end=True)
                uow.insert_at_end(idempotency_keys, _key_row(f"{attempt}-{count}"))
        if commands.db.is_postgres and attempt != "warm-up":  # checked inside the statement that writes
            assert await statements.settled() == ["WITH"], statements.seen
        after = [await _count(commands, table) for table in (events, outbox, counter_rows, idempotency_keys)]
        if attempt != "broken":
            assert after == [before[0] + count, before[1] + count, before[2] + 1, before[3] + 1] and broken == []
        else:
            assert after == before and broken == [watched]  # nothing of it written, and the caller told


async def test_a_premise_is_checked_before_a_write_that_does_not_carry_it(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    """An immediate append (or a continued stream whose view row is rewritten in a transaction): the premise is
    asked alone, in the transaction, before the first write; when it does not hold nothing is written."""
    commands, _ = runtime
    watched, broken = str(uuid.uuid4()), list[str]()
    async with commands.unit_of_work(Metadata()) as uow:
        uow.assume(_no_stream(watched, broken))
        await uow.append(COUNTER, watched, 0, [Incremented(counter_id=watched, by=1)])  # holds, then written
    stream = str(uuid.uuid4())
    with pytest.raises(PremiseFailed):
        async with commands.unit_of_work(Metadata()) as uow:
            uow.assume(_no_stream(watched, broken))
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)])
    with pytest.raises(PremiseFailed):
        async with commands.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True)
            loaded = await uow.load(COUNTER, stream)  # sends the first append (the premise is not made yet)
            uow.assume(_no_stream(watched, broken))
            await uow.append(COUNTER, stream, 1, [Incremented(counter_id=stream, by=5)], write_at_end=True)
            assert loaded.version == 1
    assert broken == [watched, watched]
    assert await _count(commands, events) == 1 and await _count(commands, outbox) == 1
    assert await _count(commands, counter_rows) == 1


async def test_a_premise_broken_for_a_continued_stream_leaves_its_view_row_as_it_was(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    """An edit's statement rewrites the stream's view row: a broken premise refuses that too."""
    commands, statements = runtime
    stream, watched, broken = str(uuid.uuid4()), str(uuid.uuid4()), list[str]()
    for watched_by in (None, watched):
        async with commands.unit_of_work(Metadata()) as uow:
            await uow.append(
                COUNTER, watched_by or stream, 0, [Incremented(counter_id=stream, by=1)], write_at_end=True
            )
    await statements.clear()
    with pytest.raises(PremiseFailed):
        async with commands.unit_of_work(Metadata()) as uow:
            loaded = await uow.load(COUNTER, stream)
            uow.assume(_no_stream(watched, broken))
            await uow.append(COUNTER, stream, loaded.version, [Incremented(counter_id=stream, by=9)], write_at_end=True)
    if commands.db.is_postgres:
        assert (await statements.settled())[-1] == "WITH", statements.seen
    async with commands.db.sessions() as session:
        row = (await session.execute(select(counter_rows.c.total, counter_rows.c.version).where(
            counter_rows.c.counter_id == stream))).one()  # fmt: skip
    assert tuple(row) == (1, 1) and broken == [watched]
    assert await _count(commands, events) == 2 and await _count(commands, outbox) == 2


def _counter(counter_id: str) -> Counter:
    return Counter(counter_id=counter_id)


async def test_a_view_folding_as_the_aggregate_takes_the_appends_state_and_one_folding_otherwise_folds(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    """A stream view with the aggregate's own `initial` and `evolve` writes the state the append gave
    (`state_after`) on PostgreSQL, folding nothing again; a view that folds another way folds the events itself,
    whatever state the append gave. The rows are what a fold gives either way."""
    db = runtime[0].db
    folded: list[Event] = []

    def counted(state: Counter, event: Event) -> Counter:
        folded.append(event)
        return evolve(state, event)

    def twice(state: Counter, event: Event) -> Counter:
        return evolve(evolve(state, event), event)

    aggregate = AggregateType("counter", _counter, counted, Counter)
    for view, total in (
        (replace(counter_view, initial=_counter, evolve=counted), 5),
        (replace(counter_view, initial=_counter, evolve=twice), 10),
    ):
        commands = CommandRuntime(db, EventStore(source="/pmo/test", topic=None), projectors=[view])
        stream = str(uuid.uuid4())
        new_events = [Incremented(counter_id=stream, by=2), Incremented(counter_id=stream, by=3)]
        state = fold(aggregate, _counter(stream), new_events)
        folded.clear()
        async with commands.unit_of_work(Metadata()) as uow:
            await uow.append(aggregate, stream, 0, new_events, state, write_at_end=True)
        if db.is_postgres:
            assert folded == []  # the view's row is the append's state, not folded again
        async with db.sessions() as session:
            row = (await session.execute(select(counter_rows).where(counter_rows.c.counter_id == stream))).one()
            first = (await commands.store.load(session, stream))[0].position
        assert (row.total, row.version, row.first_position) == (total, 2, first)
        assert Counter.model_validate_json(row.state) == Counter(counter_id=stream, total=total)
