"""reporting_0004 beside a pod's long read of the checkpoints (PostgreSQL, session 15's review R1): the ALTER's
wait for the table's lock ends (its own lock_timeout, three tries) in a failed migration, not recorded, and its next
run makes the bodies lz4. Before, any error was taken for "a server without lz4": an operator's lock_timeout ran out
behind the read, and reporting_0004 was recorded with the bodies left as the server's default, forever."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit

import asyncpg
from alembic import command

from pmo_events.runtime.migrate import alembic_config
from pmo_reporting.bootstrap import REPORTING


async def _state(where: dict[str, object]) -> tuple[list[str], str]:
    connection = await asyncpg.connect(**where)
    try:
        versions = [row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version ORDER BY 1")]
        method = await connection.fetchval(
            "SELECT a.attcompression::text FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid"
            " WHERE c.relname = 'reporting_checkpoints' AND a.attname = 'body'"
        )
        return versions, method
    finally:
        await connection.close()


async def test_a_pods_long_read_fails_reporting_0004_it_is_not_recorded_without_lz4(postgres_url: str) -> None:
    config = alembic_config(postgres_url, REPORTING.migrations, REPORTING.metadata)
    await asyncio.to_thread(command.upgrade, config, "reporting_0003")
    parts = urlsplit(postgres_url.replace("+asyncpg", ""))
    where: dict[str, object] = {"host": parts.hostname, "port": parts.port or 5432, "user": parts.username}
    where |= {"database": parts.path[1:]} | ({"password": parts.password} if parts.password else {})
    admin = await asyncpg.connect(**where)
    await admin.execute(f"ALTER DATABASE \"{where['database']}\" SET lock_timeout = '1s'")  # an operator's
    await admin.close()
    pod = await asyncpg.connect(**where)
    reading = pod.transaction()
    await reading.start()
    await pod.fetch("SELECT body FROM reporting_checkpoints LIMIT 1")  # held past every wait
    outcome: dict[str, object] = {}

    def migrate() -> None:
        try:
            command.upgrade(config, "heads")
            outcome["migration"] = "ok"
        except Exception as error:  # what the migration raised is the outcome
            outcome["migration"] = error

    thread = threading.Thread(target=migrate)
    thread.start()
    try:
        await asyncio.to_thread(thread.join, 60)
    finally:
        await reading.rollback()
        await pod.close()
        await asyncio.to_thread(thread.join)
    versions, method = await _state(where)
    assert isinstance(outcome["migration"], Exception), (outcome, versions, method)
    assert "lock timeout" in str(outcome["migration"])
    assert "reporting_0003" in versions
    await asyncio.to_thread(command.upgrade, config, "heads")  # run again, nothing in its way
    versions, method = await _state(where)
    assert "reporting_0003" not in versions
    assert method == "l"
