"""`worsened_weeks` of two calendars that differ in bookings only compares each week in integers (FTE x working days
x a common denominator): it must name exactly the weeks, with exactly the figures, that the fractions' definition
(each week's `Week` of both calendars, compared by `excess`) names."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from pmo_events.contracts.resourcing import WeekLoad
from pmo_events.figures.days import Span
from pmo_resourcing.domain.capacity import schedule, worsened_weeks
from pmo_resourcing.domain.resource import Booking, Resource, TimeOff

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONDAY = date(2027, 1, 4)


def defined(before: Resource, after: Resource, span: Span) -> list[WeekLoad]:
    """The definition, in fractions: every week of both schedules, worse excess after than before."""
    return [
        new.as_week_load()
        for old, new in zip(schedule(before, span), schedule(after, span), strict=True)
        if new.excess > old.excess
    ]


def an_fte(rng: random.Random) -> Decimal:
    choice = rng.randrange(5)
    if choice == 0:
        return Decimal(rng.randrange(1, 61)) / Decimal(40)  # capacity from hours per week (up to 28 digits)
    if choice == 1:
        return Decimal(1) / Decimal(rng.choice((3, 6, 7, 9, 11)))  # 28 significant digits
    if choice == 2:
        return Decimal(rng.randrange(1, 1001)).scaleb(-3)
    return Decimal(rng.randrange(1, 21)).scaleb(-1)


def a_day(rng: random.Random) -> date:
    return MONDAY + timedelta(days=rng.randrange(-5, 45))


def a_booking(rng: random.Random, allocation_id: str, statuses: tuple[str, ...]) -> Booking:
    start = a_day(rng)
    return Booking(
        allocation_id=allocation_id,
        project_id=f"p{rng.randrange(3)}",
        start=start,
        end=start + timedelta(days=rng.randrange(0, 20)),
        fte=an_fte(rng),
        status=rng.choice(statuses),  # type: ignore[arg-type]
    )


def a_case(rng: random.Random) -> tuple[Resource, Resource, Span]:
    if rng.randrange(20) == 0:
        working: tuple[str, ...] = ()
    else:
        working = tuple(d for d in DAYS if rng.random() < 0.7) or ("mon",)
    time_off = []
    for n in range(rng.choice((0, 0, 1, 2))):
        start = a_day(rng)
        time_off.append(
            TimeOff(time_off_id=f"t{n}", start=start, end=start + timedelta(days=rng.randrange(8)), reason="x")
        )
    bookings = {
        f"a{n}": a_booking(rng, f"a{n}", ("proposed", "confirmed", "released")) for n in range(rng.randrange(0, 9))
    }
    before = Resource(
        resource_id="r",
        status="active",
        fte=an_fte(rng),
        working_days=working,  # type: ignore[arg-type]
        time_off=tuple(time_off),
        retired_on=a_day(rng) if rng.randrange(6) == 0 else None,
        bookings=bookings,
    )
    changed = dict(before.bookings)  # the bookings it keeps are the same objects, as `evolve` leaves them
    kind = rng.randrange(3)
    if kind == 0 or not changed:  # a booking made
        new = a_booking(rng, "new", ("proposed", "confirmed"))
    else:  # a booking changed (dates, FTE or status) or released
        new = a_booking(rng, rng.choice(sorted(changed)), ("proposed", "confirmed", "released"))
    changed[new.allocation_id] = new
    after = before.model_copy(update={"bookings": changed})
    first = (
        min(new.start, before.bookings[new.allocation_id].start) if new.allocation_id in before.bookings else new.start
    )
    last = max(new.end, before.bookings[new.allocation_id].end) if new.allocation_id in before.bookings else new.end
    return before, after, Span(first, last)


def test_worsened_weeks_in_integers_are_the_fractions_weeks_on_5000_calendars() -> None:
    rng = random.Random(20261130)
    worsened = 0
    for _ in range(5000):
        before, after, span = a_case(rng)
        expected = defined(before, after, span)
        assert worsened_weeks(before, after, span) == expected, (before, after, span)
        worsened += bool(expected)
    assert worsened > 500  # the cases reach the weeks that worsen, not only those that do not


def test_a_week_just_at_capacity_is_not_worsened_and_a_hair_over_is() -> None:
    """Loads that sum to capacity exactly in 28-digit thirds (1/3 + 1/3 + 1/3 against 1 is not 1 in Decimal)."""
    third = Decimal(1) / Decimal(3)
    week = Span(MONDAY, MONDAY + timedelta(days=4))

    def booking(allocation_id: str, fte: Decimal) -> Booking:
        return Booking(
            allocation_id=allocation_id, project_id="p", start=week.start, end=week.end, fte=fte, status="confirmed"
        )

    before = Resource(
        resource_id="r", status="active", fte=third * 3, bookings={"a": booking("a", third), "b": booking("b", third)}
    )
    at = before.model_copy(update={"bookings": {**before.bookings, "c": booking("c", third)}})
    assert worsened_weeks(before, at, week) == defined(before, at, week) == []
    over = before.model_copy(update={"bookings": {**before.bookings, "c": booking("c", third + Decimal("1e-28"))}})
    assert worsened_weeks(before, over, week) == defined(before, over, week) != []
