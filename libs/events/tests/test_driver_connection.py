"""Given a transaction whose first statement goes straight to asyncpg (reporting's COPY paths), when the
transaction is rolled back, then what the driver wrote is gone too: the driver connection is handed out inside
the session's transaction, never in autocommit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pmo_events.runtime.database import asyncpg_connection

from .support import migrated


class Boom(Exception):
    pass


async def test_a_copy_before_any_statement_rolls_back_with_the_transaction(postgres_url: str, tmp_path: Path) -> None:
    db = await migrated(postgres_url, tmp_path)
    try:
        async with db.sessions() as session:
            await session.execute(text("CREATE TABLE copied (n integer)"))
            await session.commit()
        with pytest.raises(Boom):
            async with db.transaction() as session:
                driver = await asyncpg_connection(session)
                assert driver is not None
                await driver.copy_records_to_table("copied", records=[(1,), (2,)])
                raise Boom
        async with db.sessions() as session:
            assert (await session.execute(text("SELECT count(*) FROM copied"))).scalar_one() == 0

        async with db.transaction() as session:
            driver = await asyncpg_connection(session)
            assert driver is not None
            await driver.copy_records_to_table("copied", records=[(3,)])
        async with db.sessions() as session:
            assert (await session.execute(text("SELECT count(*) FROM copied"))).scalar_one() == 1
    finally:
        await db.dispose()


async def test_there_is_no_driver_connection_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    db = await migrated(sqlite_url, tmp_path)
    try:
        async with db.transaction() as session:
            assert await asyncpg_connection(session) is None
    finally:
        await db.dispose()


async def test_pgdirect_asks_for_the_connection_once_per_transaction_and_again_after_it(
    postgres_url: str, tmp_path: Path
) -> None:
    """pgdirect keeps the session's connection for the rest of its transaction (one trip through SQLAlchemy's
    greenlet bridge, not one per statement); a session's next transaction, or one after its connection was
    lost, asks again, so a statement never goes to a connection the session has given back."""
    from pmo_events.runtime import pgdirect

    db = await migrated(postgres_url, tmp_path)
    try:
        async with db.sessions() as session:
            asked = 0
            real = session.connection

            async def counted(*args: Any, **kwargs: Any) -> Any:
                nonlocal asked
                asked += 1
                return await real(*args, **kwargs)

            session.connection = counted  # type: ignore[method-assign]
            pids = [(await pgdirect.fetch(session, "SELECT pg_backend_pid()"))[0][0] for _ in range(3)]
            assert asked == 1 and len(set(pids)) == 1
            await session.rollback()
            await pgdirect.fetch(session, "SELECT 1")
            assert asked == 2  # a new transaction: asked again
            connection = await real()
            await connection.invalidate()
            await session.rollback()
            assert (await pgdirect.fetch(session, "SELECT 1"))[0][0] == 1
            assert asked == 3
    finally:
        await db.dispose()
