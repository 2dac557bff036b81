"""Fiscal periods as date ranges, so resource estimates (dated) can be laid over them."""

from __future__ import annotations

import re
from datetime import date, timedelta

_YEAR = re.compile(r"^(?:FY)?(\d{4})$", re.IGNORECASE)
_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(?:FY)?(\d{4})-?H([12])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _month_span(year: int, first_month: int, months: int) -> tuple[date, date]:
    start = date(year, first_month, 1)
    after_month = first_month + months
    end = date(year + (after_month - 1) // 12, (after_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def period_dates(fiscal_period: str) -> tuple[date, date] | None:
    """ "2027", "FY2027", "2027-Q2", "2027-H1" or "2027-03" as calendar dates; None when not understood."""
    text = fiscal_period.strip()
    if match := _YEAR.match(text):
        return _month_span(int(match[1]), 1, 12)
    if match := _QUARTER.match(text):
        return _month_span(int(match[1]), 3 * int(match[2]) - 2, 3)
    if match := _HALF.match(text):
        return _month_span(int(match[1]), 6 * int(match[2]) - 5, 6)
    if match := _MONTH.match(text):
        return _month_span(int(match[1]), int(match[2]), 1)
    return None


def overlaps(span: tuple[date, date], start: date, end: date) -> bool:
    return start <= span[1] and end >= span[0]
