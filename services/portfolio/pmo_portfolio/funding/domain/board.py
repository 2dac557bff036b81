"""The portfolio's board: who may score and govern delivery (its charter, votes and changes: `governance`)."""

from __future__ import annotations

from pmo_portfolio.funding.domain.portfolio import Portfolio
from pmo_portfolio.shared.errors import NotBoardMember


def check_board_member(portfolio: Portfolio, who: str, *, acting_for: str = "") -> None:
    """Board authority: only a member of THIS portfolio's board decides."""
    if who not in portfolio.board_members:
        where = portfolio.name or acting_for or portfolio.portfolio_id
        raise NotBoardMember(f"{who} is not on the board of portfolio {where}")
