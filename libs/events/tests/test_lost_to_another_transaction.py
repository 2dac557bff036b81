"""A transaction PostgreSQL aborts for another's sake (deadlock_detected 40P01, serialization_failure 40001) is a lost
race: a command's unit of work raises `ConcurrencyConflict` (run_command decides it again, as after any lost race), and
a subscription counts it as transient (the poll is applied again, never dead-lettered). Review 1 of session 10, F1:
it was a plain `DBAPIError`, i.e. a 500 answer, or a dead letter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pmo_events.runtime import CommandRuntime, ConcurrencyConflict, EventStore, Metadata
from pmo_events.runtime.store import lost_to_another_transaction
from pmo_events.runtime.subscription import is_transient

from .support import migrated

pytestmark = pytest.mark.integration


class _Orig(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("sqlstate", "lost"), [("40P01", True), ("40001", True), ("23505", False), (None, False)])
def test_only_deadlocks_and_serialization_failures_are_lost_races(sqlstate: str | None, lost: bool) -> None:
    error = DBAPIError("UPDATE t", None, _Orig(sqlstate))
    assert lost_to_another_transaction(error) is lost
    assert is_transient(error) is lost
    assert not lost_to_another_transaction(_Orig(sqlstate))  # not through SQLAlchemy: not a database error here


async def test_a_command_that_loses_a_deadlock_is_a_concurrency_conflict(postgres_url: str, tmp_path: Path) -> None:
    db = await migrated(postgres_url, tmp_path)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="t"))
    other = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await other.execute("CREATE TABLE lost_race (id INT PRIMARY KEY, n INT NOT NULL)")
        await other.execute("INSERT INTO lost_race VALUES (1, 0), (2, 0)")
        await other.execute("BEGIN")
        await other.execute("UPDATE lost_race SET n = n + 1 WHERE id = 1")
        with pytest.raises(ConcurrencyConflict) as raised:
            async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
                await uow.session.execute(text("UPDATE lost_race SET n = n + 1 WHERE id = 2"))
                waiting = asyncio.create_task(uow.session.execute(text("UPDATE lost_race SET n = n + 1 WHERE id = 1")))
                await asyncio.sleep(0.3)  # the command waits first: the deadlock detector picks it
                closing = asyncio.create_task(other.execute("UPDATE lost_race SET n = n + 1 WHERE id = 2"))
                await waiting
        assert lost_to_another_transaction(raised.value.__cause__)  # type: ignore[arg-type]
        await asyncio.wait_for(closing, 10)  # the other transaction went on
        await other.execute("ROLLBACK")
    finally:
        await other.execute("DROP TABLE IF EXISTS lost_race")
        await other.close()
        await db.dispose()
