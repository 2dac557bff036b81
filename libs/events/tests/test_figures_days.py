"""Day arithmetic: ISO weeks across years, working days net of time off."""

from __future__ import annotations

from datetime import date, timedelta

from pmo_events.figures.days import (
    STANDARD_WEEK,
    Span,
    count_days,
    iso_week,
    weekday_numbers,
    weeks_covering,
)

WORKWEEK = weekday_numbers(STANDARD_WEEK)


def test_iso_weeks_cross_the_year_as_iso_8601_says() -> None:
    assert iso_week(date(2026, 12, 31)) == "2026-W53"
    assert iso_week(date(2027, 1, 3)) == "2026-W53"
    assert iso_week(date(2027, 1, 4)) == "2027-W01"
    weeks = weeks_covering(Span(date(2026, 12, 30), date(2027, 1, 5)))
    assert [(iso_week(w.start), w.start, w.end) for w in weeks] == [
        ("2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
        ("2027-W01", date(2027, 1, 4), date(2027, 1, 10)),
    ]


def test_working_days_exclude_weekends_and_time_off_counted_once() -> None:
    january = Span(date(2027, 1, 1), date(2027, 1, 31))
    assert count_days(january, WORKWEEK) == 21
    leave = [Span(date(2027, 1, 4), date(2027, 1, 6)), Span(date(2027, 1, 5), date(2027, 1, 11))]
    assert count_days(january, WORKWEEK, excluding=leave) == 21 - 6
    assert count_days(None, WORKWEEK) == 0
    assert count_days(january, weekday_numbers(("sat", "sun"))) == 10


def test_working_days_without_time_off_are_the_days_counted_one_by_one() -> None:
    """Every weekday set, every first weekday, spans of 0 to 40 days (and an empty one backwards)."""
    for mask in range(128):
        weekdays = frozenset(n for n in range(7) if mask >> n & 1)
        for first in range(7):
            start = date(2027, 1, 4 + first)
            for length in range(-1, 41):
                span = Span(start, start + timedelta(days=length - 1))
                one_by_one = sum(1 for day in span.days() if day.weekday() in weekdays)
                assert count_days(span, weekdays) == one_by_one, (sorted(weekdays), span)
                assert count_days(span, weekdays, excluding=[Span(date(2000, 1, 1), date(2000, 1, 2))]) == one_by_one
