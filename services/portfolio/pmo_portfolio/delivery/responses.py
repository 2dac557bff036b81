"""HTTP answers of project delivery: a project, a page of projects, what a delivery command recorded."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_portfolio.shared.http import CriterionOut, PeriodAmountOut
from pmo_servicekit.contract.paging import EXAMPLE_CURSOR, Page
from pmo_servicekit.contract.wire import DecimalString, Instant, Money, Ratio

PROJECT_EXAMPLE: dict[str, Any] = {
    "id": "83d2f542-8551-4f63-b8cd-46c6e6a28f7b",
    "portfolio_id": "fc465260-42a7-40c8-a03e-821a69edefb2",
    "title": "Billing migration",
    "stage": "execute",
    "status": "active",
    "baseline_budget": [{"fiscal_period": "FY2027", "amount": "380000.00"}],
    "budget": [{"fiscal_period": "FY2027", "amount": "400000.00"}],
    "bac": "400000.00",
    "timeline": {"start": "2027-01-04", "end": "2027-12-17"},
    "initiated_on": "2026-11-29",
    "last_reviewed_on": "2027-02-26",
    "final_cost": None,
    "project_manager": "pam",
    "latest_status_report": None,
    "change_requests": [],
    "next_review_due": "2027-05-27",
    "review_overdue": False,
    "resource_estimate": [{"role": "developer", "fte": "1.0000", "start": "2027-01-04", "end": "2027-06-25"}],
    "benefits": [
        {
            "benefit_id": "#1",
            "description": "Billing migration pays back",
            "kind": "financial",
            "measure": None,
            "target_value": None,
            "unit": None,
            "realise_by": "2028-06-30",
            "value_amount": "760000.00",
        }
    ],
}


STATUS_REPORT_EXAMPLE: dict[str, Any] = {
    "project_id": PROJECT_EXAMPLE["id"],
    "portfolio_id": PROJECT_EXAMPLE["portfolio_id"],
    "report_id": "5b0c8f55-0a4e-4a4f-9a51-2f1de0c3c1a4",
    "period_end": "2026-06-30",
    "percent_complete": "20",
    "actual_cost": "80000.00",
    "bac": "400000.00",
    "planned_value": "99726.03",
    "earned_value": "80000.00",
    "spi": "0.8022",
    "cpi": "1.0000",
    "schedule_variance": "-19726.03",
    "cost_variance": "0.00",
    "eac": "400000.00",
    "vac": "0.00",
    "rag": {"schedule": "red", "cost": "green", "scope": "green", "overall": "red"},
    "derived_rag": {"schedule": "red", "cost": "green", "scope": "green", "overall": "red"},
    "rag_source": "derived",
    "green_at": "0.9500",
    "amber_at": "0.9000",
    "justification": None,
    "summary": "Data migration slipped two weeks",
    "risks": [],
    "issues": [],
    "raid_item_ids": [],
    "forecast_end": None,
    "correction_of": None,
    "correction_reason": None,
    "reported_by": "pam",
    "reported_at": "2026-07-03T09:30:00Z",
}


class RagView(BaseModel):
    schedule: str = Field(examples=["green", "amber", "red"])
    cost: str = Field(examples=["green", "amber", "red"])
    scope: str = Field(examples=["green", "amber", "red"])
    overall: str = Field(examples=["green", "amber", "red"])


class StatusReportView(BaseModel):
    """A status report as recorded, with its earned value (docs/figures.md); an index or amount with nothing
    to divide by (SPI or CPI without PV or AC, SV without PV, EAC and VAC while CPI is undefined) is null."""

    model_config = ConfigDict(json_schema_extra={"examples": [STATUS_REPORT_EXAMPLE]})

    project_id: str
    portfolio_id: str
    report_id: str
    period_end: date
    percent_complete: DecimalString = Field(description="percent complete as reported, 0 to 100")
    actual_cost: Money
    bac: Money
    planned_value: Money | None
    earned_value: Money
    spi: Ratio | None
    cpi: Ratio | None
    schedule_variance: Money | None
    cost_variance: Money | None
    eac: Money | None
    vac: Money | None
    rag: RagView
    derived_rag: RagView
    rag_source: str = Field(examples=["derived", "manual"])
    green_at: Ratio | None = Field(description="the tolerance the derived RAG used (null before it was recorded)")
    amber_at: Ratio | None = Field(description="the tolerance the derived RAG used (null before it was recorded)")
    justification: str | None
    summary: str
    risks: list[str]
    issues: list[str]
    raid_item_ids: list[str]
    forecast_end: date | None
    correction_of: str | None
    correction_reason: str | None
    reported_by: str
    reported_at: Instant


class TimelineOut(BaseModel):
    """The project's planned start and end."""

    start: date | None = None
    end: date | None = None


