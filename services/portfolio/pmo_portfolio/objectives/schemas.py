"""HTTP bodies of strategic objectives: create, patch, retire."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from pmo_events.contracts.bounds import BoundedDate
from pmo_portfolio.shared.http import Body
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.wire import DecimalText

Weight = Annotated[Decimal, DecimalText(12, 6, "a relative weight as a decimal string, above 0", "3"), Field(gt=0)]


PortfolioRef = Annotated[str, Field(min_length=1, max_length=36)]


class ObjectivePeriod(Body):
    start: BoundedDate
    end: BoundedDate


class ObjectiveCreate(Body):
    model_config = example(
        {
            "title": "Grow digital revenue",
            "description": "Online share of revenue above 40%",
            "weight": "3",
            "period": {"start": "2027-01-01", "end": "2029-12-31"},
            "portfolio_ids": ["3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"],
        }
    )

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5_000)
    weight: Weight
    period: ObjectivePeriod
    portfolio_ids: list[PortfolioRef] = Field(
        default_factory=list,
        max_length=50,
        description="the portfolios whose strategy it is (each must exist); empty: every portfolio",
    )


class ObjectivePatch(Body):
    model_config = example({"weight": "2"}, {"period": {"start": "2027-01-01", "end": "2030-12-31"}})

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5_000)
    weight: Weight | None = None
    period: ObjectivePeriod | None = None
    portfolio_ids: list[PortfolioRef] | None = Field(default=None, max_length=50)


class ObjectiveRetire(Body):
    model_config = example({"reason": "replaced by the 2028 strategy"})

    reason: str | None = Field(default=None, max_length=5_000)
