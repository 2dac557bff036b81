"""Scenario events: what-if optimisations the board chose to keep."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pmo_events.contracts.base import ContractModel, Money, UtcInstant, contract
from pmo_events.contracts.portfolio.topic import PortfolioEvent


class ScenarioPeriodTotal(ContractModel):
    fiscal_period: str
    budget: Money
    cost: Money


@contract
class ScenarioSaved(PortfolioEvent):
    """A what-if the board chose to keep: the question asked and the optimal answer at that moment."""

    event_name = "ScenarioSaved"
    related_fields = ("portfolio_id",)
    scenario_id: str
    portfolio_id: str
    name: str
    saved_by: str
    saved_at: UtcInstant
    value_measure: Literal["weighted_score", "benefits"]
    parameters: dict[str, Any] = {}
    selected: tuple[str, ...]
    total_value: Decimal
    totals: tuple[ScenarioPeriodTotal, ...] = ()
    binding_constraints: tuple[str, ...] = ()