class ChangeRequestOut(BaseModel):
    """A change to the project's budget, scope or schedule, and where its decision stands."""

    change_request_id: str
    kind: Literal["budget", "scope", "schedule"]
    status: Literal["pending", "approved", "rejected"]
    budget_delta: list[PeriodAmountOut] = Field(default=[], description="the change per fiscal period (budget)")
    new_end: date | None = Field(default=None, description="the new planned end (schedule)")
    effective_on: date | None = None
    rationale: str
    requested_by: str


class ProjectSummary(BaseModel):
    """A project an approval initiated: stage, status, budget (baseline and current), BAC, reviews."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [PROJECT_EXAMPLE]})

    id: str
    portfolio_id: str
    title: str
    stage: str = Field(examples=["initiate", "plan", "execute", "close"])
    status: str = Field(examples=["active", "on_hold", "paused", "cancelled", "closed"])
    baseline_budget: list[PeriodAmountOut]
    budget: list[PeriodAmountOut] = Field(description="the current budget: baseline plus approved changes")
    bac: Money
    timeline: TimelineOut | None = None
    forecast_end: date | None = Field(
        default=None, description="the end forecast now: the plan's, a schedule change's or a status report's"
    )
    initiated_on: date | None = None
    last_reviewed_on: date | None = None
    final_cost: Money | None = None
    project_manager: str | None = None
    latest_status_report: StatusReportView | None = None
    change_requests: list[ChangeRequestOut] = []
    next_review_due: date | None = None
    review_overdue: bool


class ProjectView(ProjectSummary):
    """One project; `version` is its ETag."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**PROJECT_EXAMPLE, "version": 5}]})

    version: int


class ProjectPage(Page[ProjectSummary]):
    """Projects by id."""


class RecordedEvent(BaseModel):
    """An event a command recorded (its `type` and payload, as published on Kafka: docs/asyncapi.json)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["pmo.portfolio.StatusReported.v1"])


class Recorded(BaseModel):
    """What a delivery command recorded, and the project after it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "da6b0d8f-6844-4ad8-ba3a-eea88a1f7d46",
                    "recorded": [
                        {
                            "type": "pmo.portfolio.LessonRecorded.v1",
                            "project_id": PROJECT_EXAMPLE["id"],
                            "portfolio_id": PROJECT_EXAMPLE["portfolio_id"],
                            "lesson_id": "da6b0d8f-6844-4ad8-ba3a-eea88a1f7d46",
                            "title": "Pilot early",
                            "description": "A pilot found the data issues",
                            "category": "delivery",
                            "tags": ["data"],
                            "decision_id": None,
                            "recorded_by": "pam",
                            "recorded_at": "2027-03-01T09:30:00Z",
                        }
                    ],
                    "project": {**PROJECT_EXAMPLE, "version": 5},
                }
            ]
        }
    )

    id: str | None = Field(description="the id of what was recorded (a report, a decision, a change request)")
    recorded: list[RecordedEvent]
    project: ProjectView


BOARD_ACTION_EXAMPLE: dict[str, Any] = {
    "id": "7f0c2b1e-3d4a-4b5c-9e8f-0a1b2c3d4e5f",
    "project_id": PROJECT_EXAMPLE["id"],
    "project_title": PROJECT_EXAMPLE["title"],
    "project_status": "active",
    "review_id": "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
    "still_aligned": False,
    "recommendation": "stop",
    "due_on": "2027-03-15",
    "status": "open",
    "resolution": None,
    "overdue": False,
}


class BoardActionView(BaseModel):
    """What a negative review asked the board to decide about a project, by when, and how it was resolved."""

    model_config = ConfigDict(json_schema_extra={"examples": [BOARD_ACTION_EXAMPLE]})

    id: str
    project_id: str
    project_title: str
    project_status: str
    review_id: str
    still_aligned: bool
    recommendation: Literal["continue", "rescope", "stop"]
    due_on: date
    status: Literal["open", "resolved"]
    resolution: Literal["continue", "rescope", "pause", "cancel"] | None = None
    #: Open and past its due date.
    overdue: bool


