"""Session 11 review 2, R2-1: a command's (or a poll's) insert of a view row it found missing can meet the same row
inserted meanwhile by another transaction (an operator's rebuild, waited for on its table lock). That unique
violation is a lost race (`TransactionConflict`, a `ConcurrencyConflict`: decided or applied again), through
SQLAlchemy and through `pgdirect` (the asyncpg insert a `StreamView` uses); any other integrity error is not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from pmo_events.runtime import Database, pgdirect
from pmo_events.runtime.store import TransactionConflict, view_rows_taken_are_a_lost_race
from pmo_events.runtime.subscription import is_transient

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE taken_rows (id VARCHAR(36) PRIMARY KEY, n INT NOT NULL)"))
        await session.execute(text("INSERT INTO taken_rows VALUES ('a', 0)"))
    yield database
    await database.dispose()


async def test_a_view_row_inserted_meanwhile_is_a_lost_race(db: Database) -> None:
    with pytest.raises(TransactionConflict) as raised:
        async with db.transaction() as session:
            with view_rows_taken_are_a_lost_race():
                await session.execute(text("INSERT INTO taken_rows VALUES ('a', 1)"))
    assert isinstance(raised.value.__cause__, IntegrityError)
    assert is_transient(raised.value)


async def test_through_pgdirect_too(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("pgdirect is asyncpg's")
    with pytest.raises(TransactionConflict):
        async with db.transaction() as session:
            with view_rows_taken_are_a_lost_race():
                await pgdirect.fetch(session, "INSERT INTO taken_rows VALUES ($1, $2)", "a", 1)


async def test_another_integrity_error_is_not(db: Database) -> None:
    with pytest.raises(IntegrityError) as raised:
        async with db.transaction() as session:
            with view_rows_taken_are_a_lost_race():
                await session.execute(text("INSERT INTO taken_rows VALUES ('b', NULL)"))
    assert not isinstance(raised.value, TransactionConflict)
