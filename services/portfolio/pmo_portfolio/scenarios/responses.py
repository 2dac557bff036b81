"""HTTP answers of scenario optimisation: the best selection, its limits, the frontier, saved scenarios."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import DecimalString, Fte, Instant, Money, Ratio

_PORTFOLIO = "fc465260-42a7-40c8-a03e-821a69edefb2"
_PORTAL, _BILLING, _DATA = (
    "cc51783f-4230-4106-8a34-784b5745827d",
    "83d2f542-8551-4f63-b8cd-46c6e6a28f7b",
    "fcf7815c-b6fb-4994-9283-3913527d50f6",
)
SCENARIO_EXAMPLE: dict[str, Any] = {
    "portfolio_id": _PORTFOLIO,
    "as_of_version": 14,
    "value": "weighted_score",
    "feasible": True,
    "selected": [
        {"id": _PORTAL, "title": "Customer portal"},
        {"id": _BILLING, "title": "Billing migration"},
        {"id": _DATA, "title": "Data platform"},
    ],
    "total_value": "11.4000",
    "proven_optimal": True,
    "optimality_gap": "0.0000",
    "totals": [{"fiscal_period": "FY2027", "budget": "1050000.00", "cost": "930000.00", "remaining": "120000.00"}],
    "capacity": [{"role": "developer", "fiscal_period": "FY2027", "capacity": "2.5000", "demand": "2.1000"}],
    "binding_constraints": [],
    "frontier": [
        {"budget_level": "0.5000", "feasible": False, "total_value": "0.0000", "selected": [], "budget": []},
        {
            "budget_level": "0.7000",
            "feasible": True,
            "total_value": "11.4000",
            "selected": [_PORTAL, _BILLING, _DATA],
            "budget": [
                {"fiscal_period": "FY2027", "budget": "1050000.00", "cost": "930000.00", "remaining": "120000.00"}
            ],
        },
    ],
    "saved": {
        "id": "85492a2e-75a4-490e-971e-9c99f206e244",
        "name": "FY2027 at 1.05m",
        "saved_at": "2027-03-01T09:30:00Z",
    },
}


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

    model_config = ConfigDict(json_schema_extra={"examples": [SCENARIO_EXAMPLE]})

    portfolio_id: str
    as_of_version: int
    value: Literal["weighted_score", "benefits"]
    feasible: bool
    selected: list[Selected]
    total_value: DecimalString
    proven_optimal: bool
    optimality_gap: Ratio = Field(description="how far the answer may be from the best, as a share of it (0: proven)")
    totals: list[BudgetUse]
    capacity: list[CapacityUse]
    binding_constraints: list[Binding]
    frontier: list[FrontierPoint] | None = Field(default=None, description="when `frontier` was asked")
    saved: SavedAs | None = Field(description="when `save` was asked")


class SavedScenario(BaseModel):
    """A scenario someone saved, with what it chose and the parameters it was asked with."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "id": "85492a2e-75a4-490e-971e-9c99f206e244",
                    "name": "FY2027 at 1.05m",
                    "saved_by": "olga",
                    "saved_at": "2027-03-01T09:30:00Z",
                    "value_measure": "weighted_score",
                    "parameters": {"budget": [{"fiscal_period": "FY2027", "amount": "1050000.00"}]},
                    "selected": [_PORTAL, _BILLING, _DATA],
                    "total_value": "11.4000",
                    "binding_constraints": ["budget FY2027"],
                }
            ]
        },
    )

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
