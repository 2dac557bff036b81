"""Shared arithmetic of the reports: money as Decimal strings, ratios that may be undefined (null), percentiles."""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

from pmo_events.figures.fiscal import FiscalCalendar
from pmo_reporting.projections.governance import PORTFOLIO
from pmo_servicekit.contract.wire import money_text

Body = dict[str, Any]


class DocumentView(Protocol):
    """What a report reads: documents by kind (optionally one scope) and by key."""

    def all(self, kind: str, *, scope: str | None = None) -> list[Body]: ...

    def get(self, kind: str, key: str) -> Body | None: ...


def money(value: Decimal | str, currency: str | None) -> str:
    """An amount at its currency's scale (ISO 4217 minor units: EUR "930000.00", JPY "5000"; 2 when unknown)."""
    return money_text(value, currency)


def period_amounts(periods: dict[str, str], currency: str | None, fiscal: FiscalCalendar) -> list[Body]:
    """`{fiscal_period: amount}` as the API gives money per period: `[{fiscal_period, amount}]` in period order."""
    return [
        {"fiscal_period": period, "amount": money(periods[period], currency)}
        for period in sorted(periods, key=fiscal.order)
    ]


def currency_of(docs: DocumentView, portfolio_id: str | None) -> str | None:
    """The currency of a portfolio's amounts (None when the portfolio is not known yet)."""
    portfolio = docs.get(PORTFOLIO, portfolio_id) if portfolio_id else None
    return (portfolio or {}).get("currency")


def total(amounts: Iterable[str | Decimal | None]) -> Decimal:
    return sum((Decimal(a) for a in amounts if a is not None), Decimal(0))


def ratio(numerator: Decimal, denominator: Decimal, places: str = "0.0001") -> str | None:
    """numerator / denominator, or None (null) when the denominator is zero (never NaN, never an error)."""
    if denominator == 0:
        return None
    return format((numerator / denominator).quantize(Decimal(places)), "f")


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def add_periods(into: dict[str, Decimal], periods: dict[str, str]) -> None:
    for period, amount in periods.items():
        into[period] = into.get(period, Decimal(0)) + Decimal(amount)
