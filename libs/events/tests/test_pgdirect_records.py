"""`ArrayColumns.records`, a rebuild's `COPY` records: each row's values as `zip(*arrays(rows))` gives them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Boolean, Column, MetaData, Numeric, String, Table

from pmo_events.runtime import pgdirect
from pmo_events.runtime.schema import UtcDateTime

lines = Table(
    "pgdirect_record_lines",
    MetaData(),
    Column("line_id", String(40), primary_key=True),
    Column("amount", Numeric(18, 2)),
    Column("over", Boolean),
    Column("at", UtcDateTime),
)
ROWS = [
    # keys in another order than the columns', a non-UTC time (converted), a None
    {"at": datetime(2027, 1, 1, 9, tzinfo=timezone(timedelta(hours=2))), "over": True, "amount": "1.5", "line_id": "a"},
    {"at": datetime(2027, 2, 1, tzinfo=UTC), "over": False, "amount": None, "line_id": "b"},
]


def test_records_are_the_arrays_row_by_row_converted_alike() -> None:
    for names in (("line_id", "amount", "over", "at"), ("at", "line_id"), ("line_id", "amount"), ("at",), ("line_id",)):
        feed = pgdirect.ArrayColumns(lines, names)
        expected = list(zip(*feed.arrays(ROWS), strict=True))
        assert feed.records(ROWS) == expected, names
        assert all(type(record) is tuple and len(record) == len(names) for record in feed.records(ROWS)), names
    (converted,) = pgdirect.ArrayColumns(lines, ("at",)).records(ROWS)[0]
    assert converted == datetime(2027, 1, 1, 7, tzinfo=UTC) and converted.tzinfo is UTC  # converted, not as given
