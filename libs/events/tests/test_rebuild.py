"""Replaying the store rebuilds an inline view to exactly what the commands wrote."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from pmo_events.runtime import CommandRuntime, EventStore, Metadata
from pmo_events.runtime.projection import rebuild_inline_views

from .support import COUNTER, Incremented, migrated
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
            return sorted(tuple(r) for r in await session.execute(select(totals)))  # type: ignore[misc]

    live = await view()
    assert [row[1:] for row in live] == [(15, 5)] * 4
    seen: list[int] = []
    replayed = await rebuild_inline_views(
        db, runtime.store, tables=[totals], projectors=[add_to_total], batch_size=7, progress=seen.append
    )
    assert replayed == 20 and sum(seen) == 20
    assert await view() == live
    await db.dispose()
