"""A poll that waited on its offset rows sees the stream rows the transaction it waited for committed: two replicas
applying the same partition at once (a group rebalance mid-poll, an assign-mode holder losing its lock mid-poll)
must not take a stream the other one started for a new one.

Review 1 of session 9 found that one statement locking the offsets and reading the streams' rows
(`consumed.lock_progress`, a5d06b7, reverted) read the streams under the snapshot taken before it waited: the stream
the other replica had inserted came back missing, its next event was taken for an early one (last 0), skipped, and
the offset moved past it. `lock_offsets` then `last_sequences`, two statements, read after the wait."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition
from sqlalchemy import text

from pmo_events.runtime.consumed import last_sequences, lock_offsets

from .support import migrated

pytestmark = pytest.mark.integration

TP = TopicPartition("t", 0)
KEY = ("src", "S")


async def _blocked(db: Any, pid: int) -> bool:
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": pid})
        ).first()
        return row is not None and row[0] == "Lock"


async def test_a_poll_waiting_on_the_offsets_sees_the_streams_committed_meanwhile(
    postgres_url: str, tmp_path: Path
) -> None:
    db = await migrated(postgres_url, tmp_path)
    try:
        async with db.transaction() as s:
            await s.execute(text("INSERT INTO pmo_consumer_offsets VALUES ('c', 't', 0, 5, 'e')"))
        first = db.sessions()
        second = db.sessions()
        # Replica A: locks the offsets, applies stream S's first three events, moves the offset, not yet committed
        await lock_offsets(first, "c", [TP], "e")
        await last_sequences(first, "c", [KEY])
        await first.execute(text("INSERT INTO pmo_consumed_streams VALUES ('c', 'src', 'S', 3)"))
        await first.execute(text("UPDATE pmo_consumer_offsets SET next_offset = 8 WHERE consumer = 'c'"))
        # Replica B: the same partition's poll (with S's 4th event after offset 8) waits on the offset row
        pid = (await second.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        async def read() -> tuple[Any, Any]:
            return await lock_offsets(second, "c", [TP], "e"), await last_sequences(second, "c", [KEY])

        waiting = asyncio.create_task(read())
        for _ in range(200):
            if await _blocked(db, pid):
                break
            await asyncio.sleep(0.05)
        assert await _blocked(db, pid)
        await first.commit()
        starts, last_seen = await waiting
        assert starts == {TP: 8}
        assert last_seen == {KEY: 3}  # not {}: S's 4th event is the next one, not an early one
        await second.rollback()
        await first.close()
        await second.close()
    finally:
        await db.dispose()