class BoardActionPage(Page[BoardActionView]):
    """Board actions, soonest due first."""


class OverdueSweep(BaseModel):
    """What one run of the review calendar published: `ReviewOverdue` and `BoardActionOverdue` events."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reviews_overdue": 2, "actions_overdue": 1}]})

    reviews_overdue: int
    actions_overdue: int


REVIEW_CYCLE_EXAMPLE: dict[str, Any] = {
    "id": "3",
    "cycle": 3,
    "cycles_id": "review-cycles-fc465260-42a7-40c8-a03e-821a69edefb2",
    "portfolio_id": "fc465260-42a7-40c8-a03e-821a69edefb2",
    "run_by": "ann",
    "run_at": "2027-04-01T06:00:00Z",
    "model_version": 42,
    "criteria": [
        {"key": "value", "name": "Business value", "weight": "0.2500"},
        {"key": "risk", "name": "Delivery risk", "weight": "0.7500"},
    ],
    "ranking": [
        {"id": "c1d2e3f4-0000-4000-8000-000000000002", "kind": "candidate", "title": "Self-service portal",
         "rank": 1, "weighted_score": "4.2500", "outranked_by": []},
        {"id": "83d2f542-8551-4f63-b8cd-46c6e6a28f7b", "kind": "running", "title": "CRM replacement",
         "rank": 2, "weighted_score": "3.5000", "outranked_by": ["c1d2e3f4-0000-4000-8000-000000000002"]},
    ],
    "below_pipeline": ["83d2f542-8551-4f63-b8cd-46c6e6a28f7b"],
}  # fmt: skip


class ReprioritisedLine(BaseModel):
    id: str = Field(description="the project's (or candidate's) id: a project's id is its proposal's")
    kind: Literal["running", "candidate"] = Field(
        description="`running`: approved, neither closed nor cancelled; `candidate`: submitted, not decided (unfunded)"
    )
    title: str
    rank: int | None = Field(description="place among the scored, 1 best; null: unscored under the current model")
    weighted_score: Ratio | None = Field(description="re-scored with the portfolio's current criteria")
    outranked_by: list[str] = Field(description="a running project: the unfunded candidates that now rank above it")


class ReviewCycleView(BaseModel):
    """One portfolio review cycle: running projects re-scored with the current model, ranked with the pipeline."""

    model_config = ConfigDict(json_schema_extra={"examples": [REVIEW_CYCLE_EXAMPLE]})

    id: str = Field(description="the cycle's number in the portfolio (`cycle`), as text: `1` first")
    cycle: int
    cycles_id: str = Field(description="the portfolio's stream of cycles (`review-cycles-<portfolio_id>`)")
    portfolio_id: str
    run_by: str = Field(description="who ran it (`pmo-portfolio`: the scheduler's run of the due cycles)")
    run_at: Instant
    model_version: int = Field(description="the portfolio's version whose scoring model ranked it")
    criteria: list[CriterionOut]
    ranking: list[ReprioritisedLine]
    below_pipeline: list[str] = Field(description="running projects that now rank below an unfunded candidate")


class ReviewCyclePage(Page[ReviewCycleView]):
    """The portfolio's review cycles, newest first, with its interval and when the next one is due."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [REVIEW_CYCLE_EXAMPLE],
                 "next_cursor": EXAMPLE_CURSOR,
                 "portfolio_id": REVIEW_CYCLE_EXAMPLE["portfolio_id"], "every_days": 91,
                 "due_at": "2027-07-01T06:00:00Z"}
            ]
        }
    )  # fmt: skip

    portfolio_id: str
    every_days: int = Field(description="days between two cycles (91, quarterly, unless set)")
    due_at: Instant | None = Field(description="when the next cycle is due; null: none ran yet, due now")


class ReviewCycleInterval(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"portfolio_id": REVIEW_CYCLE_EXAMPLE["portfolio_id"], "every_days": 91}]}
    )

    portfolio_id: str
    every_days: int


class DueCyclesRun(BaseModel):
    """What one run of the due review cycles did: `PortfolioReprioritised` events recorded."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"cycles_run": 2}]})

    cycles_run: int
