"""Budget envelopes: per fiscal period, what the board may still commit, and replacing the envelope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import PeriodEnvelope, PortfolioBudgetSet
from pmo_portfolio.shared.errors import EnvelopeExceeded, InvalidCommand, NotFound, check_scale

if TYPE_CHECKING:
    from pmo_portfolio.funding.domain.portfolio import Portfolio

ZERO = Decimal(0)


def check_budget_lines(budget: tuple[PeriodAmount, ...], currency: str) -> None:
    periods = [b.fiscal_period for b in budget]
    if len(periods) != len(set(periods)):
        raise InvalidCommand("budget", "each fiscal period may appear once in the budget")
    for index, line in enumerate(budget):
        if line.amount < 0:
            raise InvalidCommand(f"budget.{index}.amount", "an envelope cannot be negative")
    check_scale(budget, currency, "budget")


def remaining_envelope(budget: Mapping[str, Decimal], committed: Mapping[str, Decimal]) -> list[PeriodEnvelope]:
    periods = sorted(set(budget) | set(committed))
    return [
        PeriodEnvelope(
            fiscal_period=p,
            envelope=budget.get(p, ZERO),
            committed=committed.get(p, ZERO),
            remaining=budget.get(p, ZERO) - committed.get(p, ZERO),
        )
        for p in periods
    ]


def check_within_envelope(
    budget: Mapping[str, Decimal],
    committed: Mapping[str, Decimal],
    asked: Iterable[PeriodAmount],
    currency: str | None = None,
) -> None:
    """Refuse any period whose committed total would exceed its envelope (a period not budgeted has none)."""
    for line in asked:
        remaining = budget.get(line.fiscal_period, ZERO) - committed.get(line.fiscal_period, ZERO)
        if line.amount > remaining:
            raise EnvelopeExceeded(line.fiscal_period, remaining, line.amount, currency)


def add(committed: Mapping[str, Decimal], amounts: Iterable[PeriodAmount]) -> dict[str, Decimal]:
    total = dict(committed)
    for line in amounts:
        total[line.fiscal_period] = total.get(line.fiscal_period, ZERO) + line.amount
    return total


def negated(amounts: Iterable[PeriodAmount]) -> tuple[PeriodAmount, ...]:
    return tuple(PeriodAmount(fiscal_period=a.fiscal_period, amount=-a.amount) for a in amounts)


def set_budget(portfolio: Portfolio, budget: tuple[PeriodAmount, ...], set_by: str) -> list[Event]:
    """Replace the envelope; no period may fall below what the board has already committed in it."""
    if not portfolio.exists:
        raise NotFound(f"portfolio {portfolio.portfolio_id}")
    check_budget_lines(budget, portfolio.currency)
    if not budget:
        raise InvalidCommand("budget", "a budget needs at least one fiscal period")
    new_budget = {line.fiscal_period: line.amount for line in budget}
    for period, committed in sorted(portfolio.committed.items()):
        envelope = new_budget.get(period, ZERO)
        if committed > envelope:
            raise EnvelopeExceeded(period, envelope, committed, portfolio.currency, lowering=True)
    return [PortfolioBudgetSet(portfolio_id=portfolio.portfolio_id, budget=budget, set_by=set_by)]
