"""pgdirect's statement builders on a real PostgreSQL table whose columns include a reserved word (`end`, as
resourcing's demands and allocations have): every kind of statement runs and writes what it was given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import Column, Date, MetaData, Numeric, String, Table

from pmo_events.runtime import pgdirect

pytestmark = pytest.mark.integration

bookings = Table(
    "pgdirect_bookings",
    MetaData(),
    Column("booking_id", String(40), primary_key=True),
    Column("end", Date, nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
)
NAMES = ("booking_id", "end", "amount")


@pytest.fixture
async def connection(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test's own database, holding the `pgdirect_bookings` table."""
    connection = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(
            'CREATE TABLE pgdirect_bookings (booking_id varchar(40) PRIMARY KEY, "end" date NOT NULL, '
            "amount numeric(18, 2) NOT NULL)"
        )
        yield connection
    finally:
        await connection.close()


async def test_every_statement_kind_quotes_a_reserved_column_name(connection: asyncpg.Connection) -> None:
    feed = pgdirect.ArrayColumns(bookings, NAMES)
    many = [
        {"booking_id": "a", "end": date(2027, 1, 31), "amount": Decimal("10.50")},
        {"booking_id": "b", "end": date(2027, 2, 28), "amount": Decimal("20.00")},
    ]
    await connection.execute(pgdirect.unnest_insert(bookings, NAMES), *feed.arrays(many))
    one = {"booking_id": "c", "end": date(2027, 3, 31), "amount": Decimal("30.25")}
    await connection.execute(pgdirect.values_insert(bookings, NAMES), *feed.row(one))

    changed = ("end", "amount")
    keyed = pgdirect.ArrayColumns(bookings, ("booking_id", *changed))
    await connection.execute(
        pgdirect.values_update(bookings, "booking_id", changed),
        *keyed.row({"booking_id": "c", "end": date(2027, 4, 30), "amount": Decimal("31.00")}),
    )
    await connection.execute(
        pgdirect.unnest_update(bookings, "booking_id", changed),
        *keyed.arrays(
            [
                {"booking_id": "a", "end": date(2027, 5, 31), "amount": Decimal("11.00")},
                {"booking_id": "b", "end": date(2027, 6, 30), "amount": Decimal("21.00")},
            ]
        ),
    )
    rows = await connection.fetch('SELECT booking_id, "end", amount FROM pgdirect_bookings ORDER BY booking_id')
    assert [tuple(row) for row in rows] == [
        ("a", date(2027, 5, 31), Decimal("11.00")),
        ("b", date(2027, 6, 30), Decimal("21.00")),
        ("c", date(2027, 4, 30), Decimal("31.00")),
    ]


async def test_no_statement_kind_cuts_a_value_longer_than_its_column(connection: asyncpg.Connection) -> None:
    """Session 10: the parameters' casts were the columns' own types (`$1::VARCHAR(40)[]`), and an explicit cast
    cuts a longer value without a word: a command stored it cut (a requester's own list then missed it), a
    consumer's one-statement poll applied it cut where its COPY refused it, and an UPDATE keyed by a longer id
    changed the row of the id's first 40 characters. Now every kind refuses the value, as COPY does, and a
    longer key matches nothing."""
    feed = pgdirect.ArrayColumns(bookings, NAMES)
    at_most = {"booking_id": "k" * 40, "end": date(2027, 1, 31), "amount": Decimal("1.00")}
    await connection.execute(pgdirect.values_insert(bookings, NAMES), *feed.row(at_most))
    longer = {**at_most, "booking_id": "k" * 41}
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        await connection.execute(pgdirect.unnest_insert(bookings, NAMES), *feed.arrays([longer]))
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        await connection.execute(pgdirect.values_insert(bookings, NAMES), *feed.row(longer))

    keyed = pgdirect.ArrayColumns(bookings, ("booking_id", "amount"))
    moved = {"booking_id": "k" * 41, "amount": Decimal("9.00")}
    await connection.execute(pgdirect.values_update(bookings, "booking_id", ("amount",)), *keyed.row(moved))
    await connection.execute(pgdirect.unnest_update(bookings, "booking_id", ("amount",)), *keyed.arrays([moved]))
    rows = await connection.fetch("SELECT booking_id, amount FROM pgdirect_bookings")
    assert [tuple(row) for row in rows] == [("k" * 40, Decimal("1.00"))]
