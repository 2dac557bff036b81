"""The organisation's fiscal calendar: the month its fiscal year starts, how periods are named, their dates.

A fiscal year is named `FY<year>`; with `year_named_by="start"` (the default) FY2027 is the year that starts
in calendar 2027, with `"end"` the one that ends in 2027 (a July start makes FY2027 July 2026 - June 2027).
Its quarters are `FY2027-Q1`..`Q4` and its twelve periods (fiscal months) `FY2027-P01`..`P12`. Names
written before the calendar existed (`2027`, `2027-Q1`, `2027-H1`, `2027-03`) keep their calendar dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from pmo_events.figures.days import Span

Level = Literal["year", "quarter", "period"]
YearNamedBy = Literal["start", "end"]
LEVELS: tuple[Level, ...] = ("year", "quarter", "period")
#: The documented period name format: every fiscal_period a client sends must match it.
#: Fiscal years 1900 to 2199, the range of every date the product accepts.
PERIOD_NAME = r"^FY(19|20|21)\d\d(-Q[1-4]|-P(0[1-9]|1[0-2]))?$"
PERIOD_NAME_RULE = "a fiscal period is named like FY2027, FY2027-Q1 or FY2027-P01 (fiscal years 1900 to 2199)"


def _period_name(value: str) -> str:
    if not re.fullmatch(PERIOD_NAME, value):
        raise PydanticCustomError("fiscal_period", PERIOD_NAME_RULE)
    return value


#: A fiscal period name as a client sends it: the documented format, or a 422 saying what it is.
FiscalPeriodName = Annotated[
    str,
    AfterValidator(_period_name),
    WithJsonSchema({"type": "string", "pattern": PERIOD_NAME, "description": PERIOD_NAME_RULE, "examples": ["FY2027"]}),
]

_FISCAL = re.compile(r"^FY(\d{4})(?:-(Q[1-4]|P(?:0[1-9]|1[0-2])))?$")
_LEGACY_YEAR = re.compile(r"^(?:FY)?(\d{4})$", re.IGNORECASE)
_LEGACY_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)
_LEGACY_HALF = re.compile(r"^(?:FY)?(\d{4})-?H([12])$", re.IGNORECASE)
_LEGACY_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _months(first: date, months: int) -> Span:
    return Span(first, _add_months(first, months) - timedelta(days=1))


@dataclass(frozen=True)
class Bucket:
    """One named fiscal period and its dates: what every report bucket is."""

    name: str
    span: Span


@dataclass(frozen=True)
class FiscalCalendar:
    """When the fiscal year starts (1 = January) and which calendar year names it."""

    year_start_month: int = 1
    year_named_by: YearNamedBy = "start"

    def first_day(self, fiscal_year: int) -> date:
        shifted = self.year_named_by == "end" and self.year_start_month != 1
        return date(fiscal_year - 1 if shifted else fiscal_year, self.year_start_month, 1)

    def fiscal_year_of(self, day: date) -> int:
        starts_in = day.year if day.month >= self.year_start_month else day.year - 1
        return starts_in + 1 if self.year_named_by == "end" and self.year_start_month != 1 else starts_in

    def span(self, name: str) -> Span | None:
        """The dates a period name stands for; None when the name is not a period (or out of range)."""
        try:
            return self._fiscal_span(name) or _legacy_span(name)
        except ValueError:
            return None

    def _fiscal_span(self, name: str) -> Span | None:
        match = _FISCAL.match(name.strip())
        if not match:
            return None
        first = self.first_day(int(match[1]))
        part = match[2] or ""
        if part.startswith("Q"):
            return _months(_add_months(first, 3 * (int(part[1]) - 1)), 3)
        if part.startswith("P"):
            return _months(_add_months(first, int(part[1:]) - 1), 1)
        return _months(first, 12)

    def name_of(self, day: date, level: Level = "period") -> str:
        """The fiscal period (of `level`) that `day` falls in."""
        year = self.fiscal_year_of(day)
        month_index = (day.month - self.year_start_month) % 12
        if level == "year":
            return f"FY{year}"
        if level == "quarter":
            return f"FY{year}-Q{month_index // 3 + 1}"
        return f"FY{year}-P{month_index + 1:02d}"

    def buckets(self, window: Span, level: Level = "period") -> list[Bucket]:
        """Every whole fiscal period of `level` that has at least one day of `window`, in date order."""
        buckets: list[Bucket] = []
        day = window.start
        while day <= window.end:
            name = self.name_of(day, level)
            span = self.span(name)
            assert span is not None
            buckets.append(Bucket(name, span))
            day = span.end + timedelta(days=1)
        return buckets

    def order(self, name: str) -> tuple[int, int, str]:
        """Sort key: periods with dates by their first day (the longer first), then the others by name."""
        span = self.span(name)
        return (span.start.toordinal(), -span.length(), name) if span else (date.max.toordinal() + 1, 0, name)


#: The calendar until an administrator sets one: fiscal years are calendar years.
CALENDAR_YEAR = FiscalCalendar()


def _legacy_span(name: str) -> Span | None:
    """Names from before the fiscal calendar: calendar-based years, quarters, halves and months."""
    text = name.strip()
    if match := _LEGACY_YEAR.match(text):
        return _months(date(int(match[1]), 1, 1), 12)
    if match := _LEGACY_QUARTER.match(text):
        return _months(date(int(match[1]), 3 * int(match[2]) - 2, 1), 3)
    if match := _LEGACY_HALF.match(text):
        return _months(date(int(match[1]), 6 * int(match[2]) - 5, 1), 6)
    if match := _LEGACY_MONTH.match(text):
        return _months(date(int(match[1]), int(match[2]), 1), 1)
    return None
