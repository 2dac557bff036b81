"""HTTP answers of project delivery: a project, a page of projects, what a delivery command recorded."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pmo_portfolio.shared.http import PeriodAmountOut
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import Money


class ProjectSummary(BaseModel):
    """A project an approval initiated: stage, status, budget (baseline and current), BAC, reviews."""

    model_config = ConfigDict(extra="allow")

    id: str
    portfolio_id: str
    title: str
    stage: str = Field(examples=["initiate", "plan", "execute", "close"])
    status: str = Field(examples=["active", "on_hold", "paused", "cancelled", "closed"])
    baseline_budget: list[PeriodAmountOut]
    budget: list[PeriodAmountOut] = Field(description="the current budget: baseline plus approved changes")
    bac: Money
    timeline: dict[str, date | None] | None = None
    forecast_end: date | None = Field(
        default=None, description="the end forecast now: the plan's, a schedule change's or a status report's"
    )
    initiated_on: date | None = None
    last_reviewed_on: date | None = None
    final_cost: Money | None = None
    project_manager: str | None = None
    latest_status_report: dict[str, Any] | None = None
    change_requests: list[dict[str, Any]] = []
    next_review_due: date | None = None
    review_overdue: bool


class ProjectView(ProjectSummary):
    """One project; `version` is its ETag."""

    version: int


class ProjectPage(Page[ProjectSummary]):
    """Projects by id."""


class RecordedEvent(BaseModel):
    """An event a command recorded (its `type` and payload, as published on Kafka: docs/asyncapi.json)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["pmo.portfolio.StatusReported.v1"])


class Recorded(BaseModel):
    """What a delivery command recorded, and the project after it."""

    id: str | None = Field(description="the id of what was recorded (a report, a decision, a change request)")
    recorded: list[RecordedEvent]
    project: ProjectView
