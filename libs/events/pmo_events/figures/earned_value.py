"""Earned value of a status report: BAC, PV, EV, AC, SV, CV, SPI, CPI, EAC, VAC, each defined once.

The portfolio service computes them when a status report is recorded and puts them in the event;
reporting shows what was recorded (and derives a figure an older event lacks with these same functions,
from that event's own recorded inputs). Money is rounded to cents, indices to 4 places, and a zero or
unknown denominator gives None, shown as "undefined": never NaN, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from pmo_events.figures.days import Span
from pmo_events.figures.fiscal import FiscalCalendar

ZERO = Decimal(0)
UNDEFINED = "undefined"
CENTS = Decimal("0.01")
RATIO = Decimal("0.0001")
#: RAG ratings, best first.
RAG_ORDER = ("green", "amber", "red")
R = TypeVar("R", bound=str)


def rounded(value: Decimal, places: Decimal) -> Decimal:
    """Rounded to `places`; a figure too large to round is kept as it is rather than failing."""
    try:
        return value.quantize(places)
    except InvalidOperation:
        return value


def shown(value: Decimal | None) -> str:
    """A figure on the wire: its decimal string, or "undefined"."""
    return UNDEFINED if value is None else format(value, "f")


def recorded_index(value: str | None) -> Decimal | None:
    """SPI or CPI as a `StatusReported` event holds it (its decimal string, or "undefined" when nothing
    divides) back as a figure: None when undefined. Every API answers that None as `null`. The event types
    the field as any string, so anything that is not a finite decimal under 10^15 reads as undefined, never
    an error (nor a billion-digit answer)."""
    if value is None or value == UNDEFINED:
        return None
    try:
        figure = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return figure if figure.is_finite() and figure.adjusted() < 15 else None


def _elapsed_share(span: Span, period_end: date) -> Decimal:
    """The share of `span` (whole days, both ends included) that has passed by the end of `period_end`."""
    passed = min(max((period_end - span.start).days + 1, 0), span.length())
    return Decimal(passed) / Decimal(span.length())


def planned_value(
    budget: Mapping[str, Decimal], calendar: FiscalCalendar, timeline: Span | None, period_end: date
) -> Decimal | None:
    """PV at `period_end`: each fiscal period's budget spread linearly over that period's days when every
    period has dates in `calendar`; otherwise the whole budget spread over the timeline; None without either."""
    spans = {period: span for period in budget if (span := calendar.span(period)) is not None}
    if budget and len(spans) == len(budget):
        planned = sum((budget[p] * _elapsed_share(span, period_end) for p, span in spans.items()), ZERO)
        return rounded(planned, CENTS)
    if timeline is None or timeline.end < timeline.start:
        return None
    return rounded(sum(budget.values(), ZERO) * _elapsed_share(timeline, period_end), CENTS)


def earned(bac: Decimal, percent_complete: Decimal) -> Decimal:
    """EV = BAC x % complete / 100, in cents."""
    return rounded(bac * percent_complete / Decimal(100), CENTS)


def index(numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    """A performance index (SPI, CPI), 4 places; None when the denominator is zero or unknown."""
    if denominator is None or denominator == 0:
        return None
    return rounded(numerator / denominator, RATIO)


@dataclass(frozen=True)
class EarnedValue:
    bac: Decimal
    pv: Decimal | None
    ev: Decimal
    ac: Decimal
    sv: Decimal | None
    cv: Decimal
    spi: Decimal | None
    cpi: Decimal | None
    eac: Decimal | None
    vac: Decimal | None


def from_amounts(*, bac: Decimal, pv: Decimal | None, ev: Decimal, ac: Decimal) -> EarnedValue:
    """Every figure that follows from the four amounts: SV = EV - PV, CV = EV - AC, SPI = EV / PV,
    CPI = EV / AC, EAC = AC + (BAC - EV) / CPI (= BAC x AC / EV, with CPI unrounded), VAC = BAC - EAC.
    EAC and VAC are undefined while CPI is undefined or zero (nothing spent, or nothing earned)."""
    cpi = index(ev, ac)
    eac = rounded(bac * ac / ev, CENTS) if cpi else None
    return EarnedValue(
        bac=bac,
        pv=pv,
        ev=ev,
        ac=ac,
        sv=ev - pv if pv is not None else None,
        cv=ev - ac,
        spi=index(ev, pv),
        cpi=cpi,
        eac=eac,
        vac=bac - eac if eac is not None else None,
    )


def worst_rag(ratings: Iterable[R]) -> R | None:
    """The worst of the ratings (red, then amber, then green): a project's overall RAG of its dimensions, a
    programme's of its projects' latest reports; None without a rating."""
    return max(ratings, key=RAG_ORDER.index, default=None)


def rolled_up(figures: Sequence[EarnedValue]) -> EarnedValue | None:
    """A programme's (or any group's) earned value: BAC, PV, EV and AC summed over its projects' latest
    reports, and every other figure from those sums (never an average of indices). PV is undefined when
    any project's is; None without a single report."""
    if not figures:
        return None
    pvs = [f.pv for f in figures]
    return from_amounts(
        bac=sum((f.bac for f in figures), ZERO),
        pv=None if any(pv is None for pv in pvs) else sum((pv for pv in pvs if pv is not None), ZERO),
        ev=sum((f.ev for f in figures), ZERO),
        ac=sum((f.ac for f in figures), ZERO),
    )


def earned_value(
    budget: Mapping[str, Decimal],
    calendar: FiscalCalendar,
    timeline: Span | None,
    period_end: date,
    percent_complete: Decimal,
    actual_cost: Decimal,
) -> EarnedValue:
    """The figures of a status report: BAC is the budget's total at `period_end`."""
    bac = sum(budget.values(), ZERO)
    pv = planned_value(budget, calendar, timeline, period_end)
    return from_amounts(bac=bac, pv=pv, ev=earned(bac, percent_complete), ac=actual_cost)
