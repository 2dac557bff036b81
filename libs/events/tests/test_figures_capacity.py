"""Capacity vs demand: the one definition both resourcing and reporting show, on an April fiscal year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from pmo_events.figures.capacity import BookedLoad, DemandLine, ResourceCalendar, capacity_rows, fte
from pmo_events.figures.days import Span
from pmo_events.figures.fiscal import FiscalCalendar

APRIL = FiscalCalendar(year_start_month=4)
MONTH = Span(date(2027, 4, 1), date(2027, 4, 30))  # FY2027-P01: 22 weekdays, 17 Mondays to Thursdays
ANN = ResourceCalendar(
    "ann", "developer", Decimal("1"), pool="core", skills=("python",),
    time_off=(Span(date(2027, 4, 5), date(2027, 4, 6)),),
)  # fmt: skip
BOB = ResourceCalendar(
    "bob", "developer", Decimal("0.8"), working_days=("mon", "tue", "wed", "thu"), skills=("python", "sql")
)
BOOKINGS = [
    BookedLoad("ann", "confirmed", Decimal("0.5"), MONTH),
    BookedLoad("bob", "proposed", Decimal("1"), Span(date(2027, 4, 1), date(2027, 4, 15))),  # 9 of bob's 17 days
    BookedLoad("bob", "confirmed", Decimal("1"), Span(date(2027, 4, 10), date(2027, 4, 11))),  # a weekend: no load
]
DEMAND = [
    DemandLine("developer", Decimal("1"), MONTH),
    DemandLine("developer", Decimal("2"), Span(date(2027, 4, 16), date(2027, 4, 30))),  # 11 of 22 weekdays
    DemandLine("tester", Decimal("1"), Span(date(2027, 5, 1), date(2027, 5, 31))),  # next period
]


def _rows(group_by: str) -> list[dict]:
    return capacity_rows([ANN, BOB], BOOKINGS, DEMAND, APRIL.buckets(MONTH), group_by)  # type: ignore[arg-type]


def test_capacity_is_working_days_of_each_calendar_minus_time_off() -> None:
    [row] = _rows("role")
    capacity = Fraction(20, 22) + Fraction(4, 5)
    load = Fraction(1, 2) + Fraction(9, 17)
    assert row == {
        "period": "FY2027-P01",
        "start": "2027-04-01",
        "end": "2027-04-30",
        "group": "developer",
        "capacity": str(fte(capacity)),
        "demand": "2",
        "confirmed": "0.5",
        "proposed": str(fte(load - Fraction(1, 2))),
        "gap": str(fte(capacity - 2)),
        "utilisation": str(fte(load / capacity)),
        "over_allocated": False,
    }
    assert (row["capacity"], row["proposed"], row["gap"], row["utilisation"]) == (
        "1.7091",
        "0.5294",
        "-0.2909",
        "0.6023",
    )


def test_grouped_by_pool_skill_or_resource_there_is_no_demand() -> None:
    assert [(r["group"], r["capacity"], r["demand"], r["gap"]) for r in _rows("pool")] == [
        ("core", "0.9091", None, None), ("unassigned", "0.8", None, None)
    ]  # fmt: skip
    assert [(r["group"], r["capacity"]) for r in _rows("skill")] == [("python", "1.7091"), ("sql", "0.8")]
    assert [(r["group"], r["confirmed"], r["proposed"]) for r in _rows("resource")] == [
        ("ann", "0.5", "0"), ("bob", "0", "0.5294")
    ]  # fmt: skip


def test_a_retired_resource_has_no_capacity_from_its_retirement() -> None:
    leaving = ResourceCalendar("cy", "tester", Decimal("1"), retired_on=date(2027, 4, 16))
    [row] = capacity_rows([leaving], [], [], APRIL.buckets(MONTH), "role")
    assert row["capacity"] == str(fte(Fraction(11, 22))) and row["utilisation"] == "0"


def test_an_over_booked_group_is_flagged_and_no_capacity_has_no_utilisation() -> None:
    busy = [BookedLoad("bob", "confirmed", Decimal("1"), MONTH)]
    [row] = capacity_rows([BOB], busy, [], APRIL.buckets(MONTH), "resource")
    assert row["over_allocated"] is True and row["utilisation"] == "1.25"
    gone = ResourceCalendar("dee", "tester", Decimal("1"), retired_on=date(2027, 1, 1))
    [row] = capacity_rows([gone], [], [], APRIL.buckets(MONTH), "role")
    assert row["capacity"] == "0" and row["utilisation"] is None
