"""HTTP answers of scenario optimisation: the best selection, its limits, the frontier, saved scenarios."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import DecimalString, Fte, Instant, Money, Ratio


class Selected(BaseModel):
    id: str
    title: str


class BudgetUse(BaseModel):
    fiscal_period: str
    budget: Money
    cost: Money
    remaining: Money


class CapacityUse(BaseModel):
    role: str
    fiscal_period: str
    capacity: Fte
    demand: Fte


class Binding(BaseModel):
    """A limit the selection reaches: a period's budget or a role's capacity in a period."""

    kind: Literal["budget", "capacity"]
    fiscal_period: str
    role: str | None = None
    limit: DecimalString = Field(description="money for a budget, FTE for capacity")
    used: DecimalString


class FrontierPoint(BaseModel):
    """The best selection when every period's budget is `budget_level` times the asked one."""

    budget_level: Ratio = Field(
        description="the fraction of every period's budget (0.5000 = half, 1.2000 = 20% more)", examples=["0.8000"]
    )
    feasible: bool
    total_value: DecimalString
    selected: list[str]
    budget: list[BudgetUse]


class SavedAs(BaseModel):
    id: str
    name: str
    saved_at: Instant


class ScenarioResult(BaseModel):
    """The candidates with most value under every period's budget (and capacity), computed on `as_of_version`."""

    portfolio_id: str
    as_of_version: int
    value: Literal["weighted_score", "benefits"]
    feasible: bool
    selected: list[Selected]
    total_value: DecimalString
    proven_optimal: bool
    optimality_gap: DecimalString
    totals: list[BudgetUse]
    capacity: list[CapacityUse]
    binding_constraints: list[Binding]
    frontier: list[FrontierPoint] | None = Field(default=None, description="when `frontier` was asked")
    saved: SavedAs | None = Field(description="when `save` was asked")


class SavedScenario(BaseModel):
    """A scenario someone saved, with what it chose and the parameters it was asked with."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    saved_by: str
    saved_at: Instant
    value_measure: Literal["weighted_score", "benefits"]
    parameters: dict[str, Any] = {}
    selected: list[str]
    total_value: DecimalString
    binding_constraints: list[str] = []


class SavedScenarioPage(Page[SavedScenario]):
    """Saved scenarios, oldest first."""
