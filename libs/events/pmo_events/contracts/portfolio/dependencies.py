"""Interdependency events: what a project needs from another project by when, and when that is at risk.

All dependencies of one portfolio are one stream (`graph_id` = `dependencies-<portfolio_id>`): the graph is
the consistency boundary that keeps it free of cycles.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pmo_events.contracts.base import contract
from pmo_events.contracts.portfolio.topic import PortfolioEvent

#: Why a dependency is at risk: the provider's forecast end passed the need date, or it stopped.
AtRiskCause = Literal["forecast_after_need_date", "provider_paused", "provider_cancelled"]


def graph_id_of(portfolio_id: str) -> str:
    """The stream of a portfolio's dependency graph."""
    return f"dependencies-{portfolio_id}"


@contract
class DependencyRegistered(PortfolioEvent):
    """The dependent project needs `needed` from the provider project by `need_date`."""

    event_name = "DependencyRegistered"
    related_fields = ("dependent_project_id", "provider_project_id")
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str
    needed: str
    need_date: date
    #: Who on the provider's side answers for it (a person), when named.
    provider_contact: str | None = None
    registered_by: str
    registered_at: datetime


@contract
class DependencyAtRisk(PortfolioEvent):
    """The provider can no longer deliver by the need date (its forecast end moved past it, it was paused or
    cancelled): the dependent is at risk. Published again when the cause changes."""

    event_name = "DependencyAtRisk"
    related_fields = ("dependent_project_id", "provider_project_id")
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str
    need_date: date
    cause: AtRiskCause
    #: The provider's forecast end when flagged (None when it has none).
    provider_forecast_end: date | None = None
    #: The provider's event that moved the forecast (None at registration).
    caused_by_event_id: str | None = None
    flagged_at: datetime


@contract
class DependencyWithdrawn(PortfolioEvent):
    """The dependency no longer holds (the need went away, or it was recorded by mistake): it leaves the graph,
    with a reason. A dependency at risk is cleared first (`DependencyRiskCleared` just before)."""

    event_name = "DependencyWithdrawn"
    related_fields = ("dependent_project_id", "provider_project_id")
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str
    reason: str
    withdrawn_by: str
    withdrawn_at: datetime


@contract
class DependencyRiskCleared(PortfolioEvent):
    """The provider's forecast recovered (its end is on or before the need date again, it resumed or closed)."""

    event_name = "DependencyRiskCleared"
    related_fields = ("dependent_project_id", "provider_project_id")
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str
    provider_forecast_end: date | None = None
    caused_by_event_id: str | None = None
    cleared_at: datetime
