"""portfolio_0012: the views' JSON columns are compressed by PostgreSQL with lz4 (a rebuild's COPY of the projects'
states cost the server several times more with pglz); the text is the same. The downgrade goes back to the
server's default, and upgrading again works. SQLite: nothing changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from pmo_events.runtime import Database
from pmo_events.runtime.migrate import alembic_config
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.delivery.views import projects

LONG_STATE = '{"project_id":"p","reports":"' + "a report's words " * 400 + '"}'


#: Every column of portfolio's views that holds a JSON document.
JSON_COLUMNS = {
    ("portfolio_portfolios", "state"),
    ("portfolio_objectives", "state"),
    ("portfolio_candidates", "registration"),
    ("portfolio_candidates", "decision"),
    ("portfolio_assessments", "assessment"),
    ("portfolio_decisions", "payload"),
    ("portfolio_scenarios", "payload"),
    ("portfolio_projects", "state"),
    ("portfolio_programmes", "state"),
    ("portfolio_dependencies", "state"),
    ("portfolio_raid_items", "state"),
    ("portfolio_motions", "state"),
}


async def _methods(db: Database) -> dict[tuple[str, str], str]:
    async with db.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT c.relname, a.attname, a.attcompression::text FROM pg_attribute AS a"
                " JOIN pg_class AS c ON c.oid = a.attrelid WHERE c.relname LIKE 'portfolio_%' AND a.attnum > 0"
            )
        )
        return {(table, column): method for table, column, method in rows}


async def test_every_json_column_is_lz4_and_a_long_state_is_kept_so_the_same_text(database_url: str) -> None:
    config = alembic_config(database_url, PORTFOLIO.migrations, PORTFOLIO.metadata)
    await asyncio.to_thread(command.upgrade, config, "heads")
    db = Database(database_url)
    try:
        columns = JSON_COLUMNS
        tables = {table.name: table for table in PORTFOLIO.view_tables}
        assert all(column in tables[table].c for table, column in columns)
        async with db.transaction() as session:
            row = {"project_id": "p", "portfolio_id": "f", "status": "active", "stage": "plan", "version": 1}
            await session.execute(projects.insert().values(**row, state=LONG_STATE, updated_at=datetime.now(UTC)))
        async with db.sessions() as session:
            stored = (await session.execute(text("SELECT state FROM portfolio_projects"))).scalar_one()
            assert stored == LONG_STATE
            if session.bind.dialect.name != "postgresql":
                return
            kept = await session.execute(text("SELECT pg_column_compression(state) FROM portfolio_projects"))
            assert kept.scalar_one() == "lz4"
        methods = await _methods(db)
        assert {column: methods[column] for column in columns} == dict.fromkeys(columns, "l")
        # Only those: the other text columns keep the server's default.
        assert {column for column, method in methods.items() if method == "l"} == columns
        await db.dispose()
        await asyncio.to_thread(command.downgrade, config, "portfolio_0011")
        assert set((await _methods(db)).values()) == {""}
        async with db.sessions() as session:  # a value written with lz4 is still read after the downgrade
            assert (await session.execute(text("SELECT state FROM portfolio_projects"))).scalar_one() == LONG_STATE
        await db.dispose()
        await asyncio.to_thread(command.upgrade, config, "heads")
        assert {column: method for column, method in (await _methods(db)).items() if method} == dict.fromkeys(
            columns, "l"
        )
    finally:
        await db.dispose()


async def test_a_database_left_at_portfolio_0012_without_lz4_or_with_the_counts_columns_gets_lz4_and_loses_them(
    database_url: str,
) -> None:
    """portfolio_0013 (session 15's review R1, R5): a database at portfolio_0012 with its columns still pglz (45e68b0's
    migration took a lock timeout or a deadlock for "no lz4" and was recorded; or it ran e83a877's reverted
    portfolio_0012, the lesson and realisation counts, whose id was reused) gets lz4, and e83a877's two columns,
    stale since, are dropped. Before, such a database kept pglz and the columns for good."""
    config = alembic_config(database_url, PORTFOLIO.migrations, PORTFOLIO.metadata)
    await asyncio.to_thread(command.upgrade, config, "portfolio_0011")
    db = Database(database_url)
    try:
        async with db.transaction() as session:  # what e83a877's portfolio_0012 did
            for name in ("lessons", "realisations"):
                await session.execute(
                    text(f"ALTER TABLE portfolio_projects ADD COLUMN {name} INTEGER NOT NULL DEFAULT 0")
                )
            row = {"project_id": "p", "portfolio_id": "f", "status": "active", "stage": "plan", "version": 1}
            await session.execute(projects.insert().values(**row, state=LONG_STATE, updated_at=datetime.now(UTC)))
        await db.dispose()
        await asyncio.to_thread(command.stamp, config, "portfolio_0012")
        await asyncio.to_thread(command.upgrade, config, "heads")
        async with db.sessions() as session:
            columns = await session.run_sync(
                lambda sync: {column["name"] for column in inspect(sync.connection()).get_columns("portfolio_projects")}
            )
            assert not columns & {"lessons", "realisations"}
            assert (await session.execute(text("SELECT state FROM portfolio_projects"))).scalar_one() == LONG_STATE
            if session.bind.dialect.name != "postgresql":
                return
        methods = await _methods(db)
        assert {column: methods[column] for column in JSON_COLUMNS} == dict.fromkeys(JSON_COLUMNS, "l")
    finally:
        await db.dispose()
