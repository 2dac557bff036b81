"""reporting_0004 (checkpoint bodies as plain JSON, lz4 on PostgreSQL) can be undone: code at
reporting_0003 reads every checkpoint the downgrade leaves (zlib-compressed JSON), and upgrading again works;
so can reporting_0006 (indexed bodies): code at reporting_0005 reads every checkpoint it leaves (one JSON object);
and a checkpoint that disappears between its mark and its body (pruned, dropped) does not fail an answer."""

from __future__ import annotations

import asyncio
import zlib
from datetime import datetime, timedelta

import orjson
import pytest
from alembic import command
from sqlalchemy import select

from pmo_events.runtime import Database
from pmo_events.runtime.migrate import alembic_config, upgrade
from pmo_reporting.adapters.db.checkpoints import INDEXED
from pmo_reporting.adapters.db.tables import checkpoints
from pmo_reporting.application import time_travel
from pmo_reporting.application.time_travel import sweep
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PORTFOLIO

from .test_time_travel import WEEKLY, busy_history, cold, consume, unindexed


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
            assert kept and all(body[:1] == bytes([INDEXED]) for _, body in kept)  # since reporting_0006
            old = min(at for at, _ in kept)  # one as a process before reporting_0004 wrote it
            body = next(body for at, body in kept if at == old)
            await session.execute(
                checkpoints.update().where(checkpoints.c.at == old).values(body=zlib.compress(unindexed(body), 1))
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


async def test_a_downgrade_leaves_only_checkpoints_reporting_0005_can_read(database_url: str) -> None:
    config = alembic_config(database_url, REPORTING.migrations, REPORTING.metadata)
    await asyncio.to_thread(command.upgrade, config, "heads")
    db = Database(database_url)
    try:
        history, _late = busy_history()
        await consume(db, history.events)
        await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True)
        async with db.transaction() as session:
            kept = (await session.execute(select(checkpoints.c.at, checkpoints.c.body))).all()
            assert len(kept) > 2 and all(body[:1] == bytes([INDEXED]) for _, body in kept)
            old = sorted(at for at, _ in kept)[:2]  # as a process before reporting_0006 wrote them
            before: dict[datetime, bytes] = {}
            for at, body in kept:
                if at in old:
                    before[at] = unindexed(body) if at == old[0] else zlib.compress(unindexed(body), 1)
                    await session.execute(checkpoints.update().where(checkpoints.c.at == at).values(body=before[at]))
        await db.dispose()
        await asyncio.to_thread(command.downgrade, config, "reporting_0005")
        async with db.sessions() as session:
            rows = (await session.execute(select(checkpoints.c.at, checkpoints.c.body))).all()
        left = {at: body for at, body in rows}
        assert left == before
        # What reporting_0005's `decode` does with each: zlib.decompress when it starts 0x78, then orjson.loads.
        for body in left.values():
            assert orjson.loads(zlib.decompress(body) if body[:1] == b"\x78" else body)
        await db.dispose()
        await asyncio.to_thread(command.upgrade, config, "heads")
        as_of = history.events[-1].time
        answer = await time_travel.fold_as_of(db, PORTFOLIO, as_of, cold())
        assert sorted(answer.rows()) == sorted((await time_travel.fold_as_of(db, PORTFOLIO, as_of)).rows())
    finally:
        await db.dispose()


async def test_a_checkpoint_pruned_between_its_mark_and_its_body_still_answers(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fold_as_of` reads the nearest checkpoint's mark, then its body: a sweep's pruning (or a rebuild's
    drop) committed in between must not fail the answer (NoResultFound before)."""
    await asyncio.to_thread(upgrade, database_url, REPORTING.migrations, REPORTING.metadata)
    db = Database(database_url)
    try:
        history, _late = busy_history()
        await consume(db, history.events)
        as_of = history.events[len(history.events) // 2].time

        async def pruned_mark(*_args: object) -> tuple[datetime, int]:
            return as_of - timedelta(days=1), 1  # read just before the sweep dropped it

        monkeypatch.setattr(time_travel, "nearest_checkpoint", pruned_mark)
        answer = await time_travel.fold_as_of(db, PORTFOLIO, as_of, cold())
        assert sorted(answer.rows()) == sorted((await time_travel.fold_as_of(db, PORTFOLIO, as_of)).rows())
    finally:
        await db.dispose()
