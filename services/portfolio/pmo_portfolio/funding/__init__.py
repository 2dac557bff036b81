"""Funding: the Portfolio, its budget envelope per fiscal period and its board; the consistency boundary for money.

Other concepts use only what this module and `funding.domain` export.
"""

from pmo_portfolio.funding.commands import PORTFOLIO, PortfolioRule, apply_to_portfolio, change_portfolio
from pmo_portfolio.funding.queries import get_portfolio, load_portfolio, load_portfolio_in, portfolio_states

__all__ = [
    "PORTFOLIO",
    "PortfolioRule",
    "apply_to_portfolio",
    "change_portfolio",
    "get_portfolio",
    "load_portfolio",
    "load_portfolio_in",
    "portfolio_states",
]
