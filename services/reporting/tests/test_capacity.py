"""Capacity vs demand from resourcing's facts: time off, soft and hard bookings, releases, over-allocation."""

from __future__ import annotations

import random
from datetime import date

from pmo_reporting.projections.catalogue import CAPACITY
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.capacity import capacity_heatmap, overallocations

from .support import Staffing


def fold(events) -> InMemoryDocuments:  # type: ignore[no-untyped-def]
    docs = InMemoryDocuments()
    for event in events:
        CAPACITY.apply(docs, event)
    return docs


def staffing() -> Staffing:
    s = Staffing()
    s.resource("r-1", "developer")
    s.resource("r-2", "developer", fte="0.5")
    s.time_off("r-1", date(2026, 4, 1), date(2026, 4, 15))
    s.demand("p-1", "developer", "2", date(2026, 3, 1), date(2026, 4, 30))
    s.booked("a-1", "r-1", "1", date(2026, 3, 1), date(2026, 4, 30), "proposed")
    s.at(2).confirmed("a-1", "r-1")
    s.booked("a-2", "r-2", "0.5", date(2026, 3, 1), date(2026, 3, 31), "proposed")
    s.booked("a-3", "r-2", "0.5", date(2026, 4, 1), date(2026, 4, 30), "confirmed")
    s.at(3).released("a-3", "r-2")
    s.overallocated("r-1", "2026-W14")
    return s


def test_role_by_month_capacity_demand_bookings_and_utilisation() -> None:
    rows = capacity_heatmap(fold(staffing().events), start=date(2026, 3, 1), end=date(2026, 4, 30))
    march, april = rows
    assert (march["month"], march["capacity"], march["demand"], march["booked"], march["proposed"]) == (
        "2026-03",
        "1.50",
        "2.00",
        "1.00",
        "0.50",
    )
    assert (march["utilisation"], march["over_allocated"], march["gap"]) == ("1.0000", False, "-0.50")
    # r-1 is away half of April: 15 of 30 days; a-3 was released.
    assert (april["capacity"], april["booked"], april["proposed"]) == ("1.00", "1.00", "0.00")
    assert april["utilisation"] == "1.0000"


def test_over_allocations_are_listed_with_who_accepted_them() -> None:
    facts = overallocations(fold(staffing().events), start=date(2026, 3, 1), end=date(2026, 4, 30))
    assert [(f["resource_id"], f["accepted_by"], f["reason"]) for f in facts] == [("r-1", "rm", "go-live")]
    assert overallocations(fold(staffing().events), start=date(2026, 6, 1), end=date(2026, 6, 30)) == []


def test_bookings_in_any_arrival_order_give_the_same_heatmap() -> None:
    events = staffing().events
    expected = sorted(fold(events).rows())
    for seed in range(5):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        assert sorted(fold(shuffled).rows()) == expected
