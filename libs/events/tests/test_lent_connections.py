"""Lent connections (pgdirect.Lender) and the pool: a unit of work that read on a lent connection and then opens
its session gives that connection back to the pool, so units of work waiting for a session are never left
waiting on connections nobody uses (review 1 of session 7: racing submissions answered 500 after the pool's 30 s)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pmo_events.runtime import CommandRuntime, EventStore, Metadata, pgdirect
from pmo_events.runtime.database import Database

from .support import migrated

pytestmark = pytest.mark.integration


async def test_units_of_work_that_read_lent_then_open_sessions_do_not_starve_the_pool(
    postgres_url: str, tmp_path: Path
) -> None:
    await (await migrated(postgres_url, tmp_path)).dispose()
    db = Database(postgres_url, pool_size=1)  # two connections in all (one and one overflow); the lender keeps one
    pool: Any = db.engine.sync_engine.pool
    pool._timeout = 5  # a starved checkout fails in 5 s (30 by default)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"))
    both_read = asyncio.Barrier(2)

    async def read_lent_then_open_a_session() -> int:
        async with runtime.unit_of_work(Metadata()) as uow:
            assert isinstance(uow.reads, pgdirect.Direct)
            await pgdirect.fetch(uow.reads, "SELECT 1", begin=False)  # both pool connections are lent now
            await both_read.wait()
            # each gives its lent connection back and waits for a session's: before, the lender kept both (one
            # as "surplus" until a unit of work ended, which none could) and both waited out the pool's timeout
            return int((await uow.session.execute(text("SELECT 1"))).scalar_one())

    try:
        assert await asyncio.wait_for(asyncio.gather(*(read_lent_then_open_a_session() for _ in range(2))), 60) == [
            1,
            1,
        ]
    finally:
        await db.dispose()
