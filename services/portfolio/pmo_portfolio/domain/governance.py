"""Portfolio governance: the budget envelope per fiscal period and the board's membership."""

from __future__ import annotations

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import BoardMemberAdded, BoardMemberRemoved, PortfolioBudgetSet
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
