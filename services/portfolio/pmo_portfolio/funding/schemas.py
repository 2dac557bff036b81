"""HTTP bodies of portfolios: creation, the budget envelope, the board."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pmo_portfolio.shared.http import Body, PeriodAmountIn
from pmo_servicekit.auth import SUBJECT_MAX_LENGTH
from pmo_servicekit.contract.responses import example


class PortfolioCreate(Body):
    model_config = example(
        {
            "name": "Digital Change",
            "currency": "EUR",
            "owner": "olga",
            "board_members": ["bob", "carla"],
            "budget": [{"fiscal_period": "FY2027", "amount": "1200000.00"}],
        }
    )

    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    owner: str = Field(min_length=1, max_length=200)
    budget: list[PeriodAmountIn] = Field(min_length=1, max_length=40)
    board_members: list[Annotated[str, Field(max_length=SUBJECT_MAX_LENGTH)]] = Field(min_length=1, max_length=50)


class BudgetReplace(Body):
    model_config = example({"budget": [{"fiscal_period": "FY2027", "amount": "1500000.00"}]})

    budget: list[PeriodAmountIn] = Field(min_length=1, max_length=40)
