"""The fiscal calendar: period names and their dates, with a January and an April year start."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import TypeAdapter, ValidationError

from pmo_events.figures.days import Span
from pmo_events.figures.fiscal import CALENDAR_YEAR, FiscalCalendar, FiscalPeriodName

APRIL = FiscalCalendar(year_start_month=4)
JULY_BY_END = FiscalCalendar(year_start_month=7, year_named_by="end")


def test_by_default_fiscal_years_are_calendar_years() -> None:
    assert CALENDAR_YEAR.span("FY2027") == Span(date(2027, 1, 1), date(2027, 12, 31))
    assert CALENDAR_YEAR.span("FY2027-Q2") == Span(date(2027, 4, 1), date(2027, 6, 30))
    assert CALENDAR_YEAR.span("FY2027-P02") == Span(date(2027, 2, 1), date(2027, 2, 28))
    assert CALENDAR_YEAR.name_of(date(2027, 12, 31)) == "FY2027-P12"


def test_an_april_year_names_its_periods_from_april() -> None:
    assert APRIL.span("FY2027") == Span(date(2027, 4, 1), date(2028, 3, 31))
    assert APRIL.span("FY2027-Q1") == Span(date(2027, 4, 1), date(2027, 6, 30))
    assert APRIL.span("FY2027-Q4") == Span(date(2028, 1, 1), date(2028, 3, 31))
    assert APRIL.span("FY2027-P01") == Span(date(2027, 4, 1), date(2027, 4, 30))
    assert APRIL.span("FY2027-P11") == Span(date(2028, 2, 1), date(2028, 2, 29))
    assert APRIL.name_of(date(2028, 2, 15)) == "FY2027-P11"
    assert APRIL.name_of(date(2027, 3, 31), "year") == "FY2026"
    assert APRIL.name_of(date(2027, 7, 1), "quarter") == "FY2027-Q2"


def test_a_year_can_be_named_by_the_calendar_year_it_ends_in() -> None:
    assert JULY_BY_END.span("FY2027") == Span(date(2026, 7, 1), date(2027, 6, 30))
    assert JULY_BY_END.span("FY2027-P01") == Span(date(2026, 7, 1), date(2026, 7, 31))
    assert JULY_BY_END.name_of(date(2026, 7, 1), "year") == "FY2027"
    assert JULY_BY_END.name_of(date(2026, 6, 30), "year") == "FY2026"
    assert FiscalCalendar(1, "end").span("FY2027") == Span(date(2027, 1, 1), date(2027, 12, 31))


@pytest.mark.parametrize("calendar", [CALENDAR_YEAR, APRIL, JULY_BY_END, FiscalCalendar(11)])
def test_every_day_lies_in_the_period_named_after_it(calendar: FiscalCalendar) -> None:
    for day in Span(date(2026, 1, 1), date(2029, 1, 10)).days():
        for level in ("year", "quarter", "period"):
            span = calendar.span(calendar.name_of(day, level))
            assert span is not None and span.start <= day <= span.end


def test_buckets_cover_the_window_with_whole_periods_in_order() -> None:
    buckets = APRIL.buckets(Span(date(2027, 3, 15), date(2027, 5, 2)))
    assert [b.name for b in buckets] == ["FY2026-P12", "FY2027-P01", "FY2027-P02"]
    assert buckets[0].span == Span(date(2027, 3, 1), date(2027, 3, 31))
    assert [b.name for b in APRIL.buckets(Span(date(2027, 1, 1), date(2027, 12, 31)), "quarter")] == [
        "FY2026-Q4", "FY2027-Q1", "FY2027-Q2", "FY2027-Q3"
    ]  # fmt: skip


def test_names_from_before_the_calendar_keep_their_calendar_dates() -> None:
    assert APRIL.span("2027") == Span(date(2027, 1, 1), date(2027, 12, 31))
    assert APRIL.span("2027-Q1") == Span(date(2027, 1, 1), date(2027, 3, 31))
    assert APRIL.span("2027-H2") == Span(date(2027, 7, 1), date(2027, 12, 31))
    assert APRIL.span("2027-03") == Span(date(2027, 3, 1), date(2027, 3, 31))
    assert APRIL.span("phase one") is None and APRIL.span("FY0000") is None


def test_periods_sort_by_their_dates() -> None:
    names = ["FY2027-P02", "other", "FY2027", "FY2026-Q4", "FY2027-Q1", "FY2027-P01"]
    assert sorted(names, key=APRIL.order) == ["FY2026-Q4", "FY2027", "FY2027-Q1", "FY2027-P01", "FY2027-P02", "other"]


@pytest.mark.parametrize("name", ["FY2027", "FY2027-Q4", "FY2027-P01", "FY2027-P12", "FY1900", "FY2199-Q1"])
def test_the_documented_period_names_are_accepted(name: str) -> None:
    assert TypeAdapter(FiscalPeriodName).validate_python(name) == name


@pytest.mark.parametrize("name", ["", " ", "2027", "FY27", "FY2027-Q5", "FY2027-P13", "FY2027-P1", "fy2027", "FY2200"])
def test_anything_else_is_not_a_period_name(name: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(FiscalPeriodName).validate_python(name)
