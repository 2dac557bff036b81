"""From the portfolio's state and a what-if request to the optimiser's question."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pmo_events.figures.days import Span
from pmo_events.figures.fiscal import CALENDAR_YEAR, FiscalCalendar
from pmo_portfolio.candidates.domain import Scorecard, assess
from pmo_portfolio.funding.domain import AWAITING_DECISION, Candidate, Portfolio
from pmo_portfolio.scenarios.domain.optimiser import ScenarioOption, ScenarioQuestion, Slot
from pmo_portfolio.shared.errors import InvalidCommand

ValueMeasure = Literal["weighted_score", "benefits"]


@dataclass(frozen=True)
class CapacityLine:
    role: str
    fiscal_period: str
    fte: Decimal


@dataclass(frozen=True)
class ScenarioRequest:
    value: ValueMeasure = "weighted_score"
    #: Overrides the portfolio's envelope per period when given.
    budget: Mapping[str, Decimal] | None = None
    capacity: tuple[CapacityLine, ...] = ()
    force_in: tuple[str, ...] = ()
    force_out: tuple[str, ...] = ()
    dependencies: tuple[tuple[str, str], ...] = ()
    exclusions: tuple[tuple[str, str], ...] = ()
    #: Approved projects stay in (with their approved budget); when False they are chosen afresh.
    keep_approved: bool = True


def _capacity(lines: tuple[CapacityLine, ...], calendar: FiscalCalendar) -> dict[Slot, Decimal]:
    capacity: dict[Slot, Decimal] = {}
    for index, line in enumerate(lines):
        if calendar.span(line.fiscal_period) is None:
            raise InvalidCommand(
                f"capacity.{index}.fiscal_period",
                f"{line.fiscal_period} is not a fiscal period (FY2027, FY2027-Q1 or FY2027-P01)",
            )
        if line.fte < 0:
            raise InvalidCommand(f"capacity.{index}.fte", "capacity cannot be negative")
        capacity[(line.role, line.fiscal_period)] = capacity.get((line.role, line.fiscal_period), Decimal(0)) + line.fte
    return capacity


def _demand(candidate: Candidate, slots: list[Slot], calendar: FiscalCalendar) -> dict[Slot, Decimal]:
    """FTE a candidate asks of each role in each period: every estimate overlapping the period counts."""
    demand: dict[Slot, Decimal] = {}
    for role, period in slots:
        span = calendar.span(period)
        fte = sum(
            (
                e.fte
                for e in candidate.resource_estimate
                if e.role == role and span and span.overlap(Span(e.start, e.end))
            ),
            Decimal(0),
        )
        if fte:
            demand[(role, period)] = fte
    return demand


def _check_ids(field: str, ids: tuple[str, ...], pool: set[str]) -> None:
    for index, candidate_id in enumerate(ids):
        if candidate_id not in pool:
            raise InvalidCommand(f"{field}.{index}", f"{candidate_id} is not an undecided candidate of this portfolio")


def _option(
    portfolio: Portfolio,
    candidate: Candidate,
    request: ScenarioRequest,
    scorecard: Scorecard,
    slots: list[Slot],
    calendar: FiscalCalendar,
) -> ScenarioOption:
    assessed = assess(portfolio, candidate, scorecard)
    value = assessed.financial_benefits if request.value == "benefits" else (assessed.weighted_score or Decimal(0))
    lines = candidate.approved_budget if candidate.status == "approved" else candidate.costs
    costs: dict[str, Decimal] = {}
    for line in lines:
        costs[line.fiscal_period] = costs.get(line.fiscal_period, Decimal(0)) + line.amount
    return ScenarioOption(candidate.candidate_id, float(value), costs, _demand(candidate, slots, calendar))


def _check_pairs(request: ScenarioRequest) -> None:
    """A candidate cannot depend on itself, nor exclude itself."""
    for field in ("dependencies", "exclusions"):
        for index, pair in enumerate(getattr(request, field)):
            if len(set(pair)) < len(pair):
                raise InvalidCommand(f"{field}.{index}", f"{pair[0]} cannot be paired with itself")


def build_question(
    portfolio: Portfolio,
    request: ScenarioRequest,
    scorecard: Scorecard,
    calendar: FiscalCalendar = CALENDAR_YEAR,
) -> ScenarioQuestion:
    """The MILP's question; capacity periods are fiscal periods of the organisation's calendar."""
    capacity = _capacity(request.capacity, calendar)
    _check_pairs(request)
    pool = [c for c in portfolio.candidates.values() if c.status in AWAITING_DECISION or c.status == "approved"]
    ids = {c.candidate_id for c in pool}
    for field in ("force_in", "force_out"):
        _check_ids(field, getattr(request, field), ids)
    for field in ("dependencies", "exclusions"):
        for index, pair in enumerate(getattr(request, field)):
            _check_ids(f"{field}.{index}", pair, ids)
    clash = sorted(set(request.force_in) & set(request.force_out))
    if clash:
        raise InvalidCommand("force_out", f"forced both in and out: {', '.join(clash)}")
    approved = {c.candidate_id for c in pool if c.status == "approved"} if request.keep_approved else set()
    registered = tuple((c.candidate_id, d) for c in pool for d in c.dependencies if d in ids and d != c.candidate_id)
    return ScenarioQuestion(
        options=tuple(_option(portfolio, c, request, scorecard, list(capacity), calendar) for c in pool),
        budget=dict(request.budget) if request.budget is not None else dict(portfolio.budget),
        capacity=capacity,
        force_in=frozenset(request.force_in) | approved,
        force_out=frozenset(request.force_out),
        dependencies=tuple(dict.fromkeys(request.dependencies + registered)),
        exclusions=request.exclusions,
    )
