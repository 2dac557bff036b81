"""HTTP answers of dependencies (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

from pmo_servicekit.contract.paging import Page

Cause = Literal["forecast_after_need_date", "provider_paused", "provider_cancelled"]


class DependencyView(BaseModel):
    """What the dependent project needs from the provider by when; `at_risk` with its `cause`."""

    id: str
    portfolio_id: str
    dependent_project_id: str
    provider_project_id: str
    needed: str
    need_date: date
    provider_contact: str | None = None
    registered_by: str
    at_risk: bool
    cause: Cause | None = None
    provider_forecast_end: date | None = None


class DependencyPage(Page[DependencyView]):
    """A portfolio's dependencies by id."""


class GraphNode(BaseModel):
    project_id: str
    title: str | None = None
    status: str | None = None
    forecast_end: date | None = None
    #: The project depends on something at risk.
    at_risk: bool


class DependencyGraphView(BaseModel):
    """A portfolio's dependency graph: the projects and the dependencies between them (dependent → provider)."""

    portfolio_id: str
    nodes: list[GraphNode]
    edges: list[DependencyView]
