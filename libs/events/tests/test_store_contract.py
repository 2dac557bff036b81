"""ONE abstract suite for the event store and outbox, run against SQLite and against PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pmo_events.runtime import CommandRuntime, ConcurrencyConflict, EventStore, EventTooLarge, Metadata
from pmo_events.runtime.schema import events, outbox, snapshots

from .support import COUNTER, Incremented, migrated

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path):
    db = await migrated(database_url, tmp_path)
    yield CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"))
    await db.dispose()


async def _count(runtime: CommandRuntime, table) -> int:
    async with runtime.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_append_then_load_gives_events_in_order_with_metadata(runtime: CommandRuntime) -> None:
    stream = str(uuid.uuid4())
    meta = Metadata(actor="alice", correlation_id="c-1")
    async with runtime.unit_of_work(meta) as uow:
        recorded = await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=b) for b in (1, 2, 3)])
    assert [r.sequence for r in recorded] == [1, 2, 3]
    assert all(r.position for r in recorded)
    async with runtime.unit_of_work(meta) as uow:
        loaded = await uow.load(COUNTER, stream)
    assert (loaded.state.total, loaded.version) == (6, 3)
    async with runtime.db.sessions() as session:
        stored = await runtime.store.load(session, stream)
    assert [e.actor for e in stored] == ["alice"] * 3
    assert stored[0].time.tzinfo is not None
    assert await _count(runtime, outbox) == 3


async def test_global_positions_increase_across_streams(runtime: CommandRuntime) -> None:
    for _ in range(3):
        stream = str(uuid.uuid4())
        async with runtime.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)])
    async with runtime.db.sessions() as session:
        page = await runtime.store.read_all(session)
    positions = [e.position or 0 for e in page]
    assert positions == sorted(positions) and len(set(positions)) == 3 and 0 not in positions


async def test_fifty_concurrent_writers_one_winner_per_version(runtime: CommandRuntime) -> None:
    stream = str(uuid.uuid4())

    async def write(expected: int) -> str:
        try:
            async with runtime.unit_of_work(Metadata(actor="w")) as uow:
                await uow.append(COUNTER, stream, expected, [Incremented(counter_id=stream, by=1)])
            return "won"
        except ConcurrencyConflict:
            return "conflict"

    for version in range(3):
        results = await asyncio.gather(*(write(version) for _ in range(50)))
        assert results.count("won") == 1, version
        assert results.count("conflict") == 49
    assert await _count(runtime, events) == 3
    assert await _count(runtime, outbox) == 3


async def test_failed_transaction_leaves_neither_events_nor_outbox_rows(runtime: CommandRuntime) -> None:
    stream = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)])
            raise RuntimeError("the command's view update failed")
    assert await _count(runtime, events) == 0
    assert await _count(runtime, outbox) == 0


async def test_an_event_above_the_size_limit_is_refused_and_nothing_is_stored(runtime: CommandRuntime) -> None:
    small, big = str(uuid.uuid4()), str(uuid.uuid4())
    limit = runtime.store.max_event_bytes
    with pytest.raises(EventTooLarge) as refused:
        async with runtime.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, small, 0, [Incremented(counter_id=small, by=1)])
            await uow.append(COUNTER, big, 0, [Incremented(counter_id="x" * limit, by=1)])
    assert refused.value.size > limit == refused.value.limit
    assert await _count(runtime, events) == 0
    assert await _count(runtime, outbox) == 0
    async with runtime.unit_of_work(Metadata()) as uow:  # just under the limit is fine
        await uow.append(COUNTER, big, 0, [Incremented(counter_id="x" * (limit - 2000), by=1)])
    assert await _count(runtime, outbox) == 1


async def test_conflict_inside_a_unit_of_work_rolls_back_its_other_appends(runtime: CommandRuntime) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    async with runtime.unit_of_work(Metadata()) as uow:
        await uow.append(COUNTER, b, 0, [Incremented(counter_id=b, by=1)])
    with pytest.raises(ConcurrencyConflict):
        async with runtime.unit_of_work(Metadata()) as uow:
            await uow.append(COUNTER, a, 0, [Incremented(counter_id=a, by=1)])
            await uow.append(COUNTER, b, 0, [Incremented(counter_id=b, by=1)])
    assert await _count(runtime, events) == 1


async def test_snapshot_taken_and_used_for_long_streams(runtime: CommandRuntime) -> None:
    stream = str(uuid.uuid4())
    for version in range(7):
        async with runtime.unit_of_work(Metadata()) as uow:
            loaded = await uow.load(COUNTER, stream)
            assert loaded.version == version
            new = [Incremented(counter_id=stream, by=2)]
            state_after = loaded.state.model_copy(update={"total": loaded.state.total + 2})
            await uow.append(COUNTER, stream, loaded.version, new, state_after)
    assert await _count(runtime, snapshots) == 1
    async with runtime.unit_of_work(Metadata()) as uow:
        loaded = await uow.load(COUNTER, stream)
    assert (loaded.state.total, loaded.version) == (14, 7)


async def test_naive_datetimes_are_refused(runtime: CommandRuntime) -> None:
    from datetime import datetime

    stream = str(uuid.uuid4())
    with pytest.raises(Exception, match=r"naive|timezone aware"):
        async with runtime.unit_of_work(Metadata(occurred_at=datetime(2026, 1, 1))) as uow:
            await uow.append(COUNTER, stream, 0, [Incremented(counter_id=stream, by=1)])
