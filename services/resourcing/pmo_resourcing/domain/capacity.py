"""Capacity and load per ISO week, pro rata by working days; what is free; which weeks overflow."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from pmo_events.contracts.resourcing import WeekLoad
from pmo_events.figures.capacity import fte
from pmo_events.figures.days import Span, count_days, iso_week, weekday_numbers, weeks_covering
from pmo_resourcing.domain.resource import Booking, Resource


@dataclass(frozen=True)
class Week:
    """One ISO week of one resource, in FTE (a 1.0 FTE person free all week has capacity 1)."""

    span: Span
    capacity: Fraction
    proposed: Fraction
    confirmed: Fraction

    @property
    def name(self) -> str:
        return iso_week(self.span.start)

    @property
    def load(self) -> Fraction:
        return self.proposed + self.confirmed

    @property
    def free(self) -> Fraction:
        return self.capacity - self.load

    @property
    def excess(self) -> Fraction:
        return max(Fraction(0), self.load - self.capacity)

    def as_week_load(self) -> WeekLoad:
        return WeekLoad(week=self.name, capacity=fte(self.capacity), load=fte(self.load), excess=fte(self.excess))


def week_capacity(resource: Resource, week: Span) -> Fraction:
    """FTE x the share of the resource's working days in `week` it is not away."""
    working = weekday_numbers(resource.working_days)
    if not working:
        return Fraction(0)
    available = count_days(week, working, excluding=resource.away())
    return Fraction(resource.fte) * Fraction(available, len(working))


def booking_load(resource: Resource, booking: Booking, week: Span) -> Fraction:
    """A booking's FTE x the share of the resource's working days of `week` it covers."""
    working = weekday_numbers(resource.working_days)
    if not working or not booking.active:
        return Fraction(0)
    return Fraction(booking.fte) * Fraction(count_days(booking.span.overlap(week), working), len(working))


def week_of_resource(resource: Resource, week: Span) -> Week:
    proposed = confirmed = Fraction(0)
    first, last = week.start, week.end
    for booking in resource.active_bookings():
        if booking.end < first or booking.start > last:
            continue  # no day of the week: no load (as `booking_load` would say, without its fractions)
        load = booking_load(resource, booking, week)
        if booking.status == "confirmed":
            confirmed += load
        else:
            proposed += load
    return Week(week, week_capacity(resource, week), proposed, confirmed)


def schedule(resource: Resource, span: Span) -> list[Week]:
    return [week_of_resource(resource, week) for week in weeks_covering(span)]


def overloaded_weeks(resource: Resource, span: Span) -> list[WeekLoad]:
    """Weeks touching `span` whose load is above capacity."""
    return [w.as_week_load() for w in schedule(resource, span) if w.excess > 0]


def worsened_weeks(before: Resource, after: Resource, span: Span) -> list[WeekLoad]:
    """Weeks touching `span` that `after` takes further above capacity than `before` was."""
    if not _same_capacity(before, after):
        return [
            new.as_week_load()
            for old, new in zip(schedule(before, span), schedule(after, span), strict=True)
            if new.excess > old.excess
        ]
    # Calendars that differ in bookings only (a booking made or changed): each week's capacity counted once, and
    # the load of every booking both share (the same object: `evolve` keeps the bookings it does not touch) once.
    shared = [b for b in before.active_bookings() if after.bookings.get(b.allocation_id) is b]
    gone = [b for b in before.active_bookings() if after.bookings.get(b.allocation_id) is not b]
    came = [b for b in after.active_bookings() if before.bookings.get(b.allocation_id) is not b]
    worsened = []
    for week in weeks_covering(span):
        capacity = week_capacity(before, week)
        common = _load(before, shared, week)
        old = Week(week, capacity, Fraction(0), common + _load(before, gone, week))
        new = Week(week, capacity, Fraction(0), common + _load(after, came, week))
        if new.excess > old.excess:
            worsened.append(new.as_week_load())
    return worsened


def _same_capacity(before: Resource, after: Resource) -> bool:
    """Whether the two calendars have the same capacity in every week (what `week_capacity` reads)."""
    return (before.fte, before.working_days, before.time_off, before.retired_on) == (
        after.fte,
        after.working_days,
        after.time_off,
        after.retired_on,
    )


def _load(resource: Resource, bookings: list[Booking], week: Span) -> Fraction:
    """The load of `bookings` (active) in `week`: those with no day in it skipped before any arithmetic."""
    first, last = week.start, week.end
    return sum(
        (booking_load(resource, b, week) for b in bookings if not (b.end < first or b.start > last)), Fraction(0)
    )


def free_fte(resource: Resource, span: Span) -> Fraction:
    """The largest FTE one booking over `span` could take without pushing any week above capacity."""
    working = weekday_numbers(resource.working_days)
    limits = []
    for week in schedule(resource, span):
        booked_days = count_days(span.overlap(week.span), working)
        if booked_days:
            limits.append(week.free * len(working) / booked_days)
    return max(Fraction(0), min(limits)) if limits else Fraction(0)


def booked_span(resource: Resource) -> Span | None:
    """From the first day to the last day any active booking holds."""
    active = resource.active_bookings()
    if not active:
        return None
    return Span(min(b.start for b in active), max(b.end for b in active))
