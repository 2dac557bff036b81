"""Funding: the Portfolio, its budget envelope per fiscal period and its board; the consistency boundary for money.

Other concepts use only what this module and `funding.domain` export.
"""

from pmo_portfolio.funding.commands import PORTFOLIO, PortfolioRule, apply_to_portfolio, change_portfolio
from pmo_portfolio.funding.queries import (
    get_portfolio,
    load_portfolio,
    load_portfolio_in,
    lock_portfolio,
    portfolio_ids,
    portfolio_states,
)
from pmo_portfolio.funding.responses import PortfolioView

__all__ = [
    "PORTFOLIO",
    "PortfolioRule",
    "PortfolioView",
    "apply_to_portfolio",
    "change_portfolio",
    "get_portfolio",
    "load_portfolio",
    "load_portfolio_in",
    "lock_portfolio",
    "portfolio_ids",
    "portfolio_states",
]
