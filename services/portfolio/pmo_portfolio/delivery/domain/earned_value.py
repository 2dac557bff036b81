"""Earned value and derived RAG: PV from the budget over time, EV, SPI, CPI, tolerances, worst dimension."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from pmo_events.contracts.common import Timeline
from pmo_events.contracts.portfolio import RagRating
from pmo_portfolio.shared.periods import period_dates

ZERO = Decimal(0)
UNDEFINED = "undefined"
CENTS = Decimal("0.01")
RATIO = Decimal("0.0001")
RANK = {"green": 0, "amber": 1, "red": 2}


def rounded(value: Decimal, places: Decimal) -> Decimal:
    """Rounded to `places`; a figure too large to round (absurd input) is kept as it is rather than failing."""
    try:
        return value.quantize(places)
    except InvalidOperation:
        return value


def _elapsed_share(start: date, end: date, period_end: date) -> Decimal:
    """The share of [start, end] (whole days, both included) that has passed by the end of `period_end`."""
    days = (end - start).days + 1
    passed = min(max((period_end - start).days + 1, 0), days)
    return Decimal(passed) / Decimal(days)


def planned_value(budget: Mapping[str, Decimal], timeline: Timeline, period_end: date) -> Decimal | None:
    """PV by `period_end`: each period's cost spread linearly over its dates when every period is dateable,
    else the whole budget spread linearly over the timeline; None when neither gives dates."""
    spans = {period: span for period in budget if (span := period_dates(period)) is not None}
    if budget and len(spans) == len(budget):
        return rounded(
            sum((budget[p] * _elapsed_share(start, end, period_end) for p, (start, end) in spans.items()), ZERO),
            CENTS,
        )
    if timeline.start is None or timeline.end is None or timeline.end < timeline.start:
        return None
    return rounded(sum(budget.values(), ZERO) * _elapsed_share(timeline.start, timeline.end, period_end), CENTS)


def index(numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    """A performance index; None ("undefined") when the denominator is zero or unknown."""
    if denominator is None or denominator == 0:
        return None
    return rounded(numerator / denominator, RATIO)


def shown(value: Decimal | None) -> str:
    return UNDEFINED if value is None else format(value, "f")


def rating(value: Decimal | None, green_at: Decimal, amber_at: Decimal) -> str:
    """An undefined index means nothing was planned (or spent) yet: no shortfall to flag, so green."""
    if value is None or value >= green_at:
        return "green"
    return "amber" if value >= amber_at else "red"


def worst(*ratings: str) -> str:
    return max(ratings, key=RANK.__getitem__)


def rag(schedule: str, cost: str, scope: str) -> RagRating:
    return RagRating(schedule=schedule, cost=cost, scope=scope, overall=worst(schedule, cost, scope))  # type: ignore[arg-type]


@dataclass(frozen=True)
class EarnedValue:
    bac: Decimal
    pv: Decimal | None
    ev: Decimal
    ac: Decimal
    spi: Decimal | None
    cpi: Decimal | None


def earned_value(
    budget: Mapping[str, Decimal], timeline: Timeline, period_end: date, percent_complete: Decimal, actual_cost: Decimal
) -> EarnedValue:
    """EV = BAC * % complete; SPI = EV / PV; CPI = EV / AC."""
    bac = sum(budget.values(), ZERO)
    pv = planned_value(budget, timeline, period_end)
    ev = rounded(bac * percent_complete / Decimal(100), CENTS)
    return EarnedValue(bac, pv, ev, actual_cost, index(ev, pv), index(ev, actual_cost))


def derived_rag(value: EarnedValue, green_at: Decimal, amber_at: Decimal) -> RagRating:
    """Schedule from SPI, cost from CPI; scope has no index, so it is green unless reported otherwise."""
    return rag(rating(value.spi, green_at, amber_at), rating(value.cpi, green_at, amber_at), "green")


def better_dimensions(manual: RagRating, derived: RagRating) -> list[str]:
    """The dimensions a manual RAG rates better than the figures do."""
    return [d for d in ("schedule", "cost", "scope") if RANK[getattr(manual, d)] < RANK[getattr(derived, d)]]
