"""HTTP body of a scenario run: the value measure, budget and capacity, forced and linked candidates."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from pmo_events.figures.fiscal import FiscalPeriodName
from pmo_portfolio.shared.http import Body, PeriodAmountIn

Key = Field(min_length=1, max_length=64)


class CapacityBody(Body):
    role: str = Field(min_length=1, max_length=100)
    fiscal_period: FiscalPeriodName
    fte: Decimal = Field(ge=0, max_digits=10, decimal_places=3)


class Dependency(Body):
    candidate_id: str = Key
    needs: str = Key


class Exclusion(Body):
    candidate_ids: list[str] = Field(min_length=2, max_length=2)


class ScenarioRun(Body):
    value: Literal["weighted_score", "benefits"] = "weighted_score"
    budget: list[PeriodAmountIn] | None = Field(default=None, max_length=40)
    capacity: list[CapacityBody] = Field(default_factory=list, max_length=2_000)
    force_in: list[str] = Field(default_factory=list, max_length=1_000)
    force_out: list[str] = Field(default_factory=list, max_length=1_000)
    dependencies: list[Dependency] = Field(default_factory=list, max_length=2_000)
    exclusions: list[Exclusion] = Field(default_factory=list, max_length=2_000)
    keep_approved: bool = True
    frontier: bool = False
    save: bool = False
    name: str | None = Field(default=None, min_length=1, max_length=200)
