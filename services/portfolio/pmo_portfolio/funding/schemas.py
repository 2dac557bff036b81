"""HTTP bodies of portfolios: creation, the budget envelope, the board."""

from __future__ import annotations

from pydantic import Field

from pmo_portfolio.shared.http import Body, PeriodAmountIn


class PortfolioCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    owner: str = Field(min_length=1, max_length=200)
    budget: list[PeriodAmountIn] = Field(min_length=1, max_length=40)
    board_members: list[str] = Field(min_length=1, max_length=50)


class BudgetReplace(Body):
    budget: list[PeriodAmountIn] = Field(min_length=1, max_length=40)


class BoardMemberAdd(Body):
    subject: str = Field(min_length=1, max_length=200)
