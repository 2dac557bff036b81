"""A poll that waited on its offset rows sees the stream rows the transaction it waited for committed: two replicas
applying the same partition at once (a group rebalance mid-poll, an assign-mode holder losing its lock mid-poll)
must not take a stream the other one started for a new one.

Review 1 of session 9 found that one statement locking the offsets and reading the streams' rows
(`consumed.lock_progress`, a5d06b7, reverted) read the streams under the snapshot taken before it waited: the stream
the other replica had inserted came back missing, its next event was taken for an early one (last 0), skipped, and
the offset moved past it. `lock_offsets` then `last_sequences`, two statements, read after the wait.

Session 13 (s13-poll-calls) merged them again with a check (`consumed.lock_progress`): the statement also reads each
offset row as its snapshot sees it, and a row whose locked version differs (the poll waited for another poll's
commit) or a partition with no row yet makes the streams be read again by their own statement. Both paths are
tested here: the waiting poll still sees the stream (two statements), a poll nobody held up sends one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import TopicPartition
from sqlalchemy import text

from pmo_events.runtime import pgdirect
from pmo_events.runtime.consumed import (
    _PROGRESS_LOCK_SQL,
    _STREAMS_LOCK_SQL,
    RIDDEN_ROWS,
    RidingLock,
    _one_stream,
    last_sequences,
    lock_offsets,
    lock_progress,
)

from .support import migrated

pytestmark = pytest.mark.integration

TP = TopicPartition("t", 0)
KEY = ("src", "S")
#: Rows written with their columns named: a column a migration adds (nullable or with a default) leaves them valid.
_OFFSETS = "INSERT INTO pmo_consumer_offsets (consumer, topic, partition, next_offset, broker_epoch) VALUES "
_STREAMS = "INSERT INTO pmo_consumed_streams (consumer, source, stream_id, last_sequence) VALUES "


async def _blocked(db: Any, pid: int) -> bool:
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": pid})
        ).first()
        return row is not None and row[0] == "Lock"


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    fetch = pgdirect.fetch

    async def recorded(session: Any, statement: str, *args: Any, **kwargs: Any) -> list[Any]:
        sent.append(statement)
        return await fetch(session, statement, *args, **kwargs)

    monkeypatch.setattr(pgdirect, "fetch", recorded)
    return sent


async def _lock_progress(session: Any) -> tuple[Any, Any]:
    return await lock_progress(session, "c", [TP], "e", [KEY])


async def _two_statements(session: Any) -> tuple[Any, Any]:
    return await lock_offsets(session, "c", [TP], "e"), await last_sequences(session, "c", [KEY])


@pytest.mark.parametrize("read", [_two_statements, _lock_progress], ids=["two-statements", "lock-progress"])
async def test_a_poll_waiting_on_the_offsets_sees_the_streams_committed_meanwhile(
    postgres_url: str, tmp_path: Path, read: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await migrated(postgres_url, tmp_path)
    try:
        async with db.transaction() as s:
            await s.execute(text(_OFFSETS + "('c', 't', 0, 5, 'e')"))
        first = db.sessions()
        second = db.sessions()
        # Replica A: locks the offsets, applies stream S's first three events, moves the offset, not yet committed
        await lock_offsets(first, "c", [TP], "e")
        await last_sequences(first, "c", [KEY])
        await first.execute(text(_STREAMS + "('c', 'src', 'S', 3)"))
        await first.execute(text("UPDATE pmo_consumer_offsets SET next_offset = 8 WHERE consumer = 'c'"))
        # Replica B: the same partition's poll (with S's 4th event after offset 8) waits on the offset row
        pid = (await second.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        sent = _counted(monkeypatch)
        waiting = asyncio.create_task(read(second))
        for _ in range(200):
            if await _blocked(db, pid):
                break
            await asyncio.sleep(0.05)
        assert await _blocked(db, pid)
        await first.commit()
        starts, last_seen = await waiting
        assert starts == {TP: 8}
        assert last_seen == {KEY: 3}  # not {}: S's 4th event is the next one, not an early one
        if read is _lock_progress:  # the check saw the offset row move: the streams read again after the lock
            assert sent[1:] == [_one_stream(_STREAMS_LOCK_SQL, 3)]  # one stream: a text parameter
        await second.rollback()
        await first.close()
        await second.close()
    finally:
        await db.dispose()


async def test_a_poll_nobody_held_up_locks_offsets_streams_and_riding_rows_in_one_statement(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rows locked and read as by the separate statements, in one round trip; a partition's first poll
    (no offset row: nothing to compare) reads the streams again, and a second source goes by its own statement
    with the riding lock."""
    db = await migrated(postgres_url, tmp_path)
    riding = RidingLock("SELECT 'x' AS key, 7 AS value")
    try:
        async with db.transaction() as s:
            await s.execute(text(_OFFSETS + "('c', 't', 0, 5, 'e'), ('c', 't', 1, 9, 'old')"))
            await s.execute(text(_STREAMS + "('c', 'src', 'S', 3), ('c', 'zz', 'Z', 2)"))
        sent = _counted(monkeypatch)
        async with db.transaction() as s:
            starts, seen = await lock_progress(
                s, "c", [TP, TopicPartition("t", 1)], "e", [KEY, ("src", "N")], riding=riding
            )
            assert (starts, seen, s.info[RIDDEN_ROWS]) == ({TP: 5}, {KEY: 3}, {"x": 7})  # t/1: another epoch
            assert sent == [riding.with_progress()]
            # the rows are this transaction's: another one cannot lock them now
            other = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
            try:
                for table in ("pmo_consumer_offsets", "pmo_consumed_streams"):
                    with pytest.raises(asyncpg.exceptions.LockNotAvailableError):
                        async with other.transaction():
                            await other.execute("SET LOCAL lock_timeout = '50ms'")
                            await other.fetch(f"SELECT 1 FROM {table} WHERE consumer = 'c' FOR UPDATE")
            finally:
                await other.close()
        sent.clear()
        async with db.transaction() as s:  # a partition's first poll: the streams read again
            starts, seen = await lock_progress(s, "c", [TopicPartition("t", 2)], "e", [KEY])
            assert (starts, seen, sent) == (
                {},
                {KEY: 3},
                [_one_stream(_PROGRESS_LOCK_SQL, 5), _one_stream(_STREAMS_LOCK_SQL, 3)],
            )
        sent.clear()
        async with db.transaction() as s:  # two sources: the second with the riding lock, after the first
            starts, seen = await lock_progress(s, "c", [TP], "e", [KEY, ("zz", "Z")], riding=riding)
            assert (starts, seen, s.info[RIDDEN_ROWS]) == ({TP: 5}, {KEY: 3, ("zz", "Z"): 2}, {"x": 7})
            assert sent == [_one_stream(_PROGRESS_LOCK_SQL, 5), _one_stream(riding.with_streams(), 3)]
    finally:
        await db.dispose()
