"""Day arithmetic every figure is measured in: inclusive date spans, working days, ISO weeks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

#: A day of the week as every contract and figure names it.
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The week demand lines are measured in (they carry a role, not a person's calendar).
STANDARD_WEEK: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, order=True)
class Span:
    """An inclusive run of days, `start` to `end`."""

    start: date
    end: date

    def overlap(self, other: Span) -> Span | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Span(start, end) if start <= end else None

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += ONE_DAY

    def length(self) -> int:
        return (self.end - self.start).days + 1


def weekday_numbers(names: Iterable[str]) -> frozenset[int]:
    """`("mon", "fri")` → `{0, 4}` (Python's `date.weekday()` numbering)."""
    return frozenset(WEEKDAYS.index(n) for n in names)


def weekday_name(day: date) -> str:
    return WEEKDAYS[day.weekday()]


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(day: date) -> Span:
    monday = day - timedelta(days=day.weekday())
    return Span(monday, monday + timedelta(days=6))


def weeks_covering(span: Span) -> list[Span]:
    """Every ISO week (Monday to Sunday) that has at least one day of `span`."""
    weeks, week = [], week_of(span.start)
    while week.start <= span.end:
        weeks.append(week)
        week = Span(week.start + timedelta(days=7), week.end + timedelta(days=7))
    return weeks


def count_days(span: Span | None, weekdays: frozenset[int], *, excluding: Iterable[Span] = ()) -> int:
    """Days of `span` that fall on `weekdays` and in none of the `excluding` spans."""
    if span is None:
        return 0
    away = [s for s in excluding if s.overlap(span)]
    if not away:
        # Whole weeks hold each weekday once; then the remaining days from the span's first weekday on.
        days = (span.end - span.start).days + 1
        if days <= 0:
            return 0
        weeks, rest = divmod(days, 7)
        on = [n in weekdays for n in range(7)]
        first = span.start.weekday()
        return weeks * sum(on) + sum(on[n % 7] for n in range(first, first + rest))
    return sum(1 for day in span.days() if day.weekday() in weekdays and not any(s.start <= day <= s.end for s in away))
