"""The portfolio's board: who may score, decide and govern delivery; a portfolio always keeps one."""

from __future__ import annotations

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import BoardMemberAdded, BoardMemberRemoved
from pmo_portfolio.funding.domain.portfolio import Portfolio, existing
from pmo_portfolio.shared.errors import InvalidCommand, NotBoardMember, NotFound, RuleViolation


def check_board_member(portfolio: Portfolio, who: str, *, acting_for: str = "") -> None:
    """Board authority: only a member of THIS portfolio's board decides."""
    if who not in portfolio.board_members:
        where = portfolio.name or acting_for or portfolio.portfolio_id
        raise NotBoardMember(f"{who} is not on the board of portfolio {where}")


def add_board_member(portfolio: Portfolio, subject: str, added_by: str) -> list[Event]:
    existing(portfolio)
    if not subject.strip():
        raise InvalidCommand("subject", "a board member is a token subject and cannot be blank")
    if subject in portfolio.board_members:
        raise RuleViolation(f"{subject} is already on the board of portfolio {portfolio.name}")
    return [BoardMemberAdded(portfolio_id=portfolio.portfolio_id, subject=subject, added_by=added_by)]


def remove_board_member(portfolio: Portfolio, subject: str, removed_by: str) -> list[Event]:
    """A portfolio always keeps a board: the last member cannot leave."""
    existing(portfolio)
    if subject not in portfolio.board_members:
        raise NotFound(f"board member {subject} in portfolio {portfolio.name}")
    if len(portfolio.board_members) == 1:
        raise RuleViolation(f"{subject} is the last board member; add another before removing them")
    return [BoardMemberRemoved(portfolio_id=portfolio.portfolio_id, subject=subject, removed_by=removed_by)]
