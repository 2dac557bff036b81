"""HTTP body of a scenario run: the value measure, budget and capacity, forced and linked candidates."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from pmo_events.contracts.bounds import FiscalPeriod
from pmo_portfolio.shared.http import Body, PeriodAmountIn
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.wire import DecimalText

#: A candidate named by its id (its proposal's, a UUID: the candidates view's column holds 36 characters).
Key = Field(min_length=1, max_length=36)


class CapacityBody(Body):
    role: str = Field(min_length=1, max_length=100)
    fiscal_period: FiscalPeriod
    fte: Annotated[Decimal, DecimalText(10, 3, "FTE available as a decimal string", "2.5"), Field(ge=0)]


class Dependency(Body):
    candidate_id: str = Key
    needs: str = Key


class Exclusion(Body):
    candidate_ids: list[Annotated[str, Key]] = Field(min_length=2, max_length=2)


class ScenarioRun(Body):
    model_config = example(
        {
            "value": "weighted_score",
            "budget": [{"fiscal_period": "FY2027", "amount": "900000.00"}],
            "capacity": [{"role": "developer", "fiscal_period": "FY2027", "fte": "2.5"}],
            "force_in": [],
            "frontier": True,
            "save": True,
            "name": "FY2027 at 900k",
        }
    )

    value: Literal["weighted_score", "benefits"] = "weighted_score"
    budget: list[PeriodAmountIn] | None = Field(default=None, max_length=40)
    capacity: list[CapacityBody] = Field(default_factory=list, max_length=2_000)
    force_in: list[Annotated[str, Key]] = Field(default_factory=list, max_length=1_000)
    force_out: list[Annotated[str, Key]] = Field(default_factory=list, max_length=1_000)
    dependencies: list[Dependency] = Field(default_factory=list, max_length=2_000)
    exclusions: list[Exclusion] = Field(default_factory=list, max_length=2_000)
    keep_approved: bool = True
    frontier: bool = False
    save: bool = False
    name: str | None = Field(default=None, min_length=1, max_length=200)
