"""Given a consumer's tables filled faster than autovacuum analyzes them, `Database.analyze` gives the planner
statistics (a catch-up's lookups then stay primary-key probes instead of hashing whole tables)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from pmo_events.runtime.schema import consumed_streams

from .support import migrated


async def test_analyze_gives_postgresql_statistics_for_the_rows_just_written(postgres_url: str, tmp_path: Path) -> None:
    db = await migrated(postgres_url, tmp_path)
    try:
        async with db.transaction() as session:
            await session.execute(
                consumed_streams.insert(),
                [
                    {"consumer": "c", "source": "/pmo/intake", "stream_id": f"s-{i}", "last_sequence": 1}
                    for i in range(500)
                ],
            )
        stats = text("SELECT count(*) FROM pg_stats WHERE tablename = 'pmo_consumed_streams'")
        async with db.sessions() as session:
            assert (await session.execute(stats)).scalar_one() == 0

        await db.analyze(consumed_streams)

        async with db.sessions() as session:
            assert (await session.execute(stats)).scalar_one() > 0
    finally:
        await db.dispose()


async def test_analyze_is_nothing_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    db = await migrated(sqlite_url, tmp_path)
    try:
        await db.analyze()
    finally:
        await db.dispose()
