"""One holder at a time across processes: a PostgreSQL session-level advisory lock on a connection of its own.

Several HTTP worker processes (`PMO_HTTP_WORKERS`) or replicas of one service share its database; the parts
that must run once per service (a subscription in `assign` mode, which reads every partition) run only in
the process that holds the lock. The others wait for it on the server (`pg_advisory_lock`), so when the
holder's session ends (its process stopped, was killed, or lost its connection) the next one in line holds
the lock at once, without polling.

The wait is made in slices of `WAIT_SLICE_SECONDS` (the session's `lock_timeout`; its `statement_timeout` is
lifted): a database or role with its own `lock_timeout` or `statement_timeout` would otherwise end every
wait with an error, and the waiter would log, back off and miss the takeover. A slice that the server does
not answer within `WAIT_SLICE_SECONDS + ANSWER_GRACE_SECONDS` means the connection is gone without a word
(a NAT dropped it): the wait fails and the caller's retry loop connects again, instead of waiting forever
for a grant that can never arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from pmo_events.runtime.database import Database

log = logging.getLogger(__name__)

#: One wait for the lock, at most (the session's `lock_timeout`); the next slice starts at once.
WAIT_SLICE_SECONDS = 30.0
#: How long past a slice the server may take to answer before the connection is taken for dead.
ANSWER_GRACE_SECONDS = 10.0
#: How long `release` waits for the server to answer its unlock before it closes the session anyway.
UNLOCK_SECONDS = 2.0
#: SQLSTATE of a wait ended by `lock_timeout` (lock_not_available).
_LOCK_NOT_AVAILABLE = "55P03"


class AdvisoryLock:
    """A named advisory lock held on a pooled connection kept out of the pool while held (PostgreSQL)."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.key = zlib.crc32(name.encode())
        self._conn: AsyncConnection | None = None
        #: The asyncpg connection holding the lock: closed when the server ended the session (lock released).
        self.driver: Any = None

    @property
    def held(self) -> bool:
        """True while this process holds the lock (its connection is open)."""
        return self.driver is not None and not self.driver.is_closed()

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Wait until this process holds the lock (True) or `stopping` is set (False). A database error
        propagates (the caller's retry loop waits and calls again)."""
        if self.held:
            return True
        await self.release()
        conn = await self.db.engine.connect()
        driver: Any = (await conn.get_raw_connection()).driver_connection
        stop = asyncio.ensure_future(stopping.wait())
        locking: asyncio.Future[Any] | None = None
        error: BaseException | None = None
        try:
            # This session's own limits, whatever the database's or role's defaults: a held lock's session
            # idles for as long as it is held, and a wait is bounded by its slice only.
            await driver.execute(
                f"SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0;"
                f" SET lock_timeout = {int(WAIT_SLICE_SECONDS * 1000)}"
            )
            with contextlib.suppress(Exception):  # PostgreSQL 14 and newer
                await driver.execute("SET idle_session_timeout = 0")
            while True:
                # The wait is the server's: it answers once the holder's session has ended (or at the slice).
                locking = asyncio.ensure_future(driver.execute(f"SELECT pg_advisory_lock({self.key})"))
                locking.add_done_callback(_retrieved)  # a wait ended by closing its session fails: no log
                await asyncio.wait(
                    {locking, stop},
                    timeout=WAIT_SLICE_SECONDS + ANSWER_GRACE_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stop.done():
                    break
                if not locking.done():
                    error = ConnectionError(
                        f"no answer to a lock wait in {WAIT_SLICE_SECONDS + ANSWER_GRACE_SECONDS:g} s"
                    )
                    break
                error = locking.exception()
                if error is None:
                    self._conn, self.driver = conn, driver
                    return True
                if getattr(error, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                    break
                error = None  # the slice ended with the lock still held by another: wait again
        except Exception as exc:  # setting the session's limits failed (the connection went)
            error = exc
        finally:
            stop.cancel()
            if self._conn is not conn:
                # Stopping while queued, cancelled, or the wait failed: closing the session leaves the queue.
                # The connection is closed, never handed back to the pool (where a lock granted meanwhile
                # would stay held by an idle connection).
                driver.terminate()
                if locking is not None:
                    locking.cancel()
                with contextlib.suppress(Exception):
                    await conn.invalidate()
        if error is not None and not stopping.is_set():
            raise error
        return False

    async def release(self) -> None:
        """Give the lock up: unlocked, then its session closed (a connection that held it never goes back to the
        pool). The unlock is what makes the lock free when this returns: closing the session alone freed it only
        once the server's backend noticed the closed socket and ended, which on a busy machine came after the next
        holder's first try (half the time at load 15: `test_leadership`), and a test that asked at once failed."""
        conn, driver, self._conn, self.driver = self._conn, self.driver, None, None
        if conn is None:
            return
        try:
            if not driver.is_closed():
                with contextlib.suppress(Exception):  # the connection went: its session's end frees the lock
                    await asyncio.wait_for(driver.execute(f"SELECT pg_advisory_unlock({self.key})"), UNLOCK_SECONDS)
        finally:  # a cancel of the unlock still closes the session
            with contextlib.suppress(Exception):
                driver.terminate()
            with contextlib.suppress(Exception):
                await conn.invalidate()


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
