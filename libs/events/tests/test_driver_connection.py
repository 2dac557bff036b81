"""Given a transaction whose first statement goes straight to asyncpg (reporting's COPY paths), when the
transaction is rolled back, then what the driver wrote is gone too: the driver connection is handed out inside
the session's transaction, never in autocommit."""

from __future__ import annotations

from pathlib import Path

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
