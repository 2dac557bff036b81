"""pgdirect's statement builders on a real PostgreSQL table whose columns include a reserved word (`end`, as
resourcing's demands and allocations have): every kind of statement runs and writes what it was given."""

from __future__ import annotations

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


async def test_every_statement_kind_quotes_a_reserved_column_name(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(
            'CREATE TABLE pgdirect_bookings (booking_id varchar(40) PRIMARY KEY, "end" date NOT NULL, '
            "amount numeric(18, 2) NOT NULL)"
        )
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
    finally:
        await connection.close()
