"""Interdependency events: what a project needs from another project, or from a programme milestone, by when,
and when that is at risk.

All dependencies of one portfolio are one stream (`graph_id` = `dependencies-<portfolio_id>`): the graph is
the consistency boundary that keeps it free of cycles.

v2 (issue 16): the provider is a project (`provider_project_id`) or a programme milestone, the end of one of a
programme's tranches (`provider_milestone`), exactly one of the two. The v1 events, recorded before, named a
provider project always; they are read as v2 with `provider_milestone` null (`registry.supersede`).
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import model_validator

from pmo_events.contracts.base import ContractModel, UtcInstant, contract, registry
from pmo_events.contracts.portfolio.topic import PortfolioEvent

#: Why a dependency is at risk: the provider's forecast end passed the need date, or it stopped (a milestone's
#: programme closed: `provider_cancelled`).
AtRiskCause = Literal["forecast_after_need_date", "provider_paused", "provider_cancelled"]


def graph_id_of(portfolio_id: str) -> str:
    """The stream of a portfolio's dependency graph."""
    return f"dependencies-{portfolio_id}"


class ProgrammeMilestone(ContractModel):
    """A programme milestone: the end of one of its tranches (met when its end-of-tranche review continues)."""

    programme_id: str
    tranche_id: str


class _Provider(PortfolioEvent):
    """Exactly one provider: a project, or a programme milestone."""

    related_fields = ("dependent_project_id", "provider_project_id", "provider_programme_id")
    #: The project that delivers it (None when the provider is a programme milestone).
    provider_project_id: str | None = None
    #: The programme milestone it waits for (None when the provider is a project).
    provider_milestone: ProgrammeMilestone | None = None

    @model_validator(mode="after")
    def _one_provider(self) -> Self:
        if (self.provider_project_id is None) == (self.provider_milestone is None):
            raise ValueError("exactly one of provider_project_id and provider_milestone")
        return self

    @property
    def provider_programme_id(self) -> str | None:
        """The programme whose milestone is the provider (so its history lists the dependency)."""
        return self.provider_milestone.programme_id if self.provider_milestone else None


@contract
class DependencyRegistered(_Provider):
    """The dependent project needs `needed` from the provider (a project, or a programme milestone) by
    `need_date`."""

    event_name = "DependencyRegistered"
    version = 2
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    needed: str
    need_date: date
    #: Who on the provider's side answers for it (a person), when named.
    provider_contact: str | None = None
    registered_by: str
    registered_at: UtcInstant


@contract
class DependencyAtRisk(_Provider):
    """The provider can no longer deliver by the need date (its forecast end moved past it, it was paused or
    cancelled; a milestone's tranche was planned to end later, or its programme closed): the dependent is at
    risk. Published again when the cause changes."""

    event_name = "DependencyAtRisk"
    version = 2
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    need_date: date
    cause: AtRiskCause
    #: The provider's forecast end when flagged (a milestone's: its tranche's end; None when it has none).
    provider_forecast_end: date | None = None
    #: The provider's event that moved the forecast (None at registration).
    caused_by_event_id: str | None = None
    flagged_at: UtcInstant


@contract
class DependencyWithdrawn(_Provider):
    """The dependency no longer holds (the need went away, or it was recorded by mistake): it leaves the graph,
    with a reason. A dependency at risk is cleared first (`DependencyRiskCleared` just before)."""

    event_name = "DependencyWithdrawn"
    version = 2
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    reason: str
    withdrawn_by: str
    withdrawn_at: UtcInstant


@contract
class DependencyRiskCleared(_Provider):
    """The provider's forecast recovered (its end is on or before the need date again, it resumed or closed; a
    milestone's tranche was planned back, or its end-of-tranche review continued: the milestone is met)."""

    event_name = "DependencyRiskCleared"
    version = 2
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    provider_forecast_end: date | None = None
    caused_by_event_id: str | None = None
    cleared_at: UtcInstant


# -- v1, superseded: recorded before milestones could provide; read as v2 --------------------------------------


class DependencyRegisteredV1(PortfolioEvent):
    """The dependent project needs `needed` from the provider project by `need_date`. Superseded by v2."""

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
    registered_at: UtcInstant


class DependencyAtRiskV1(PortfolioEvent):
    """The provider can no longer deliver by the need date (its forecast end moved past it, it was paused or
    cancelled): the dependent is at risk. Published again when the cause changes. Superseded by v2."""

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
    flagged_at: UtcInstant


class DependencyWithdrawnV1(PortfolioEvent):
    """The dependency no longer holds (the need went away, or it was recorded by mistake): it leaves the graph,
    with a reason. A dependency at risk is cleared first (`DependencyRiskCleared` just before). Superseded by
    v2."""

    event_name = "DependencyWithdrawn"
    related_fields = ("dependent_project_id", "provider_project_id")
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str
    reason: str
    withdrawn_by: str
    withdrawn_at: UtcInstant


class DependencyRiskClearedV1(PortfolioEvent):
    """The provider's forecast recovered (its end is on or before the need date again, it resumed or closed).
    Superseded by v2."""

    event_name = "DependencyRiskCleared"
    related_fields = ("dependent_project_id", "provider_project_id")
    graph_id: str
    portfolio_id: str
    dependency_id: str
    dependent_project_id: str
    provider_project_id: str
    provider_forecast_end: date | None = None
    caused_by_event_id: str | None = None
    cleared_at: UtcInstant


# A v1 event is a v2 event whose provider is a project: the same data reads as v2.
for _old, _new in (
    (DependencyRegisteredV1, DependencyRegistered),
    (DependencyAtRiskV1, DependencyAtRisk),
    (DependencyWithdrawnV1, DependencyWithdrawn),
    (DependencyRiskClearedV1, DependencyRiskCleared),
):
    registry.supersede(_old, by=_new)
