"""runtime_0003 on a database of an earlier release: the rows marked sent leave the outbox, the unsent stay, and the
partial index of unsent rows goes (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from pmo_events.runtime import Database
from pmo_events.runtime.migrate import alembic_config
from pmo_events.runtime.schema import metadata, outbox

from .support import NO_SERVICE_VERSIONS

pytestmark = pytest.mark.integration


async def _indexes(db: Database) -> set[str | None]:
    async with db.engine.connect() as connection:
        found = await connection.run_sync(lambda sync: inspect(sync).get_indexes("pmo_outbox"))
    return {index["name"] for index in found}


async def test_an_outbox_of_runtime_0002_keeps_only_its_unsent_rows(database_url: str) -> None:
    config = alembic_config(database_url, NO_SERVICE_VERSIONS, metadata)
    await asyncio.to_thread(command.upgrade, config, "runtime_0002")
    db = Database(database_url)
    try:
        now = datetime.now(UTC)
        async with db.transaction() as session:
            # runtime_0001 creates the outbox from today's schema; an earlier release's had this index.
            await session.execute(
                text("CREATE INDEX ix_pmo_outbox_pending ON pmo_outbox (id) WHERE published_at IS NULL")
            )
            rows = [
                {"topic": "t", "key": f"k{n}", "headers": "{}", "value": b"{}", "created_at": now, "published_at": at}
                for n, at in enumerate([now, None, now, None])
            ]
            await session.execute(outbox.insert(), rows)
        assert "ix_pmo_outbox_pending" in await _indexes(db)

        await asyncio.to_thread(command.upgrade, config, "heads")
        async with db.sessions() as session:
            left = (await session.execute(select(outbox.c.key, outbox.c.published_at).order_by(outbox.c.id))).all()
        assert [tuple(row) for row in left] == [("k1", None), ("k3", None)]
        assert "ix_pmo_outbox_pending" not in await _indexes(db)

        await asyncio.to_thread(command.downgrade, config, "runtime_0002")
        assert "ix_pmo_outbox_pending" in await _indexes(db)
        async with db.sessions() as session:
            assert (await session.execute(select(func.count()).select_from(outbox))).scalar_one() == 2
    finally:
        await db.dispose()
