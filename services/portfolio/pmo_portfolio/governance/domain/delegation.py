"""Delegated authority, the ladder: below the charter's threshold the named portfolio manager decides alone."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import BoardCharter

ZERO = Decimal(0)


def approval_amount(budget: Iterable[PeriodAmount]) -> Decimal:
    """What an investment decision commits: the total over its periods."""
    return sum((line.amount for line in budget), ZERO)


def increase_amount(delta: Iterable[PeriodAmount]) -> Decimal:
    """What a budget change asks of the envelope: its increases (decreases give money back)."""
    return sum((line.amount for line in delta if line.amount > 0), ZERO)


def within_delegation(charter: BoardCharter | None, who: str, amount: Decimal) -> bool:
    """True when `who` is the charter's portfolio manager and `amount` is below their threshold."""
    delegation = charter.delegated_authority if charter else None
    return delegation is not None and delegation.portfolio_manager == who and amount < delegation.up_to


def is_delegate(charter: BoardCharter | None, who: str) -> bool:
    return bool(charter and charter.delegated_authority and charter.delegated_authority.portfolio_manager == who)
