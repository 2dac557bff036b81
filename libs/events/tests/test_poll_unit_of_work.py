"""`CommandRuntime.for_poll`: the commands a subscription's poll causes, on one unit of work written once.

The same stored events, outbox records, views, snapshots and policies as one unit of work per consumed
event: each command keeps its own cause (causation, correlation, actor), a stream appended by several
commands gets consecutive versions, a view with `many` is written once for the poll, and nothing is
written before `end` (a poll that fails leaves nothing behind)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pmo_events.contracts.portfolio import PortfolioCreated
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import CommandRuntime, ConcurrencyConflict, EventStore, Metadata, UnitOfWork, reacts_to
from pmo_events.runtime.schema import events, outbox, snapshots
from pmo_events.runtime.views import StreamView

from .support import COUNTER, Incremented, migrated
from .test_rebuild import counter_rows, counter_view, stream_metadata

pytestmark = pytest.mark.integration


class CountedView:
    """`counter_view`, counting its calls: `many` once per poll, never per event."""

    def __init__(self) -> None:
        self.many_calls: list[int] = []

    async def __call__(self, session: Any, event: RecordedEvent) -> None:
        await self.many(session, [event])

    async def many(self, session: Any, recorded: Sequence[RecordedEvent]) -> None:
        self.many_calls.append(len(recorded))
        await counter_view.many(session, recorded)


@pytest.fixture
async def db_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    db = await migrated(database_url, tmp_path)
    async with db.engine.begin() as conn:
        await conn.run_sync(stream_metadata.create_all)
    await db.dispose()
    yield database_url


async def increment(uow: UnitOfWork, counter: str, by: int) -> None:
    """A command as any service writes one: load, decide, append with the state after."""
    loaded = await uow.load(COUNTER, counter)
    new = [Incremented(counter_id=counter, by=by)]
    after = loaded.state.model_copy(update={"total": loaded.state.total + by})
    await uow.append(COUNTER, counter, loaded.version, new, after)


async def _rows(runtime: CommandRuntime) -> dict[str, Any]:
    async with runtime.db.sessions() as session:
        return {
            "events": (await session.execute(
                select(events.c.stream_id, events.c.version, events.c.causation_id, events.c.correlation_id,
                       events.c.actor).order_by(events.c.position))).all(),
            "outbox": (await session.execute(select(outbox.c.key).order_by(outbox.c.id))).all(),
            "view": sorted(tuple(r)[:3] for r in await session.execute(select(counter_rows))),
            "snapshots": sorted(tuple(r) for r in await session.execute(select(snapshots.c.stream_id,
                                                                              snapshots.c.version))),
        }  # fmt: skip


async def test_a_poll_writes_what_one_unit_of_work_per_event_writes(db_url: str, tmp_path: Path) -> None:
    counters = [str(uuid.uuid4()) for _ in range(3)]
    causes = [(f"cause-{n}", counters[n % 3], n + 1) for n in range(14)]  # 5, 5 and 4 increments

    async def run(mode: str, runtime: CommandRuntime, view: CountedView) -> dict[str, Any]:
        reacted: list[tuple[str, int | None, str | None]] = []

        async def policy(uow: UnitOfWork, event: RecordedEvent) -> None:
            reacted.append((event.stream_id, event.position, uow.meta.causation_id))

        runtime.policies = [policy]
        if mode == "per event":
            for cause, counter, by in causes:
                async with runtime.unit_of_work(Metadata(actor="a", causation_id=cause, correlation_id="c")) as uow:
                    await increment(uow, counter, by)
        else:
            async with runtime.db.transaction() as session:
                poll = runtime.for_poll(session)
                for cause, counter, by in causes:
                    poll.meta = Metadata(actor="a", causation_id=cause, correlation_id="c")
                    await increment(poll, counter, by)
                await poll.end()
        rows = await _rows(runtime)
        assert [(s, cause) for s, _p, cause in reacted] == [(r.stream_id, r.causation_id) for r in rows["events"]]
        assert all(position for _s, position, _c in reacted)  # policies see stored events
        return rows

    results = {}
    for mode in ("per event", "poll"):
        db = await migrated(db_url, tmp_path)
        async with db.engine.begin() as conn:
            for table in (counter_rows, events, outbox, snapshots):
                await conn.execute(table.delete())
        view = CountedView()
        runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"), projectors=[view])
        results[mode] = await run(mode, runtime, view)
        if mode == "poll":
            assert view.many_calls == [14]  # the view is written once for the whole poll
        await db.dispose()
    assert results["poll"] == results["per event"]
    rows = results["poll"]
    assert [(r.version, r.causation_id) for r in rows["events"] if r.stream_id == counters[0]] == [
        (1, "cause-0"), (2, "cause-3"), (3, "cause-6"), (4, "cause-9"), (5, "cause-12")
    ]  # fmt: skip
    assert sorted(rows["view"]) == sorted([(counters[0], 35, 5), (counters[1], 40, 5), (counters[2], 30, 4)])
    assert rows["snapshots"] == sorted([(counters[0], 5), (counters[1], 5)])  # snapshot_every=5


async def test_a_policy_that_declares_its_events_is_called_on_those_only(db_url: str, tmp_path: Path) -> None:
    """`reacts_to`: a policy is called on the types it names (one without a declaration on every event), on a
    poll's unit of work and a command's alike."""
    db = await migrated(db_url, tmp_path)
    called: list[str] = []

    @reacts_to(Incremented)
    async def on_increment(uow: UnitOfWork, event: RecordedEvent) -> None:
        called.append(f"increment {uow.meta.causation_id}")

    @reacts_to(PortfolioCreated)
    async def on_other(uow: UnitOfWork, event: RecordedEvent) -> None:
        called.append("other")

    async def on_any(uow: UnitOfWork, event: RecordedEvent) -> None:
        called.append(f"any {uow.meta.causation_id}")

    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"), projectors=[counter_view])
    runtime.policies = [on_other, on_increment, on_any]
    counter = str(uuid.uuid4())
    async with runtime.unit_of_work(Metadata(causation_id="a")) as uow:
        await increment(uow, counter, 1)
    async with runtime.db.transaction() as session:
        poll = runtime.for_poll(session)
        for cause in ("b", "c"):
            poll.meta = Metadata(causation_id=cause)
            await increment(poll, counter, 1)
        await poll.end()
    assert called == ["increment a", "any a", "increment b", "any b", "increment c", "any c"]
    await db.dispose()


async def test_nothing_is_written_before_the_end_and_a_failed_poll_leaves_nothing(db_url: str, tmp_path: Path) -> None:
    db = await migrated(db_url, tmp_path)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"), projectors=[counter_view])
    counter = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with runtime.db.transaction() as session:
            poll = runtime.for_poll(session)
            await increment(poll, counter, 1)
            await increment(poll, counter, 2)
            assert (await poll.load(COUNTER, counter)).version == 2  # the poll's own state
            assert (await session.execute(select(events.c.event_id))).all() == []  # nothing sent yet
            await poll.end()
            raise RuntimeError("the poll fails after its writes")
    assert await _rows(runtime) == {"events": [], "outbox": [], "view": [], "snapshots": []}
    async with runtime.db.transaction() as session:
        poll = runtime.for_poll(session)
        await increment(poll, counter, 1)
        with pytest.raises(ConcurrencyConflict):  # an append that did not load the poll's latest version
            await poll.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=1)])
    await db.dispose()


async def test_a_stream_appended_elsewhere_meanwhile_is_a_conflict_at_the_end(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL (SQLite would make the other writer wait for the poll's transaction)."""
    db = await migrated(postgres_url, tmp_path)
    async with db.engine.begin() as conn:
        await conn.run_sync(stream_metadata.create_all)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"), projectors=[counter_view])
    counter = str(uuid.uuid4())
    async with runtime.unit_of_work(Metadata()) as uow:
        await increment(uow, counter, 1)
    with pytest.raises(ConcurrencyConflict):
        async with runtime.db.transaction() as session:
            poll = runtime.for_poll(session)
            await increment(poll, counter, 5)
            async with runtime.unit_of_work(Metadata()) as other:  # a command commits in between
                await increment(other, counter, 2)
            await poll.end()
    assert (await _rows(runtime))["view"] == [(counter, 3, 2)]
    await db.dispose()


