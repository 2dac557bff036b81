"""PostgreSQL: the advisory lock's wait survives a database's own timeouts, and a wait the server stops
answering fails instead of hanging (pmo_events.runtime.leadership)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import asyncpg
import pytest

from pmo_devstack.polling import eventually
from pmo_events.runtime import Database, leadership
from pmo_events.runtime.leadership import AdvisoryLock

pytestmark = pytest.mark.integration


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _waiting_pid(admin: asyncpg.Connection, key: int) -> int | None:
    return await admin.fetchval(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        key,
    )


async def test_a_waiter_outlasts_the_databases_lock_and_statement_timeouts_and_takes_over_at_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leadership, "WAIT_SLICE_SECONDS", 0.3)  # several slices within the test
    admin = await asyncpg.connect(_plain(postgres_url))
    database = await admin.fetchval("SELECT current_database()")
    # What a cautious DBA sets for every session: each would end a plain pg_advisory_lock wait with an error.
    await admin.execute(f"ALTER DATABASE \"{database}\" SET lock_timeout = '200ms'")
    await admin.execute(f"ALTER DATABASE \"{database}\" SET statement_timeout = '400ms'")
    holder_db, waiter_db = Database(postgres_url), Database(postgres_url)
    holder, waiter = AdvisoryLock(holder_db, "pmo-test:lock"), AdvisoryLock(waiter_db, "pmo-test:lock")
    stopping = asyncio.Event()
    try:
        assert await holder.acquire(stopping)
        waiting = asyncio.create_task(waiter.acquire(stopping))
        await asyncio.sleep(2.0)  # 10 of the database's lock timeouts, 5 of its statement timeouts
        assert not waiting.done(), waiting.exception() if waiting.done() else None
        await holder.release()
        started = time.monotonic()
        assert await asyncio.wait_for(waiting, 2.0)
        assert time.monotonic() - started < 1.0, "taken over at once, not after a backoff"
        assert waiter.held
        await asyncio.sleep(1.0)  # the holder's idle session outlives the database's statement timeout
        assert waiter.held
    finally:
        stopping.set()
        await waiter.release()
        await holder.release()
        await holder_db.dispose()
        await waiter_db.dispose()
        await admin.close()


async def test_a_wait_the_server_does_not_answer_fails_instead_of_hanging(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waiter's server process is frozen (SIGSTOP): its connection is open but nothing answers, as when
    a NAT forgot it. The wait fails within its slice and grace, so the caller's loop connects again."""
    monkeypatch.setattr(leadership, "WAIT_SLICE_SECONDS", 0.5)
    monkeypatch.setattr(leadership, "ANSWER_GRACE_SECONDS", 0.5)
    admin = await asyncpg.connect(_plain(postgres_url))
    holder_db, waiter_db = Database(postgres_url), Database(postgres_url)
    holder, waiter = AdvisoryLock(holder_db, "pmo-test:lock"), AdvisoryLock(waiter_db, "pmo-test:lock")
    stopping = asyncio.Event()
    frozen: int | None = None
    try:
        assert await holder.acquire(stopping)
        waiting = asyncio.create_task(waiter.acquire(stopping))
        frozen = await eventually(lambda: _waiting_pid(admin, holder.key), timeout=5)
        try:
            os.kill(frozen, signal.SIGSTOP)
        except PermissionError:
            pytest.skip("this test needs to signal the PostgreSQL server's processes (same user or root)")
        started = time.monotonic()
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(waiting, 5.0)
        assert time.monotonic() - started < 2.5
        assert not waiter.held
    finally:
        if frozen is not None:
            os.kill(frozen, signal.SIGCONT)
        stopping.set()
        await waiter.release()
        await holder.release()
        await holder_db.dispose()
        await waiter_db.dispose()
        await admin.close()


async def test_a_lock_released_is_free_for_the_next_holder_when_release_returns(postgres_url: str) -> None:
    """`release` unlocks before it closes the session: closing it alone freed the lock only once the server's
    backend noticed the closed socket and ended, and on a busy machine the next holder's first try came before
    that (101 of 200 tries at load 15). A relay's or subscription's stop promises the lock is given up when it
    returns (`test_relay_thread`'s stops_cleanly asked at once, and failed under load)."""
    db = Database(postgres_url)
    admin = await asyncpg.connect(_plain(postgres_url))
    lock = AdvisoryLock(db, "test-release")
    try:
        for _ in range(30):
            assert await lock.acquire(asyncio.Event())
            await lock.release()
            assert await admin.fetchval("SELECT pg_try_advisory_lock($1)", lock.key)
            await admin.execute("SELECT pg_advisory_unlock($1)", lock.key)
    finally:
        await lock.release()
        await admin.close()
        await db.dispose()
