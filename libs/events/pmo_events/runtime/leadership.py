"""One holder at a time across processes: a PostgreSQL session-level advisory lock on a connection of its own.

Several HTTP worker processes (`PMO_HTTP_WORKERS`) or replicas of one service share its database; the parts
that must run once per service (a subscription in `assign` mode, which reads every partition) run only in
the process that holds the lock. The others wait for it on the server (`pg_advisory_lock`), so when the
holder's session ends (its process stopped, was killed, or lost its connection) the next one in line holds
the lock at once, without polling.
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
        # The wait is the server's: it answers once the holder's session has ended.
        locking = asyncio.ensure_future(driver.execute(f"SELECT pg_advisory_lock({self.key})"))
        locking.add_done_callback(_retrieved)  # a wait ended by closing its session fails: nothing to log
        stop = asyncio.ensure_future(stopping.wait())
        error: BaseException | None = None
        try:
            await asyncio.wait({locking, stop}, return_when=asyncio.FIRST_COMPLETED)
            if locking.done():
                error = locking.exception()
                if error is None:
                    self._conn, self.driver = conn, driver
                    return True
        finally:
            stop.cancel()
            if self._conn is not conn:
                # Stopping while queued, cancelled, or the wait failed: closing the session leaves the queue.
                # The connection is closed, never handed back to the pool (where a lock granted meanwhile
                # would stay held by an idle connection).
                driver.terminate()
                locking.cancel()
                with contextlib.suppress(Exception):
                    await conn.invalidate()
        if error is not None and not stopping.is_set():
            raise error
        return False

    async def release(self) -> None:
        """Give the lock up: its session is closed (a connection that held it never goes back to the pool)."""
        conn, driver, self._conn, self.driver = self._conn, self.driver, None, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            driver.terminate()
        with contextlib.suppress(Exception):
            await conn.invalidate()


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
