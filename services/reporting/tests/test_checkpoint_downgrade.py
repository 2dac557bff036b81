"""reporting_0004 (checkpoint bodies as plain JSON, lz4 on PostgreSQL) can be undone: code at
reporting_0003 reads every checkpoint the downgrade leaves (zlib-compressed JSON), and upgrading again works."""

from __future__ import annotations

import asyncio
import zlib

from alembic import command
from sqlalchemy import select

from pmo_events.runtime import Database
from pmo_events.runtime.migrate import alembic_config
from pmo_reporting.adapters.db.tables import checkpoints
from pmo_reporting.application.time_travel import sweep
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PORTFOLIO

from .test_time_travel import WEEKLY, busy_history, cold, consume


async def test_a_downgrade_leaves_only_checkpoints_reporting_0003_can_read(database_url: str) -> None:
    config = alembic_config(database_url, REPORTING.migrations, REPORTING.metadata)
    await asyncio.to_thread(command.upgrade, config, "heads")
    db = Database(database_url)
    try:
        history, _late = busy_history()
        await consume(db, history.events)
        await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True)
        async with db.transaction() as session:
            kept = (await session.execute(select(checkpoints.c.at, checkpoints.c.body))).all()
            assert kept and all(body[:1] == b"{" for _, body in kept)  # plain JSON since reporting_0004
            old = min(at for at, _ in kept)  # one as a process before reporting_0004 wrote it
            body = next(body for at, body in kept if at == old)
            await session.execute(
                checkpoints.update().where(checkpoints.c.at == old).values(body=zlib.compress(body, 1))
            )
        await db.dispose()
        await asyncio.to_thread(command.downgrade, config, "reporting_0003")
        async with db.sessions() as session:
            left = (await session.execute(select(checkpoints.c.at, checkpoints.c.body))).all()
        # What reporting_0003's `decode` does with each: zlib.decompress (a plain JSON body raised there).
        assert [at for at, _ in left] == [old]
        assert all(zlib.decompress(body) for _, body in left)
        await db.dispose()
        await asyncio.to_thread(command.upgrade, config, "heads")
    finally:
        await db.dispose()