#: `counter_view` folding with the aggregate's own model, `initial` and `evolve` (as portfolio's portfolios view
#: and intake's proposals view do): a poll writes its rows from the states it holds.
aggregate_view = replace(counter_view, model=COUNTER.state_model, initial=COUNTER.initial, evolve=COUNTER.evolve)


async def test_a_view_of_the_aggregates_own_state_is_written_from_the_poll_without_reading_its_rows(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its rows (state, columns, first position) end as one unit of work per event leaves them: a stream that
    goes on (loaded from a snapshot and events after it), and streams that start in the poll."""
    counters = [str(uuid.uuid4()) for _ in range(3)]
    causes = [(f"cause-{n}", counters[n % 3], n + 1) for n in range(8)]

    async def run(mode: str) -> list[tuple[Any, ...]]:
        db = await migrated(db_url, tmp_path)
        async with db.engine.begin() as conn:
            for table in (counter_rows, events, outbox, snapshots):
                await conn.execute(table.delete())
        runtime = CommandRuntime(
            db, EventStore(source="/pmo/test", topic="pmo.test.events"), projectors=[aggregate_view]
        )
        for by in range(1, 8):  # the first counter is at version 7 before the poll, with a snapshot at 5
            async with runtime.unit_of_work(Metadata(actor="a")) as uow:
                await increment(uow, counters[0], by)
        if mode == "per event":
            for cause, counter, by in causes:
                async with runtime.unit_of_work(Metadata(actor="a", causation_id=cause)) as uow:
                    await increment(uow, counter, by)
        else:
            with monkeypatch.context() as patched:
                for read in ("_load", "stored_at"):
                    patched.setattr(StreamView, read, _not_read)
                async with runtime.db.transaction() as session:
                    poll = runtime.for_poll(session)
                    for cause, counter, by in causes:
                        poll.meta = Metadata(actor="a", causation_id=cause)
                        await increment(poll, counter, by)
                    await poll.end()
        async with runtime.db.sessions() as session:
            view = [
                r._asdict() for r in await session.execute(select(counter_rows).order_by(counter_rows.c.counter_id))
            ]
            query = select(events.c.stream_id, func.min(events.c.position)).group_by(events.c.stream_id)
            first_positions = dict((await session.execute(query)).tuples().all())
        # Positions differ from run to run on PostgreSQL (a sequence): each row's is its stream's first event's.
        assert {row["counter_id"]: row.pop("first_position") for row in view} == first_positions
        rows = [tuple(row.values()) for row in view]
        assert (await _rows(runtime))["snapshots"] == [(counters[0], 10)]  # crossed in the poll
        await db.dispose()
        return rows

    per_event, poll = await run("per event"), await run("poll")
    assert poll == per_event
    assert {row[0]: row[1:3] for row in poll} == {counters[0]: (28 + 1 + 4 + 7, 10), counters[1]: (2 + 5 + 8, 3),
                                                  counters[2]: (3 + 6, 2)}  # fmt: skip


async def _not_read(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the poll read the view's rows")


#: `aggregate_view` with the version column that tells a row behind its stream.
versioned_view = replace(aggregate_view, version=counter_rows.c.version)


async def test_a_prefetch_takes_the_states_the_aggregates_view_holds_and_not_a_row_behind_its_stream(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a poll's prefetch reads the rows of the view whose state is the aggregate's (one row per
    stream; no snapshot or event read, decoded or folded). A row behind its stream (restored from an older
    backup) is not believed: that stream is loaded from the store, as every stream is on SQLite."""
    db = await migrated(db_url, tmp_path)
    async with db.engine.begin() as conn:
        for table in (counter_rows, events, outbox, snapshots):
            await conn.execute(table.delete())
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"), projectors=[versioned_view])
    counters = [str(uuid.uuid4()) for _ in range(3)]
    for n in range(7):  # totals 1+4+7 = 12 at version 3, 2+5 = 7 and 3+6 = 9 at version 2
        async with runtime.unit_of_work(Metadata(actor="a")) as uow:
            await increment(uow, counters[n % 3], n + 1)
    behind = COUNTER.state_model(counter_id=counters[1], total=2).model_dump_json()
    async with db.engine.begin() as conn:
        await conn.execute(
            counter_rows.update().where(counter_rows.c.counter_id == counters[1]).values(version=1, state=behind)
        )
    from_the_store: list[str] = []
    load_many = EventStore.load_many

    async def counted(self: EventStore, session: Any, stream_ids: Sequence[str]) -> Any:
        from_the_store.extend(stream_ids)
        return await load_many(self, session, stream_ids)

    monkeypatch.setattr(EventStore, "load_many", counted)
    async with runtime.db.transaction() as session:
        poll = runtime.for_poll(session)
        await poll.prefetch(COUNTER, counters)
        loaded = {counter: await poll.load(COUNTER, counter) for counter in counters}
    await db.dispose()
    assert {c: (got.state.total, got.version) for c, got in loaded.items()} == {
        counters[0]: (12, 3), counters[1]: (7, 2), counters[2]: (9, 2),
    }  # fmt: skip
    on_asyncpg = db.engine.dialect.driver == "asyncpg"
    assert sorted(from_the_store) == sorted([counters[1]] if on_asyncpg else counters)
