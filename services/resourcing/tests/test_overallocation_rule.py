"""The over-allocation rule, given events / when a command / then events (pure, no I/O)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given as given_data
from hypothesis import settings
from hypothesis import strategies as st

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.resourcing import (
    AllocationBooked,
    AllocationChanged,
    AllocationConfirmed,
    AllocationReleased,
    BookingStatus,
    ResourceOverallocated,
    ResourceRegistered,
    TimeOffRecorded,
    WeekLoad,
)
from pmo_events.figures.days import Span
from pmo_resourcing.application.resources import RESOURCE
from pmo_resourcing.domain import booking, capacity, resource
from pmo_resourcing.domain.booking import BookAllocation
from pmo_resourcing.domain.errors import InvalidCommand, OverAllocated, RuleViolation
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.working_days import NonWorkingDays

MON, WED, FRI = date(2027, 1, 4), date(2027, 1, 6), date(2027, 1, 8)  # ISO week 2027-W01
NEXT_MON, NEXT_FRI = date(2027, 1, 11), date(2027, 1, 15)  # 2027-W02


def registered(fte: str = "1", **extra: Any) -> ResourceRegistered:
    return ResourceRegistered(
        resource_id="r-1", name="Ada", kind="person", role="developer", fte=Decimal(fte), registered_by="rm", **extra
    )


def booked(allocation_id: str, fte: str, start: date = MON, end: date = NEXT_FRI, status: BookingStatus = "confirmed"):
    return AllocationBooked(
        allocation_id=allocation_id,
        resource_id="r-1",
        project_id="p-1",
        role="developer",
        start=start,
        end=end,
        fte=Decimal(fte),
        status=status,
        booked_by="rm",
    )


def time_off(start: date, end: date) -> TimeOffRecorded:
    return TimeOffRecorded(resource_id="r-1", time_off_id="t-1", start=start, end=end, reason="leave", recorded_by="rm")


def given(*events: Event) -> resource.Resource:
    """The resource (its calendar) after `events`."""
    return testing.given(RESOURCE, *events, stream_id="r-1")


def book(state: resource.Resource, fte: str, start: date = MON, end: date = NEXT_FRI, **options: Any) -> list[Event]:
    command = BookAllocation(allocation_id="a-new", project_id="p-1", start=start, end=end, fte=Decimal(fte), **options)
    return booking.book(state, command, by="maria", project_state="active")


def week(name: str, capacity: str, load: str, excess: str) -> WeekLoad:
    return WeekLoad(week=name, capacity=Decimal(capacity), load=Decimal(load), excess=Decimal(excess))


def test_a_booking_within_capacity_is_booked() -> None:
    then = book(given(registered(), booked("a-1", "0.5")), "0.5")
    booked_now = testing.only(AllocationBooked, then)
    assert booked_now.booked_by == "maria" and booked_now.role == "developer"


def test_a_booking_above_capacity_is_refused_naming_each_week_capacity_load_and_excess() -> None:
    with pytest.raises(OverAllocated) as refused:
        book(given(registered(), booked("a-1", "0.5")), "0.75")
    assert refused.value.weeks == (week("2027-W01", "1", "1.25", "0.25"), week("2027-W02", "1", "1.25", "0.25"))
    assert "2027-W01 (capacity 1, load 1.25, excess 0.25)" in str(refused.value)


def test_time_off_lowers_capacity_pro_rata_by_working_days() -> None:
    with pytest.raises(OverAllocated) as refused:
        book(given(registered(), booked("a-1", "0.5"), time_off(MON, date(2027, 1, 5))), "0.3")
    assert refused.value.weeks == (week("2027-W01", "0.6", "0.8", "0.2"),)


def test_a_partial_week_loads_only_the_working_days_booked() -> None:
    state = given(registered(), booked("a-1", "0.5"))
    assert [type(e) for e in book(state, "0.8", start=WED, end=FRI)] == [AllocationBooked]  # 0.5 + 0.8 x 3/5
    with pytest.raises(OverAllocated) as refused:
        book(state, "1", start=WED, end=FRI)
    assert refused.value.weeks == (week("2027-W01", "1", "1.1", "0.1"),)


def test_accepted_over_allocation_is_booked_and_the_fact_recorded_with_who_and_why() -> None:
    then = book(given(registered(), booked("a-1", "0.5")), "0.75", acceptance=Acceptance(True, "go-live crunch"))
    assert [type(e) for e in then] == [AllocationBooked, ResourceOverallocated]
    fact = then[1]
    assert isinstance(fact, ResourceOverallocated)
    assert (fact.cause, fact.reason, fact.accepted_by, fact.allocation_id) == (
        "booking",
        "go-live crunch",
        "maria",
        "a-new",
    )
    assert [w.week for w in fact.weeks] == ["2027-W01", "2027-W02"]


def test_accepting_over_allocation_needs_a_reason() -> None:
    with pytest.raises(InvalidCommand) as refused:
        Acceptance(True, "  ")
    assert refused.value.field == "reason"


def test_proposed_bookings_count_toward_load() -> None:
    with pytest.raises(OverAllocated):
        book(given(registered(), booked("a-1", "0.6", status="proposed")), "0.6")


def test_a_confirmation_re_checks_capacity() -> None:
    state = given(registered(), booked("a-1", "1", status="proposed"), time_off(MON, MON))
    with pytest.raises(OverAllocated) as refused:
        booking.confirm(state, "a-1", by="maria", project_state="active")
    assert refused.value.weeks == (week("2027-W01", "0.8", "1", "0.2"),)
    then = booking.confirm(state, "a-1", by="maria", project_state="active", acceptance=Acceptance(True, "approved OT"))
    confirmed, overallocated = then
    assert isinstance(confirmed, AllocationConfirmed) and isinstance(overallocated, ResourceOverallocated)
    assert overallocated.cause == "confirmation"


def test_confirming_within_capacity_is_just_confirmed() -> None:
    then = booking.confirm(
        given(registered(), booked("a-1", "0.5", status="proposed")), "a-1", by="m", project_state="active"
    )
    assert [type(e) for e in then] == [AllocationConfirmed]


def test_released_capacity_can_be_booked_again() -> None:
    state = given(registered(), booked("a-1", "1"))
    released = booking.release(state, "a-1", by="maria", reason="project re-planned")
    assert [type(e) for e in released] == [AllocationReleased]
    assert [type(e) for e in book(given(registered(), booked("a-1", "1"), *released), "1")] == [AllocationBooked]
    assert booking.release(given(registered(), booked("a-1", "1"), *released), "a-1", by="maria") == []


def test_a_change_of_fte_or_dates_is_re_checked() -> None:
    state = given(registered(), booked("a-1", "0.5"), booked("a-2", "0.5"))
    with pytest.raises(OverAllocated) as refused:
        booking.change(
            state, "a-2", start=None, end=date(2027, 1, 22), fte=Decimal("0.6"), by="m", project_state="active"
        )
    assert [w.week for w in refused.value.weeks] == ["2027-W01", "2027-W02"]  # W03 holds only 0.6
    shorter = booking.change(state, "a-2", start=WED, end=None, fte=None, by="m", project_state="active")
    assert testing.only(AllocationChanged, shorter).start == WED


def test_an_already_overloaded_week_does_not_block_a_change_that_lightens_it() -> None:
    state = given(registered(), booked("a-1", "1"), time_off(MON, FRI))
    then = booking.change(state, "a-1", start=None, end=None, fte=Decimal("0.5"), by="m", project_state="active")
    assert [type(e).__name__ for e in then] == ["AllocationChanged"]


def test_bookings_only_on_active_projects_and_active_resources() -> None:
    command = BookAllocation("a", "p-1", MON, FRI, Decimal(1))
    with pytest.raises(RuleViolation, match="project p-1 is not known to be initiated"):
        booking.book(given(registered()), command, by="m", project_state=None)
    for state in ("paused", "cancelled", "closed"):
        with pytest.raises(RuleViolation, match=f"project p-1 is {state}: bookings are only made on active projects"):
            booking.book(given(registered()), command, by="m", project_state=state)
    with pytest.raises(RuleViolation, match="is new"):
        booking.book(given(), BookAllocation("a", "p-1", MON, FRI, Decimal(1)), by="m", project_state="active")


def test_bad_dates_and_fte_name_the_field() -> None:
    with pytest.raises(InvalidCommand) as end:
        book(given(registered()), "0.5", start=FRI, end=MON)
    with pytest.raises(InvalidCommand) as fte:
        book(given(registered()), "0")
    assert (end.value.field, fte.value.field) == ("end", "fte")


def test_a_booking_starts_and_ends_on_working_days_of_the_resource() -> None:
    saturday, sunday = date(2027, 1, 9), date(2027, 1, 10)
    with pytest.raises(InvalidCommand, match="2027-01-09 is a Saturday, not a working day") as start:
        book(given(registered()), "0.5", start=saturday, end=saturday)
    with pytest.raises(InvalidCommand) as end:
        book(given(registered()), "0.5", start=MON, end=sunday)
    assert (start.value.field, end.value.field) == ("start", "end")
    four_days = given(registered(working_days=("mon", "tue", "wed", "thu")))
    with pytest.raises(InvalidCommand, match=r"\(mon, tue, wed, thu\)"):
        book(four_days, "0.5", start=MON, end=FRI)
    booked_four = testing.only(AllocationBooked, book(four_days, "0.5", start=MON, end=date(2027, 1, 7)))
    assert booked_four.non_working_days_reason is None


def test_a_booking_on_non_working_days_is_accepted_only_with_a_reason_and_flagged() -> None:
    saturday = date(2027, 1, 9)
    with pytest.raises(InvalidCommand) as no_reason:
        NonWorkingDays(allow=True)
    assert no_reason.value.field == "reason"
    go_live = NonWorkingDays(allow=True, reason="weekend go-live")
    booked = testing.only(
        AllocationBooked, book(given(registered()), "1", start=saturday, end=saturday, non_working_days=go_live)
    )
    assert booked.non_working_days_reason == "weekend go-live"
    state = given(registered(), booked)
    assert state.bookings["a-new"].non_working_days_reason == "weekend go-live"
    with pytest.raises(InvalidCommand) as moved:
        booking.change(state, "a-new", start=MON, end=saturday, fte=None, by="m", project_state="active")
    assert moved.value.field == "end"
    [back] = booking.change(state, "a-new", start=MON, end=FRI, fte=None, by="m", project_state="active")
    assert given(registered(), booked, back).bookings["a-new"].non_working_days_reason is None


def test_a_week_counts_only_the_bookings_that_touch_it_and_loads_as_every_booking_would() -> None:
    """`week_of_resource` skips bookings with no day in the week: the same loads as `booking_load` of every
    active booking (which gives 0 for those), over bookings before, across, inside, after and at the edges
    of the weeks, proposed and confirmed, on a part-time calendar with time off."""
    from datetime import timedelta
    from fractions import Fraction

    from pmo_events.figures.days import Span, weeks_covering
    from pmo_resourcing.domain.capacity import Week, booking_load, week_capacity, week_of_resource

    state = resource.initial("r-1")
    given: list[Event] = [
        registered("0.8", working_days=("mon", "tue", "thu", "fri")),
        TimeOffRecorded(resource_id="r-1", time_off_id="t", start=WED, end=NEXT_MON, reason="x", recorded_by="rm"),
    ]
    day = date(2026, 12, 20)
    for n in range(40):
        start = day + timedelta(days=(n * 5) % 37)
        status: BookingStatus = "proposed" if n % 3 else "confirmed"
        given.append(
            AllocationBooked(
                allocation_id=f"a-{n}", resource_id="r-1", project_id="p", role="developer", start=start,
                end=start + timedelta(days=n % 9), fte=Decimal("0.05"), status=status, booked_by="rm",
            )
        )  # fmt: skip
    given.append(AllocationReleased(resource_id="r-1", allocation_id="a-4", project_id="p", released_by="rm"))
    for event in given:
        state = resource.evolve(state, event)
    for week in weeks_covering(Span(date(2026, 12, 14), date(2027, 2, 14))):
        loads = {"proposed": Fraction(0), "confirmed": Fraction(0)}
        for b in state.active_bookings():
            loads[b.status] += booking_load(state, b, week)
        assert week_of_resource(state, week) == Week(week, week_capacity(state, week), *loads.values())


@settings(max_examples=150, deadline=None)
@given_data(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 20), st.sampled_from(["0.1", "0.3", "0.5", "0.75", "1"])),
        max_size=8,
    ),
    st.integers(0, 9),
    st.tuples(st.integers(0, 40), st.integers(0, 20), st.sampled_from(["0.2", "0.6", "1.25"])),
    st.booleans(),
)
def test_worsened_weeks_count_each_week_once_as_the_two_schedules_did(
    existing: list[tuple[int, int, str]], which: int, move: tuple[int, int, str], with_time_off: bool
) -> None:
    """`worsened_weeks` for calendars that differ in one booking (capacity once, shared bookings once) gives the
    weeks the two full schedules gave, for a booking made or changed, with or without time off."""
    history: list[Event] = [registered("0.8")]
    if with_time_off:
        history.append(time_off(date(2027, 1, 13), date(2027, 1, 20)))
    for n, (offset, length, fte) in enumerate(existing):
        start = MON + timedelta(days=offset)
        history.append(booked(f"a-{n}", fte, start=start, end=start + timedelta(days=length)))
    before = given(*history)
    offset, length, fte = move
    start = MON + timedelta(days=offset)
    end = start + timedelta(days=length)
    if existing and which < len(existing):
        event: Event = AllocationChanged(
            allocation_id=f"a-{which}", resource_id="r-1", project_id="p-1", start=start, end=end,
            fte=Decimal(fte), changed_by="rm",
        )  # fmt: skip
    else:
        event = booked("new", fte, start=start, end=end)
    after = resource.evolve(before, event)
    span = Span(min(start, MON), end + timedelta(days=9))
    expected = [
        new.as_week_load()
        for old, new in zip(capacity.schedule(before, span), capacity.schedule(after, span), strict=True)
        if new.excess > old.excess
    ]
    assert capacity.worsened_weeks(before, after, span) == expected
