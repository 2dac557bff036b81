"""Replaying the store rebuilds an inline view to exactly what the commands wrote."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select

from pmo_events.runtime import CommandRuntime, EventStore, Metadata
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_events.runtime.views import StreamView

from .support import COUNTER, Counter, Incremented, evolve, migrated
from .test_relay_and_subscription import add_to_total, totals, view_metadata

pytestmark = pytest.mark.integration


async def test_rebuilt_view_equals_the_live_one(database_url: str, tmp_path: Path) -> None:
    db = await migrated(database_url, tmp_path)
    async with db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=None), projectors=[add_to_total])
    counters = [str(uuid.uuid4()) for _ in range(4)]
    for by in range(1, 6):
        for counter in counters:
            async with runtime.unit_of_work(Metadata()) as uow:
                loaded = await uow.load(COUNTER, counter)
                await uow.append(COUNTER, counter, loaded.version, [Incremented(counter_id=counter, by=by)])

    async def view() -> list[tuple[str, int, int]]:
        async with db.sessions() as session:
            return sorted(tuple(r) for r in await session.execute(select(totals)))

    live = await view()
    assert [row[1:] for row in live] == [(15, 5)] * 4
    seen: list[int] = []
    replayed = await rebuild_inline_views(
        db, runtime.store, tables=[totals], projectors=[add_to_total], batch_size=7, progress=seen.append
    )
    assert replayed == 20 and sum(seen) == 20
    assert await view() == live
    await db.dispose()


stream_metadata = MetaData()
counter_rows = Table(
    "test_counter_rows",
    stream_metadata,
    Column("counter_id", String(64), primary_key=True),
    Column("total", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("first_position", Integer, nullable=False),
    Column("state", Text, nullable=False),
)
counter_view = StreamView(
    table=counter_rows,
    key=counter_rows.c.counter_id,
    state=counter_rows.c.state,
    model=Counter,
    initial=lambda i: Counter(counter_id=i),
    evolve=evolve,
    columns=lambda state, event: {"total": state.total, "version": event.sequence},
    on_insert=lambda event: {"first_position": event.position},
)


async def test_a_stream_view_rebuilt_page_by_page_equals_the_one_written_event_by_event(
    database_url: str, tmp_path: Path
) -> None:
    db = await migrated(database_url, tmp_path)
    async with db.engine.begin() as conn:
        await conn.run_sync(stream_metadata.create_all)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=None), projectors=[counter_view])
    counters = [str(uuid.uuid4()) for _ in range(5)]
    for by in range(1, 5):
        for counter in counters[by - 1 :]:  # streams start on different pages and end on others
            async with runtime.unit_of_work(Metadata()) as uow:
                loaded = await uow.load(COUNTER, counter)
                await uow.append(COUNTER, counter, loaded.version, [Incremented(counter_id=counter, by=by)])

    async def view() -> list[tuple[object, ...]]:
        async with db.sessions() as session:
            return sorted(tuple(r) for r in await session.execute(select(counter_rows)))

    live = await view()
    assert sorted((row[1], row[2]) for row in live) == sorted([(1, 1), (3, 2), (6, 3), (10, 4), (10, 4)])
    replayed = await rebuild_inline_views(
        db, runtime.store, tables=[counter_rows], projectors=[counter_view], batch_size=3
    )
    assert replayed == 14
    assert await view() == live
    await db.dispose()


@pytest.mark.parametrize("read_ahead", [False, True])
async def test_the_store_streams_its_whole_history_in_pages_and_can_stop_early(
    database_url: str, tmp_path: Path, read_ahead: bool
) -> None:
    """`stream_all` (one cursor on PostgreSQL, `read_all` pages elsewhere) gives what `read_all` gives, in order;
    stopped after one page (the next one in flight when reading ahead) the session still answers."""
    db = await migrated(database_url, tmp_path)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=None))
    for by in range(1, 12):
        async with runtime.unit_of_work(Metadata()) as uow:
            counter = str(uuid.uuid4())
            await uow.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=by)])
    store = runtime.store
    async with db.sessions() as session:
        expected = await store.read_all(session, limit=100)
        pages = [page async for page in store.stream_all(session, page=3, read_ahead=read_ahead)]
        assert [len(page) for page in pages] == [3, 3, 3, 2]
        assert [e for page in pages for e in page] == expected
        assert [e.decode() for page in pages for e in page] == [e.decode() for e in expected]
        stream = store.stream_all(session, page=3, read_ahead=read_ahead)
        first = await anext(stream)
        await stream.aclose()
        assert first == expected[:3]
        assert await store.count(session) == 11
    await db.dispose()
