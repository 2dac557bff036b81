"""Allocations as commands on the resource's calendar: book, confirm, change, release."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.contracts.resourcing import (
    AllocationBooked,
    AllocationChanged,
    AllocationConfirmed,
    AllocationReleased,
    BookingStatus,
    OverallocationCause,
)
from pmo_events.figures.days import Span
from pmo_resourcing.domain.capacity import overloaded_weeks, worsened_weeks
from pmo_resourcing.domain.errors import AllocationNotFound, InvalidCommand, RuleViolation
from pmo_resourcing.domain.overallocation import REFUSE, Acceptance, settle
from pmo_resourcing.domain.resource import Booking, Resource, evolve
from pmo_resourcing.domain.working_days import ON_WORKING_DAYS, NonWorkingDays, check_working_days


class Decided(list[Event]):
    """The events a rule decided, with the calendar after the first of them as the capacity check folded it
    (`evolve(before, first)`): `decide_in` folds the others onto that one instead of folding the first event
    again (a copy of the calendar and the booking built from the event's dump, per booking or change)."""

    def __init__(self, events: list[Event], before: Resource, after_first: Resource) -> None:
        super().__init__(events)
        self.before = before
        self.after_first = after_first
        # The event `after_first` was folded from, kept apart: the list may be changed in place since.
        self.first = events[0]


def state_after(before: Resource, events: Sequence[Event], decided: object) -> Resource:
    """`before` with `events` folded (`evolve`, one by one): from the `Decided` calendar after the first event
    when `decided` carries it for this very `before` and first event, else from `before`."""
    if isinstance(decided, Decided) and decided.before is before and events and decided.first is events[0]:
        state = decided.after_first
        events = events[1:]
    else:
        state = before
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class BookAllocation:
    allocation_id: str
    project_id: str
    start: date
    end: date
    fte: Decimal
    status: BookingStatus = "confirmed"
    demand_id: str | None = None
    acceptance: Acceptance = REFUSE
    non_working_days: NonWorkingDays = ON_WORKING_DAYS


def book(resource: Resource, command: BookAllocation, *, by: str, project_state: str | None) -> list[Event]:
    """Book on working days of an active project if every week stays within capacity, or over-allocation
    (or non-working days) was accepted with a reason."""
    check_bookable(resource, project_id=command.project_id, project_state=project_state)
    check_span_and_fte(command.start, command.end, command.fte)
    off_calendar = check_working_days(resource, command.start, command.end, command.non_working_days)
    if command.allocation_id in resource.bookings:
        raise RuleViolation(f"allocation {command.allocation_id} already exists")
    booked = AllocationBooked(
        resource_id=resource.resource_id,
        role=resource.role,
        booked_by=by,
        non_working_days_reason=off_calendar,
        **{k: v for k, v in command.__dict__.items() if k not in ("acceptance", "non_working_days")},
    )
    after = evolve(resource, booked)
    facts = _guard(resource, after, booked, "booking", Span(command.start, command.end), command.acceptance, by)
    return Decided([booked, *facts], resource, after)


def confirm(
    resource: Resource, allocation_id: str, *, by: str, project_state: str | None, acceptance: Acceptance = REFUSE
) -> list[Event]:
    """Proposed → confirmed, re-checked: a week above capacity is refused unless accepted again."""
    booking = active_booking(resource, allocation_id)
    if booking.status == "confirmed":
        return []
    check_bookable(resource, project_id=booking.project_id, project_state=project_state)
    confirmed = AllocationConfirmed(confirmed_by=by, resource_id=resource.resource_id, **_refs(booking))
    weeks = overloaded_weeks(resource, booking.span)
    facts = settle(
        resource.resource_id,
        weeks,
        cause="confirmation",
        acceptance=acceptance,
        by=by,
        allocation_id=allocation_id,
        project_id=booking.project_id,
    )
    return [confirmed, *facts]


def change(
    resource: Resource,
    allocation_id: str,
    *,
    start: date | None,
    end: date | None,
    fte: Decimal | None,
    by: str,
    project_state: str | None,
    acceptance: Acceptance = REFUSE,
    non_working_days: NonWorkingDays = ON_WORKING_DAYS,
) -> list[Event]:
    """New dates or FTE, re-checked against capacity in the weeks the booking now covers (and on working days)."""
    booking = active_booking(resource, allocation_id)
    check_bookable(resource, project_id=booking.project_id, project_state=project_state)
    start, end, fte = start or booking.start, end or booking.end, fte if fte is not None else booking.fte
    check_span_and_fte(start, end, fte)
    if (start, end, fte) == (booking.start, booking.end, booking.fte):
        return []
    off_calendar = check_working_days(resource, start, end, non_working_days)
    changed = AllocationChanged(
        resource_id=resource.resource_id,
        start=start,
        end=end,
        fte=fte,
        changed_by=by,
        non_working_days_reason=off_calendar,
        **_refs(booking),
    )
    after = evolve(resource, changed)
    facts = _guard(resource, after, changed, "change", Span(start, end), acceptance, by)
    return Decided([changed, *facts], resource, after)


def release(resource: Resource, allocation_id: str, *, by: str, reason: str | None = None) -> list[Event]:
    """The booking gives its capacity back; releasing a released booking changes nothing."""
    booking = resource.bookings.get(allocation_id)
    if booking is None:
        raise AllocationNotFound(allocation_id)
    if not booking.active:
        return []
    return [AllocationReleased(resource_id=resource.resource_id, released_by=by, reason=reason, **_refs(booking))]


def release_from(
    resource: Resource, day: date, *, by: str, reason: str, which: Callable[[Booking], bool] = lambda _b: True
) -> list[Event]:
    """Free the calendar from `day` on: later bookings released, bookings running across it cut short."""
    new_events: list[Event] = []
    for booking in resource.active_bookings():
        if not which(booking) or booking.end < day:
            continue
        if booking.start >= day:
            new_events += release(resource, booking.allocation_id, by=by, reason=reason)
            continue
        new_events.append(
            AllocationChanged(
                resource_id=resource.resource_id,
                start=booking.start,
                end=day - timedelta(days=1),
                fte=booking.fte,
                reason=reason,
                changed_by=by,
                **_refs(booking),
            )
        )
    return new_events


def active_booking(resource: Resource, allocation_id: str) -> Booking:
    booking = resource.bookings.get(allocation_id)
    if booking is None:
        raise AllocationNotFound(allocation_id)
    if not booking.active:
        raise RuleViolation(f"allocation {allocation_id} was released")
    return booking


def check_bookable(resource: Resource, *, project_id: str, project_state: str | None) -> None:
    """Only an active resource, on a project resourcing knows to be active (not paused, cancelled or closed)."""
    if resource.status != "active":
        raise RuleViolation(f"resource {resource.resource_id} is {resource.status} and takes no bookings")
    if project_state is None:
        raise RuleViolation(
            f"project {project_id} is not known to be initiated: bookings are only made on active projects"
        )
    if project_state != "active":
        raise RuleViolation(f"project {project_id} is {project_state}: bookings are only made on active projects")


def check_span_and_fte(start: date, end: date, fte: Decimal) -> None:
    if end < start:
        raise InvalidCommand("end", "end is before start")
    if fte <= 0:
        raise InvalidCommand("fte", "fte must be more than 0")


def _guard(
    resource: Resource,
    after: Resource,
    event: AllocationBooked | AllocationChanged,
    cause: OverallocationCause,
    span: Span,
    acceptance: Acceptance,
    by: str,
) -> list[Event]:
    """Over-allocation facts for the weeks `after` (`resource` with `event` folded) takes further above capacity."""
    weeks = worsened_weeks(resource, after, span)
    return list(
        settle(
            resource.resource_id,
            weeks,
            cause=cause,
            acceptance=acceptance,
            by=by,
            allocation_id=event.allocation_id,
            project_id=event.project_id,
        )
    )


def _refs(booking: Booking) -> dict[str, Any]:
    return {"allocation_id": booking.allocation_id, "project_id": booking.project_id, "demand_id": booking.demand_id}
