"""Capacity, time off, retirement and free capacity of a resource, given events / when / then."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from pmo_devstack import testing
from pmo_events.contracts.resourcing import (
    AllocationBooked,
    AllocationChanged,
    AllocationReleased,
    DemandCancelled,
    DemandRaised,
    ResourceOverallocated,
    ResourceRegistered,
    ResourceRetired,
    ResourceUpdated,
    Skill,
)
from pmo_events.figures.days import Span
from pmo_events.runtime import fold
from pmo_resourcing.application.consumer import PROJECT_DEMAND
from pmo_resourcing.domain import booking, capacity, demand, profile
from pmo_resourcing.domain.booking import BookAllocation
from pmo_resourcing.domain.errors import InvalidCommand, OverAllocated, RuleViolation
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.profile import ResourceProfile

from .test_overallocation_rule import FRI, MON, NEXT_FRI, NEXT_MON, booked, given, registered, time_off

ADA = ResourceProfile(name="Ada", role="developer", skills=(Skill(name="python", level=4),))


def test_registering_takes_fte_or_hours_per_week_over_a_40_hour_week() -> None:
    by_default = profile.register(given(), ADA, by="rm")[0]
    by_hours = testing.only(
        ResourceRegistered,
        profile.register(given(), ResourceProfile(name="Bo", role="analyst", hours_per_week=Decimal(30)), by="rm"),
    )
    assert isinstance(by_default, ResourceRegistered) and by_default.fte == 1
    assert by_hours.fte == Decimal("0.75")
    with pytest.raises(InvalidCommand) as refused:
        profile.register(given(), ResourceProfile(name="Cy", role="qa", fte=Decimal(0)), by="rm")
    assert refused.value.field == "fte"
    with pytest.raises(RuleViolation):
        profile.register(given(registered()), ADA, by="rm")


def test_capacity_follows_the_resource_working_days() -> None:
    three_days = given(registered(working_days=("mon", "wed", "fri")), time_off(MON, MON))
    assert capacity.week_capacity(three_days, Span(MON, MON.replace(day=10))) == Fraction(2, 3)
    with pytest.raises(OverAllocated) as refused:
        booking.book(three_days, BookAllocation("a", "p-1", MON, FRI, Decimal("0.7")), by="m", project_state="active")
    assert refused.value.weeks[0].capacity == Decimal("0.6667")


def test_time_off_is_never_refused_but_the_weeks_it_overloads_are_flagged() -> None:
    then = profile.record_time_off(
        given(registered(), booked("a-1", "1")), time_off_id="t", start=MON, end=MON, reason="dentist", by="rm"
    )
    assert [type(e).__name__ for e in then] == ["TimeOffRecorded", "ResourceOverallocated"]
    fact = then[1]
    assert isinstance(fact, ResourceOverallocated)
    assert (fact.cause, fact.reason, [w.week for w in fact.weeks]) == ("time_off", "time off: dentist", ["2027-W01"])


def test_a_capacity_cut_that_overloads_booked_weeks_is_refused_unless_accepted() -> None:
    state = given(registered(), booked("a-1", "0.8"))
    half_time = ResourceProfile(name="Ada", role="developer", fte=Decimal("0.5"))
    with pytest.raises(OverAllocated) as refused:
        profile.update(state, half_time, by="rm")
    assert [(w.week, w.excess) for w in refused.value.weeks] == [
        ("2027-W01", Decimal("0.3")),
        ("2027-W02", Decimal("0.3")),
    ]
    then = profile.update(state, half_time, by="rm", acceptance=Acceptance(True, "agreed with sponsor"))
    assert [type(e) for e in then] == [ResourceUpdated, ResourceOverallocated]
    assert [type(e) for e in profile.update(state, ResourceProfile(name="Ada B", role="lead"), by="rm")] == [
        ResourceUpdated
    ]


def test_retiring_is_refused_while_confirmed_bookings_run_past_the_date() -> None:
    state = given(registered(), booked("a-1", "0.5"))
    with pytest.raises(RuleViolation, match="a-1"):
        profile.retire(state, retired_on=NEXT_MON, release_bookings=False, reason="leaves", by="rm")


def test_retiring_with_release_cuts_running_bookings_and_releases_later_ones() -> None:
    state = given(registered(), booked("a-1", "0.5"), booked("a-2", "0.5", start=NEXT_MON, status="proposed"))
    then = profile.retire(state, retired_on=NEXT_MON, release_bookings=True, reason="leaves", by="rm")
    assert [type(e) for e in then] == [AllocationChanged, AllocationReleased, ResourceRetired]
    assert isinstance(then[0], AllocationChanged) and then[0].end == date(2027, 1, 10)
    retired = given(registered(), booked("a-1", "0.5"), *then)
    assert capacity.week_capacity(retired, Span(NEXT_MON, NEXT_FRI)) == 0
    with pytest.raises(RuleViolation, match="retired"):
        booking.book(retired, BookAllocation("a-3", "p-1", MON, FRI, Decimal("0.1")), by="m", project_state="active")


def test_retiring_releases_soft_bookings_without_being_asked() -> None:
    state = given(registered(), booked("a-1", "0.5", start=NEXT_MON, status="proposed"))
    then = profile.retire(state, retired_on=NEXT_MON, release_bookings=False, reason=None, by="rm")
    assert [type(e) for e in then] == [AllocationReleased, ResourceRetired]


def test_free_fte_is_the_largest_booking_the_rule_accepts() -> None:
    state = given(registered(), booked("a-1", "0.5", end=FRI), booked("a-2", "0.2", start=NEXT_MON))
    window = Span(MON, NEXT_FRI)
    free = capacity.free_fte(state, window)
    assert free == Fraction(1, 2)
    fits = BookAllocation("a-3", "p-1", MON, NEXT_FRI, capacity.fte(free))
    assert [type(e) for e in booking.book(state, fits, by="m", project_state="active")] == [AllocationBooked]
    too_much = BookAllocation("a-3", "p-1", MON, NEXT_FRI, capacity.fte(free) + Decimal("0.01"))
    with pytest.raises(OverAllocated):
        booking.book(state, too_much, by="m", project_state="active")


def test_releasing_a_project_frees_only_its_bookings_from_the_day_on() -> None:
    other = booked("a-2", "0.3").model_copy(update={"project_id": "p-2"})
    state = given(registered(), booked("a-1", "0.5"), other)
    then = booking.release_from(
        state, NEXT_MON, by="portfolio", reason="cancelled", which=lambda b: b.project_id == "p-1"
    )
    assert testing.only(AllocationChanged, then).allocation_id == "a-1"


def test_project_demand_is_raised_once_and_cancelled_once() -> None:
    from pmo_events.contracts.common import RoleEstimate
    from pmo_events.contracts.portfolio import ProjectInitiated

    initiated = ProjectInitiated(
        project_id="p-1",
        portfolio_id="pf",
        proposal_id="p-1",
        title="CRM",
        baseline_budget=(),
        resource_estimate=(RoleEstimate(role="developer", fte=Decimal(2), start=MON, end=NEXT_FRI),),
        initiated_by="board",
    )
    raised = demand.raise_demand(demand.initial("p-1"), initiated)
    state = testing.given(PROJECT_DEMAND, *raised, stream_id="p-1")
    assert demand.raise_demand(state, initiated) == []
    cancelled = demand.cancel_demand(state, reason="project cancelled")
    assert testing.only(DemandCancelled, cancelled).demand_id == testing.only(DemandRaised, raised).demand_id
    state = fold(PROJECT_DEMAND, state, cancelled)
    assert demand.cancel_demand(state, reason="again") == []
