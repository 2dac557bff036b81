"""portfolio_0012 beside the previous release's pods (PostgreSQL, session 15's review R1): a pod's transaction
holding one of the tables never leaves the revision recorded with its columns still pglz (the migration fails,
loudly, and its next run does it all), and a pod's transaction reading two of the tables in the other order than
the migration's is not aborted by a deadlock (each table's ALTER commits on its own, holding no other lock).

Until then the twelve ALTERs ran in the migration's transaction, and any error was taken for "a server without
lz4": an operator's `lock_timeout` ran out behind a pod's read → the revision recorded with every column pglz,
forever; the pod's read in the other order → a deadlock, one side aborted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import asyncpg
import pytest
from alembic import command

from pmo_events.runtime.migrate import alembic_config
from pmo_portfolio.bootstrap import PORTFOLIO

# The migration's first and last tables (JSON_COLUMNS order).
FIRST, LAST = "portfolio_portfolios", "portfolio_projects"


@pytest.fixture
async def at_0011(postgres_url: str) -> AsyncIterator[tuple[str, dict[str, object]]]:
    """A database at portfolio_0011, and how asyncpg connects to it."""
    config = alembic_config(postgres_url, PORTFOLIO.migrations, PORTFOLIO.metadata)
    await asyncio.to_thread(command.upgrade, config, "portfolio_0011")
    parts = urlsplit(postgres_url.replace("+asyncpg", ""))
    where: dict[str, object] = {"host": parts.hostname, "port": parts.port or 5432, "user": parts.username}
    where["database"] = parts.path[1:]
    if parts.password:
        where["password"] = parts.password
    yield postgres_url, where


async def _state(where: dict[str, object]) -> tuple[list[str], dict[tuple[str, str], str]]:
    connection = await asyncpg.connect(**where)
    try:
        versions = [row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version ORDER BY 1")]
        methods = await connection.fetch(
            "SELECT c.relname, a.attname, a.attcompression::text FROM pg_attribute AS a JOIN pg_class AS c"
            " ON c.oid = a.attrelid WHERE c.relname LIKE 'portfolio_%' AND a.attcompression <> ''"
        )
        return versions, {(table, column): method for table, column, method in methods}
    finally:
        await connection.close()


def _in_thread(run: Callable[[], None]) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def go() -> None:
        try:
            run()
            outcome["migration"] = "ok"
        except Exception as error:  # what the migration raised is the outcome
            outcome["migration"] = error

    thread = threading.Thread(target=go)
    thread.start()
    return thread, outcome


async def _waiting_for(where: dict[str, object], table: str) -> None:
    """Until a migration's ALTER of `table` waits for its lock."""
    watcher = await asyncpg.connect(**where)
    try:
        for _ in range(600):
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE $1",
                f"ALTER TABLE {table} %",
            )
            if waiting:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"no ALTER of {table} waited for its lock")
    finally:
        await watcher.close()


async def test_a_pods_long_read_fails_the_migration_it_is_not_recorded_with_pglz(
    at_0011: tuple[str, dict[str, object]],
) -> None:
    url, where = at_0011
    admin = await asyncpg.connect(**where)
    # An operator's lock_timeout for migrations (the reviewer's case): before, it ran out and was swallowed.
    await admin.execute(f"ALTER DATABASE \"{where['database']}\" SET lock_timeout = '1s'")
    await admin.close()
    pod = await asyncpg.connect(**where)
    reading = pod.transaction()
    await reading.start()
    await pod.fetch(f"SELECT state FROM {LAST} LIMIT 1")  # an old pod's transaction, held past every wait
    config = alembic_config(url, PORTFOLIO.migrations, PORTFOLIO.metadata)
    thread, outcome = _in_thread(lambda: command.upgrade(config, "heads"))
    try:
        await asyncio.to_thread(thread.join, 60)
    finally:
        await reading.rollback()
        await pod.close()
        await asyncio.to_thread(thread.join)
    versions, methods = await _state(where)
    assert isinstance(outcome["migration"], Exception), (outcome, versions, methods)
    assert "lock timeout" in str(outcome["migration"])
    assert "portfolio_0011" in versions
    # Run again, with nothing in its way: every column lz4, recorded.
    await asyncio.to_thread(command.upgrade, config, "heads")
    versions, methods = await _state(where)
    assert "portfolio_0013" in versions
    assert len(methods) == 12 and set(methods.values()) == {"l"}


async def test_a_pods_reads_in_the_other_order_do_not_deadlock_with_the_migration(
    at_0011: tuple[str, dict[str, object]],
) -> None:
    url, where = at_0011
    pod = await asyncpg.connect(**where)
    reading = pod.transaction()
    await reading.start()
    await pod.fetch(f"SELECT state FROM {LAST} LIMIT 1")
    config = alembic_config(url, PORTFOLIO.migrations, PORTFOLIO.metadata)
    thread, outcome = _in_thread(lambda: command.upgrade(config, "heads"))
    try:
        await _waiting_for(where, LAST)  # it has altered the first table, and waits for the pod's
        # Before: the migration still held the first table, so this read waited for it: a deadlock.
        read = await asyncio.wait_for(pod.fetch(f"SELECT state FROM {FIRST} LIMIT 1"), 30)
        await reading.commit()
    except BaseException:
        await reading.rollback()
        raise
    finally:
        await pod.close()
        await asyncio.to_thread(thread.join)
    assert read == []
    assert outcome["migration"] == "ok"
    versions, methods = await _state(where)
    assert "portfolio_0013" in versions
    assert len(methods) == 12 and set(methods.values()) == {"l"}
