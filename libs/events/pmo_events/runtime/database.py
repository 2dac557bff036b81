"""One async database per service: SQLite (embedded) or PostgreSQL (production), same code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from pmo_events.runtime import pgdirect


class Database:
    """Engine and session factory; `transaction()` is the unit of atomicity for every command."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # No pre-ping: it is a round trip on every checkout (a tenth of a command's CPU). A connection
            # that died with the server fails its statement instead, which invalidates the whole pool, so
            # one command answers 503 (retryable) after a database restart and the next ones reconnect.
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        #: Pooled asyncpg connections lent to units of work that need no session (PostgreSQL); it keeps at
        #: most half the pool's connections idle between commands, so sessions always have the other half.
        self.lender: pgdirect.Lender | None = (
            pgdirect.Lender(self.engine, keep=max(1, pool_size // 2))
            if self.engine.dialect.driver == "asyncpg"
            else None
        )
        # SQLite has one writer at a time: queue this process's writers here instead of in
        # SQLite's busy handler (threads spinning on the file lock can starve each other).
        self._sqlite_writer = asyncio.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        if self.is_sqlite:
            async with self._sqlite_writer, self.sessions() as session, session.begin():
                yield session
        else:
            # Committed explicitly rather than by `session.begin()`'s context: the same transaction (begun by
            # the first statement, rolled back by the close on any error) without a trip through
            # SQLAlchemy's greenlet bridge to begin it, some 60 µs of CPU per command on this machine.
            async with self.sessions() as session:
                yield session
                await session.commit()

    async def analyze(self, *tables: Table) -> None:
        """Refresh the planner's statistics of the given tables, or of every one (PostgreSQL; nothing elsewhere).

        A consumer catching up grows its tables far faster than autovacuum's schedule refreshes their
        statistics (and a server may run without autovacuum): planned from stale ones, a batch's lookup of
        a few hundred keys hashes every row of its table, and its cost grows with the history."""
        if not self.is_postgres:
            return
        async with self.engine.begin() as conn:
            await conn.execute(text(" ".join(["ANALYZE", ", ".join(f'"{table.name}"' for table in tables)])))

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """A pooled asyncpg connection outside any transaction (each statement commits alone), for a
        statement that needs neither the session nor a BEGIN/COMMIT round trip around it. PostgreSQL only.
        A failure invalidates the connection, so a lost one is not handed out again."""
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            try:
                yield raw.driver_connection
            except Exception:
                await connection.invalidate()
                raise

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self.lender is not None:
            await self.lender.close()
        await self.engine.dispose()


async def asyncpg_connection(session: AsyncSession) -> Any | None:
    """The session's asyncpg connection, inside its transaction (for COPY and cursors); None elsewhere."""
    if session.bind.dialect.driver != "asyncpg":
        return None
    connection = await session.connection()
    adapter: Any = (await connection.get_raw_connection()).dbapi_connection
    # SQLAlchemy's asyncpg adapter opens the transaction at its first statement: a COPY sent straight to the
    # driver before any statement would otherwise run outside it (autocommitted, kept on a rollback).
    async with adapter._execute_mutex:
        if not adapter._started:
            await adapter._start_transaction()
    return adapter.driver_connection


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL for concurrent readers; explicit BEGIN so SAVEPOINTs work with the sqlite3 driver."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")
