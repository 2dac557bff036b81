"""Capacity and load per ISO week, pro rata by working days; what is free; which weeks overflow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import lcm

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
    working = weekday_numbers(before.working_days)
    if not working:
        return []  # no capacity and no load in any week: no excess to worsen
    weeks = weeks_covering(span)
    if not weeks:
        return []
    first, last = weeks[0].start, weeks[-1].end  # a booking with no day in these weeks has no load in any of them
    held = [b for b in before.active_bookings() if not (b.end < first or b.start > last)]
    shared = [b for b in held if after.bookings.get(b.allocation_id) is b]
    gone = [b for b in held if after.bookings.get(b.allocation_id) is not b]
    came = [
        b
        for b in after.active_bookings()
        if not (b.end < first or b.start > last) and before.bookings.get(b.allocation_id) is not b
    ]
    units = _units([before.fte, *(b.fte for b in held), *(b.fte for b in came)])
    away = before.away()
    worsened = []
    for week in weeks:
        # Each week's capacity and loads have the denominator len(working) (FTE x days / len(working)): compared
        # as integers x len(working) x `units`' common denominator, which keeps their order exactly. The
        # fractions are made only for a week that worsened, by the same functions as before.
        capacity = units(before.fte) * count_days(week, working, excluding=away)
        common = _day_units(units, shared, week, working)
        old = max(0, common + _day_units(units, gone, week, working) - capacity)
        new = max(0, common + _day_units(units, came, week, working) - capacity)
        if new > old:
            fraction = week_capacity(before, week)
            load = _load(before, shared, week)
            worsened.append(Week(week, fraction, Fraction(0), load + _load(after, came, week)).as_week_load())
    return worsened


def _units(values: list[Decimal]) -> Callable[[Decimal], int]:
    """An exact integer multiple of each of `values` (finite Decimals): value x their ratios' least common
    denominator (a power of 2 and 5 each), so sums and comparisons of them are those of the Decimals."""
    ratios = {value: value.as_integer_ratio() for value in values}
    denominator = lcm(*(q for _, q in ratios.values()))
    scaled = {value: p * (denominator // q) for value, (p, q) in ratios.items()}
    return scaled.__getitem__


def _day_units(units: Callable[[Decimal], int], bookings: list[Booking], week: Span, working: frozenset[int]) -> int:
    """`_load` of `bookings` in `week` x len(working) in `units` (FTE x working days covered)."""
    first, last = week.start, week.end
    return sum(
        units(b.fte) * count_days(b.span.overlap(week), working)
        for b in bookings
        if not (b.end < first or b.start > last)
    )


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
