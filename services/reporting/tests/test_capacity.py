"""Capacity vs demand from resourcing's facts: time off, soft and hard bookings, releases, over-allocation."""

from __future__ import annotations

import random
from datetime import date

from pmo_events.figures.days import Span
from pmo_events.figures.fiscal import CALENDAR_YEAR
from pmo_reporting.adapters.http.responses import Overallocated
from pmo_reporting.projections.catalogue import CAPACITY
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.capacity import capacity_heatmap, overallocations
from pmo_servicekit.contract.shared import Overallocation
from pmo_servicekit.contract.wire import FTE_PLACES

from .support import Staffing


def fold(events) -> InMemoryDocuments:
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


def test_role_by_period_capacity_demand_bookings_and_utilisation_by_working_days() -> None:
    rows = capacity_heatmap(
        fold(staffing().events), CALENDAR_YEAR, Span(date(2026, 3, 1), date(2026, 4, 30)), "role", "period"
    )
    march, april = rows
    assert (march["period"], march["capacity"], march["demand"], march["confirmed"], march["proposed"]) == (
        "FY2026-P03", "1.5", "2", "1", "0.5"
    )  # fmt: skip
    assert (march["utilisation"], march["over_allocated"], march["gap"]) == ("1", False, "-0.5")
    # r-1 is away 11 of April's 22 working days; a-3 was released.
    assert (april["capacity"], april["confirmed"], april["proposed"]) == ("1", "1", "0")
    assert (april["start"], april["end"], april["utilisation"]) == ("2026-04-01", "2026-04-30", "1")


def test_grouped_by_resource_each_calendar_shows() -> None:
    window = Span(date(2026, 4, 1), date(2026, 4, 30))
    rows = capacity_heatmap(fold(staffing().events), CALENDAR_YEAR, window, "resource", "period")
    assert [(r["group"], r["capacity"], r["confirmed"], r["demand"]) for r in rows] == [
        ("r-1", "0.5", "1", None), ("r-2", "0.5", "0", None)
    ]  # fmt: skip


def test_over_allocations_are_listed_with_who_accepted_them() -> None:
    facts = overallocations(fold(staffing().events), start=date(2026, 3, 1), end=date(2026, 4, 30))
    assert [(f["resource_id"], f["accepted_by"], f["reason"]) for f in facts] == [("r-1", "rm", "go-live")]
    assert overallocations(fold(staffing().events), start=date(2026, 6, 1), end=date(2026, 6, 30)) == []


def test_an_over_allocation_answers_resourcings_shape_with_its_weeks_in_fte() -> None:
    [fact] = overallocations(fold(staffing().events), start=date(2026, 3, 1), end=date(2026, 4, 30))
    answered = Overallocated.model_validate(fact).model_dump(mode="json")
    assert set(answered) == {*Overallocation.model_fields, "at"}
    assert answered["weeks"] and all(
        len(w[key].split(".")[1]) == FTE_PLACES for w in answered["weeks"] for key in ("capacity", "load", "excess")
    )


def test_bookings_in_any_arrival_order_give_the_same_heatmap() -> None:
    events = staffing().events
    expected = sorted(fold(events).rows())
    for seed in range(5):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        assert sorted(fold(shuffled).rows()) == expected
