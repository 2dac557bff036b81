"""Portfolio governance: the budget envelope, the board, RAG tolerances and the review cadence."""

from __future__ import annotations

from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import (
    BoardMemberAdded,
    BoardMemberRemoved,
    PortfolioBudgetSet,
    RagTolerancesSet,
    ReviewCadenceSet,
)
from pmo_portfolio.domain.envelope import ZERO
from pmo_portfolio.domain.errors import EnvelopeExceeded, InvalidCommand, NotFound, RuleViolation
from pmo_portfolio.domain.portfolio import Portfolio, check_budget_lines


def _existing(portfolio: Portfolio) -> Portfolio:
    if not portfolio.exists:
        raise NotFound(f"portfolio {portfolio.portfolio_id}")
    return portfolio


def set_budget(portfolio: Portfolio, budget: tuple[PeriodAmount, ...], set_by: str) -> list[Event]:
    """Replace the envelope; no period may fall below what the board has already committed in it."""
    _existing(portfolio)
    check_budget_lines(budget)
    if not budget:
        raise InvalidCommand("budget", "a budget needs at least one fiscal period")
    new_budget = {line.fiscal_period: line.amount for line in budget}
    for period, committed in sorted(portfolio.committed.items()):
        envelope = new_budget.get(period, ZERO)
        if committed > envelope:
            # Reported like an approval that does not fit: the period, what the envelope leaves, what is asked.
            raise EnvelopeExceeded(period, envelope, committed)
    return [PortfolioBudgetSet(portfolio_id=portfolio.portfolio_id, budget=budget, set_by=set_by)]


def add_board_member(portfolio: Portfolio, subject: str, added_by: str) -> list[Event]:
    _existing(portfolio)
    if not subject.strip():
        raise InvalidCommand("subject", "a board member is a token subject and cannot be blank")
    if subject in portfolio.board_members:
        raise RuleViolation(f"{subject} is already on the board of portfolio {portfolio.name}")
    return [BoardMemberAdded(portfolio_id=portfolio.portfolio_id, subject=subject, added_by=added_by)]


def remove_board_member(portfolio: Portfolio, subject: str, removed_by: str) -> list[Event]:
    """A portfolio always keeps a board: the last member cannot leave."""
    _existing(portfolio)
    if subject not in portfolio.board_members:
        raise NotFound(f"board member {subject} in portfolio {portfolio.name}")
    if len(portfolio.board_members) == 1:
        raise RuleViolation(f"{subject} is the last board member; add another before removing them")
    return [BoardMemberRemoved(portfolio_id=portfolio.portfolio_id, subject=subject, removed_by=removed_by)]


def set_rag_tolerances(portfolio: Portfolio, green_at: Decimal, amber_at: Decimal, set_by: str) -> list[Event]:
    """SPI and CPI thresholds: 0 < amber_at <= green_at."""
    _existing(portfolio)
    if amber_at <= 0:
        raise InvalidCommand("amber_at", "the amber threshold is greater than 0")
    if green_at < amber_at:
        raise InvalidCommand("green_at", "the green threshold is at least the amber threshold")
    return [RagTolerancesSet(portfolio_id=portfolio.portfolio_id, green_at=green_at, amber_at=amber_at, set_by=set_by)]


def set_review_cadence(portfolio: Portfolio, every_days: int, set_by: str) -> list[Event]:
    _existing(portfolio)
    if not 1 <= every_days <= 3660:
        raise InvalidCommand("every_days", "a review cadence is between 1 and 3660 days")
    return [ReviewCadenceSet(portfolio_id=portfolio.portfolio_id, every_days=every_days, set_by=set_by)]
