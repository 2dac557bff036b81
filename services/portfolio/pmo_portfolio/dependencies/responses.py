"""HTTP answers of dependencies (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pmo_servicekit.contract.paging import Page


class Milestone(BaseModel):
    """A programme milestone: the end of one of the programme's tranches."""

    programme_id: str
    tranche_id: str


Cause = Literal["forecast_after_need_date", "provider_paused", "provider_cancelled"]

_BILLING, _PORTAL = "83d2f542-8551-4f63-b8cd-46c6e6a28f7b", "cc51783f-4230-4106-8a34-784b5745827d"
DEPENDENCY_EXAMPLE: dict[str, Any] = {
    "id": "3f1e2d4c-5b6a-4789-9abc-def012345678",
    "portfolio_id": "fc465260-42a7-40c8-a03e-821a69edefb2",
    "dependent_project_id": _PORTAL,
    "provider_project_id": _BILLING,
    "provider_milestone": None,
    "needed": "the new invoice API",
    "need_date": "2027-06-30",
    "provider_contact": "pam",
    "registered_by": "olga",
    "at_risk": True,
    "cause": "forecast_after_need_date",
    "provider_forecast_end": "2027-09-30",
}


class DependencyView(BaseModel):
    """What the dependent project needs from the provider (a project, or a programme milestone) by when;
    `at_risk` with its `cause`."""

    model_config = ConfigDict(json_schema_extra={"examples": [DEPENDENCY_EXAMPLE]})

    id: str
    portfolio_id: str
    dependent_project_id: str
    #: The provider project (null when the provider is a programme milestone).
    provider_project_id: str | None = None
    #: The programme milestone it waits for (null when the provider is a project).
    provider_milestone: Milestone | None = None
    needed: str
    need_date: date
    provider_contact: str | None = None
    registered_by: str
    at_risk: bool
    cause: Cause | None = None
    provider_forecast_end: date | None = None
    #: Why it was withdrawn: a withdrawn dependency is no longer in the lists and the graph.
    withdrawn_reason: str | None = None


class DependencyPage(Page[DependencyView]):
    """A portfolio's dependencies by id."""


class GraphNode(BaseModel):
    """A project, or a programme milestone (a tranche's end, its status `open`, `re_plan`, `met` or
    `cancelled`)."""

    kind: Literal["project", "milestone"]
    #: The project (null for a milestone).
    project_id: str | None = None
    #: The milestone (null for a project).
    milestone: Milestone | None = None
    title: str | None = None
    status: str | None = None
    forecast_end: date | None = None
    #: The project depends on something at risk (a milestone: never).
    at_risk: bool


class DependencyGraphView(BaseModel):
    """A portfolio's dependency graph: the projects and programme milestones, and the dependencies between them
    (dependent → provider)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "portfolio_id": DEPENDENCY_EXAMPLE["portfolio_id"],
                    "nodes": [
                        {
                            "kind": "project",
                            "project_id": _PORTAL,
                            "title": "Customer portal",
                            "status": "active",
                            "forecast_end": "2027-06-25",
                            "at_risk": True,
                        },
                        {
                            "kind": "project",
                            "project_id": _BILLING,
                            "title": "Billing migration",
                            "status": "active",
                            "forecast_end": "2027-09-30",
                            "at_risk": False,
                        },
                    ],
                    "edges": [DEPENDENCY_EXAMPLE],
                }
            ]
        }
    )

    portfolio_id: str
    nodes: list[GraphNode]
    edges: list[DependencyView]
