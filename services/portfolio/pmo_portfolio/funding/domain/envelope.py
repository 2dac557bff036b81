"""Budget envelopes: per fiscal period, what the board may still commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import PeriodEnvelope
from pmo_portfolio.domain.errors import EnvelopeExceeded

ZERO = Decimal(0)


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
    budget: Mapping[str, Decimal], committed: Mapping[str, Decimal], asked: Iterable[PeriodAmount]
) -> None:
    """Refuse any period whose committed total would exceed its envelope (a period not budgeted has none)."""
    for line in asked:
        remaining = budget.get(line.fiscal_period, ZERO) - committed.get(line.fiscal_period, ZERO)
        if line.amount > remaining:
            raise EnvelopeExceeded(line.fiscal_period, remaining, line.amount)


def add(committed: Mapping[str, Decimal], amounts: Iterable[PeriodAmount]) -> dict[str, Decimal]:
    total = dict(committed)
    for line in amounts:
        total[line.fiscal_period] = total.get(line.fiscal_period, ZERO) + line.amount
    return total


def negated(amounts: Iterable[PeriodAmount]) -> tuple[PeriodAmount, ...]:
    return tuple(PeriodAmount(fiscal_period=a.fiscal_period, amount=-a.amount) for a in amounts)
