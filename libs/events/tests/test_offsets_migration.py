"""runtime_0005 on a database of an earlier release: a consumer's offset rows keep their offsets and gain the poll
id column (NULL: written before it), and the downgrade takes the column away again (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import inspect, text

from pmo_events.runtime import Database
from pmo_events.runtime.consumed import stored_offsets
from pmo_events.runtime.migrate import alembic_config
from pmo_events.runtime.schema import metadata

from .support import NO_SERVICE_VERSIONS

pytestmark = pytest.mark.integration


async def _columns(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        found = await connection.run_sync(lambda sync: inspect(sync).get_columns("pmo_consumer_offsets"))
    return {column["name"] for column in found}


async def test_offset_rows_of_runtime_0004_gain_the_poll_id_and_lose_it_on_downgrade(database_url: str) -> None:
    config = alembic_config(database_url, NO_SERVICE_VERSIONS, metadata)
    await asyncio.to_thread(command.upgrade, config, "heads")
    await asyncio.to_thread(command.downgrade, config, "runtime_0004")  # an earlier release's table
    db = Database(database_url)
    try:
        assert "poll_id" not in await _columns(db)
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO pmo_consumer_offsets (consumer, topic, partition, next_offset, broker_epoch)"
                    " VALUES ('c', 't', 0, 5, 'e'), ('c', 't', 1, 9, 'e')"
                )
            )

        await asyncio.to_thread(command.upgrade, config, "heads")
        assert "poll_id" in await _columns(db)
        async with db.sessions() as session:
            assert await stored_offsets(session, "c") == {("t", 0): (5, "e", None), ("t", 1): (9, "e", None)}
            await session.execute(text("UPDATE pmo_consumer_offsets SET poll_id = 'p-1' WHERE partition = 1"))
            await session.commit()

        await asyncio.to_thread(command.downgrade, config, "runtime_0004")
        assert "poll_id" not in await _columns(db)
        async with db.sessions() as session:
            rows = await session.execute(text("SELECT partition, next_offset FROM pmo_consumer_offsets ORDER BY 1"))
            assert [tuple(row) for row in rows] == [(0, 5), (1, 9)]
    finally:
        await db.dispose()
