"""Reporting's HTTP answers: each report typed, its main list a page (docs/api.md); CSV gives every row."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_events.figures.capacity import GroupBy
from pmo_events.figures.fiscal import Level
from pmo_reporting.adapters.http import examples as ex
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.shared import CapacityRow, HistoryEntry, Overallocation
from pmo_servicekit.contract.wire import Decimal2, DecimalString, Instant, Money, Ratio

Rag = Literal["green", "amber", "red"]
#: A decision-trail entry's outcome: a board decision speaks the status it gives, a stage gate its verdict.
#: A board action's resolution speaks its choice (continue, rescope, pause, cancel; issue 15).
TrailOutcome = Literal[
    "approved",
    "rejected",
    "deferred",
    "changes_requested",
    "proceed",
    "hold",
    "stop",
    "continue",
    "rescope",
    "pause",
    "cancel",
]


class Stamped(BaseModel):
    as_of: Instant | None = Field(description="the instant the report answers for; null: now")


class PeriodAmountOut(BaseModel):
    fiscal_period: str = Field(examples=["FY2027"])
    amount: Money


class PeriodEnvelopeOut(BaseModel):
    fiscal_period: str = Field(examples=["FY2027"])
    start: date | None = Field(default=None, description="the period's first day in the fiscal calendar in force")
    end: date | None = Field(default=None, description="its last day (null for a name without dates)")
    envelope: Money
    committed: Money
    remaining: Money
    actual: Money = Field(
        description="actual cost spent in the period: the rise in each project's reported cumulative actual cost "
        "whose period end falls in it (a closure's final cost in the period it ended); the periods add up to "
        "totals.actual"
    )


class Totals(BaseModel):
    envelope: Money
    committed: Money
    actual: Money


class RagCounts(BaseModel):
    green: int
    amber: int
    red: int
    unreported: int


class ObjectiveCoverage(BaseModel):
    with_investment: list[str]
    without_investment: list[str]


class PlannedBenefits(BaseModel):
    """Benefits counted together: how many, the financial total, how many are non-financial."""

    count: int
    financial_total: Money
    non_financial: int | None = None


class PortfolioSummary(Stamped):
    """Pipeline by status, envelope vs committed vs actual per period, RAG counts, objectives, benefits."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.SUMMARY]})

    portfolio_id: str
    name: str | None = None
    currency: str | None = None
    board_members: list[str]
    pipeline: dict[str, int] = Field(description="proposals per status")
    budget: list[PeriodEnvelopeOut]
    totals: Totals
    rag: RagCounts
    objectives: ObjectiveCoverage
    planned_benefits: PlannedBenefits
    #: Benefits of cancelled or closed projects with no realisation: out of the planned totals.
    forgone_benefits: PlannedBenefits


class StageCount(BaseModel):
    stage: str
    count: int


RatioOrNull = Annotated[Ratio | None, Field(description="a ratio with 4 places, or null (nothing to divide by)")]


class Conversion(BaseModel):
    submitted_of_drafted: RatioOrNull
    decided_of_submitted: RatioOrNull
    approved_of_decided: RatioOrNull
    approved_of_submitted: RatioOrNull


class LeadTime(BaseModel):
    count: int
    median: Decimal2 | None = Field(description="days")
    p90: Decimal2 | None = Field(description="days")


class StageLeadTime(BaseModel):
    """Days a proposal took to reach `stage` from `from_stage` (decisions: since the submission they answered)."""

    stage: str = Field(examples=["decided:approved"])
    from_stage: str = Field(examples=["submitted"])
    count: int
    median: Decimal2 | None = Field(description="days")
    p90: Decimal2 | None = Field(description="days")


class PipelineReport(Stamped):
    """The funnel draft → submitted → decided by outcome, conversions, decision lead time and lead time per
    stage in days."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.PIPELINE]})

    portfolio_id: str | None
    stages: list[StageCount]
    by_status: dict[str, int]
    conversion: Conversion
    decision_lead_time_days: LeadTime
    stage_lead_time_days: list[StageLeadTime] = Field(
        default=[], description="per funnel stage, the lead time from the stage before it (days)"
    )


class DecisionEntry(BaseModel):
    """A decision with who, when, why and the evidence it was taken on."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: str = Field(examples=["investment", "stage_gate", "change_request"])
    portfolio_id: str
    subject_id: str | None = None
    proposal_id: str | None = None
    outcome: TrailOutcome
    decided_by: str
    decided_at: Instant
    rationale: str
    approved_budget: list[PeriodAmountOut] = []
    review_on: date | None = None
    evidence: dict[str, Any] | None = Field(default=None, description="scores, ranking and envelope at the time")
    event_id: str | None = None


class DecisionTrail(Stamped, Page[DecisionEntry]):
    """The decision audit trail, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.page(ex.DECISION)]})


class EvmPoint(BaseModel):
    """The figures a status report recorded (docs/figures.md); null where a denominator was zero or unknown."""

    model_config = ConfigDict(extra="allow")

    period_end: date
    report_id: str
    bac: Money
    pv: Money | None
    ev: Money
    ac: Money
    sv: Money | None
    cv: Money | None
    eac: Money | None
    vac: Money | None
    spi: Ratio | None
    cpi: Ratio | None
    percent_complete: DecimalString = Field(description="percent complete as reported, 0 to 100")
    green_at: Ratio | None = Field(
        default=None, description="the tolerance the derived RAG used (null before it was recorded)"
    )
    amber_at: Ratio | None = Field(
        default=None, description="the tolerance the derived RAG used (null before it was recorded)"
    )


class RagPoint(BaseModel):
    period_end: date
    schedule: Rag | None = None
    cost: Rag | None = None
    scope: Rag | None = None
    overall: Rag | None = None


class BenefitEntry(BaseModel):
    """A planned benefit of a funded initiative, planned against the latest realised value."""

    project_id: str
    portfolio_id: str
    benefit_id: str | None
    description: str
    kind: Literal["financial", "non_financial"]
    measure: str | None = None
    unit: str | None = None
    planned_value: str | None = None
    planned_amount: Money | None = None
    realise_by: date | None = None
    realised_value: str | None = None
    realised_on: date | None = None
    realisations: int
    #: The project was cancelled or closed and this benefit was never measured: it is no longer planned.
    forgone: bool = False


class LessonEntry(BaseModel):
    """A lesson a project recorded."""

    model_config = ConfigDict(extra="allow")

    project_id: str
    portfolio_id: str
    lesson_id: str
    title: str
    description: str
    category: str
    tags: list[str] = []
    recorded_by: str
    recorded_at: Instant
    times_offered: int = Field(0, description="how many times the lesson was offered to a proposal's or project's team")
    offered_to: int = Field(0, description="how many proposals and projects it was offered to")
    acknowledged_applies: int = Field(
        0, description="teams whose latest acknowledgement says the lesson applies to them"
    )
    acknowledged_does_not_apply: int = Field(0, description="teams whose latest acknowledgement says it does not apply")
    unacknowledged: int = Field(0, description="teams offered the lesson that have not acknowledged it yet")
    last_offered_at: Instant | None = Field(None, description="when it was last offered; null: never")


class LessonFeedbackEntry(BaseModel):
    """A lesson offered to a proposal's or project's team, and the team's acknowledgement (null fields: none yet)."""

    subject: Literal["proposal", "project"] = Field(description="whose team was offered the lesson")
    subject_id: str = Field(description="the proposal's or project's id")
    portfolio_id: str
    lesson_id: str
    title: str | None = Field(description="the lesson's title in the library (null: a lesson reporting has not seen)")
    times_offered: int
    last_offered_at: Instant | None
    occasion: str | None = Field(description="what the last offer came with: drafted, submitted, or the gate passed")
    relevance: Decimal2 | None = Field(description="the last offer's relevance (docs/figures.md)")
    reason: str | None = Field(description="why the lesson was offered, in words")
    acknowledged: bool
    applies: bool | None = Field(description="the team's latest word: the lesson applies to them or not")
    note: str | None
    acknowledged_by: str | None
    acknowledged_at: Instant | None


class ProjectEntry(BaseModel):
    """An entry of a project's record as its event carried it (`StatusReported`, `StageGateDecided`, ...)."""

    model_config = ConfigDict(extra="allow")


class ChangeEntry(BaseModel):
    """A change to a project's plan: a change request (`pending`, then `approved` or `rejected`), or the budget
    a closure or cancellation released (`kind` `release`, shown `approved`); amounts per period in period order."""

    model_config = ConfigDict(extra="allow")

    change_request_id: str | None = None
    kind: str = Field(examples=["budget", "scope", "schedule", "release"])
    outcome: str = Field(examples=["pending", "approved", "rejected"])
    requested_delta: list[PeriodAmountOut] = Field(default=[], description="what was asked, in period order")
    budget_delta: list[PeriodAmountOut] = Field(default=[], description="what was decided, in period order")


class ProjectReport(Stamped):
    """A project: stage, status history, RAG trend, EVM series, gates, changes, benefits and lessons."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.PROJECT]})

    id: str
    known: bool = Field(default=True, description="false: the project did not exist at `as_of`")
    title: str | None = None
    portfolio_id: str | None = None
    initiated_at: Instant | None = None
    stage: str | None = None
    status: str | None = None
    baseline_budget: list[PeriodAmountOut] = Field(default=[], description="in period order")
    current_budget: list[PeriodAmountOut] = Field(default=[], description="in period order")
    bac: Money | None = None
    timeline: dict[str, date | None] | None = None
    status_history: list[ProjectEntry]
    rag_trend: list[RagPoint]
    evm: list[EvmPoint]
    gates: list[ProjectEntry] = []
    changes: list[ChangeEntry] = []
    benefits: list[BenefitEntry]
    lessons: list[ProjectEntry] = []


class Overallocated(Overallocation):
    """Over-allocation someone accepted (as resourcing recorded it), with the weeks of it inside the report's
    window, and when it was recorded."""

    at: Instant


class CapacityHeatmap(Stamped, Page[CapacityRow]):
    """Capacity against demand per fiscal period and group (resourcing's rows), and accepted over-allocations."""

    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [ex.HEATMAP]})

    from_: date = Field(alias="from")
    to: date
    group_by: GroupBy
    bucket: Level
    overallocations: list[Overallocated]


class BenefitsRegister(Stamped, Page[BenefitEntry]):
    """The benefits register."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.page(ex.BENEFIT)]})


class ProposalLink(BaseModel):
    id: str
    title: str | None = None
    status: str
    contribution: int


class ObjectiveEntry(BaseModel):
    """A strategic objective with the proposals and projects contributing to it."""

    id: str
    title: str | None = None
    weight: DecimalString | None = Field(default=None, description="the objective's relative weight, as set")
    period_start: date | None = None
    period_end: date | None = None
    status: Literal["active", "retired"]
    #: The portfolios whose strategy it is; empty: every portfolio (organisation-wide).
    portfolio_ids: list[str] = []
    proposals: list[ProposalLink]
    projects: list[str]
    currency: str | None = Field(
        default=None, examples=["EUR"], description="of the amounts; null until funded or when funders differ"
    )
    committed_budget: Money
    planned_benefits: PlannedBenefits
    #: Benefits of cancelled or closed projects with no realisation: out of the planned totals.
    forgone_benefits: PlannedBenefits


class ObjectivesRegister(Stamped, Page[ObjectiveEntry]):
    """Strategic objectives and what contributes to them."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.page(ex.OBJECTIVE_ENTRY)]})


class LessonsLibrary(Stamped, Page[LessonEntry]):
    """The lessons library, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.page(ex.LESSON)]})


class LessonFeedback(Stamped, Page[LessonFeedbackEntry]):
    """Lessons offered to proposals' and projects' teams: proposals first, then projects, each by lesson."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.page(ex.LESSON_FEEDBACK)]})


class EntityHistory(Stamped, Page[HistoryEntry]):
    """Every event of every service that names the entity, in the order reporting received them."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.HISTORY]})

    entity_id: str


class PartitionPosition(BaseModel):
    """How far a read model (or the event log) has read one topic partition, and how far behind it is."""

    topic: str
    partition: int
    offset: int = Field(description="the next offset to read")
    log_end: int
    lag: int


class LogPosition(BaseModel):
    """A position in reporting's event log, per topic partition, and the lag summed over them."""

    log_position: int
    partitions: list[PartitionPosition]
    lag: int


class RebuildState(LogPosition):
    """A rebuild under way: its new generation, phase and progress, and how far it has folded the log."""

    generation: int
    phase: str | None = Field(default=None, examples=["folding"])
    folded: int | None = None
    total: int | None = None
    started_at: Instant | None = None
    finished_at: Instant | None = None
    error: str | None = None


class ProjectionState(LogPosition):
    """A read model: its state (`live`, or `rebuilding` while a new generation folds the log), the generation
    that answers, and its position (a live read model stands at the log's head)."""

    name: str
    description: str
    state: Literal["live", "rebuilding"]
    generation: int
    rebuilt_at: Instant | None = None
    last_error: str | None = None
    rebuild: RebuildState | None = None


class ProjectionsStatus(BaseModel):
    """Each read model's position per topic partition, lag, generation and state, and the event log's."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.PROJECTIONS]})

    event_log: LogPosition
    projections: list[ProjectionState]


class RebuildStarted(BaseModel):
    """A rebuild started: its progress is in `GET /admin/projections`."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [ex.REBUILD]})

    name: str
    requested_by: str


RaidLevel = Literal["project", "programme", "portfolio"]


class RiskCell(BaseModel):
    """One cell of the 5x5 grid: probability (rows 5..1) by impact (columns 1..5)."""

    probability: int
    impact: int
    count: int
    raid_item_ids: list[str]


class RaidMove(BaseModel):
    """An escalation (up, with the reason) or a delegation (back down, with the rationale)."""

    raid_item_id: str
    title: str
    kind: Literal["risk", "assumption", "issue"]
    escalated: bool
    from_level: RaidLevel
    from_level_id: str
    to_level: RaidLevel
    to_level_id: str
    reason: str
    at: Instant


class OverdueAction(BaseModel):
    raid_item_id: str
    title: str
    action_id: str
    description: str
    owner: str
    due_on: date
    done: bool


class RankedRisk(BaseModel):
    id: str
    title: str
    owner: str
    score: int | None = None
    probability: int | None = None
    impact: int | None = None
    level: RaidLevel
    level_id: str
    escalated: bool


_RISK = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
_PF = "4b3c0f6e-0b39-4d8e-9d59-2f0a7d1f4c11"
_PROGRAMME = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_BILLING = "ee908788-f026-4337-a1b2-c3d4e5f6a7b8"
_PORTAL = "c56a4180-65aa-42ec-a945-5fd21dec0538"
_T1 = "a1f0c2d4-3b5e-4c6d-8e7f-9a0b1c2d3e4f"


class RiskReport(Stamped, Page[RankedRisk]):
    """Open risks of a portfolio (or of one level) on the 5x5 grid, its escalations and overdue actions;
    `items` are the risks by score, highest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "as_of": "2027-03-01T00:00:00Z",
        "portfolio_id": _PF,
        "cells": [
            {"probability": p, "impact": i, "count": int((p, i) == (4, 4)),
             "raid_item_ids": [_RISK] if (p, i) == (4, 4) else []}
            for p in range(5, 0, -1)
            for i in range(1, 6)
        ],
        "escalations": [
            {"raid_item_id": _RISK, "title": "Billing vendor misses the June release", "kind": "risk",
             "escalated": True, "from_level": "project", "from_level_id": _BILLING, "to_level": "programme",
             "to_level_id": _PROGRAMME, "reason": "score 16 above the project's tolerance of 12",
             "at": "2027-02-14T09:00:00Z"}
        ],
        "overdue_actions": [
            {"raid_item_id": _RISK, "title": "Billing vendor misses the June release", "action_id": "a1",
             "description": "Qualify a second vendor", "owner": "pam", "due_on": "2027-02-28", "done": False}
        ],
        "items": [
            {"id": _RISK, "title": "Billing vendor misses the June release", "owner": "pam", "score": 16,
             "probability": 4, "impact": 4, "level": "programme", "level_id": _PROGRAMME, "escalated": True}
        ],
        "next_cursor": "c1.WyIwZjFlMmQzYyJd",
    }]})  # fmt: skip

    portfolio_id: str
    level: RaidLevel | None = None
    level_id: str | None = None
    programme_id: str | None = Field(
        default=None, description="the programme whose risks (its own and its projects') are shown"
    )
    cells: list[RiskCell]
    escalations: list[RaidMove]
    overdue_actions: list[OverdueAction]


class Milestone(BaseModel):
    """A programme milestone: the end of one of the programme's tranches."""

    programme_id: str
    tranche_id: str


class DependencyNode(BaseModel):
    """A project, or a programme milestone (a tranche's end; its status `open`, `re_plan`, `met` or
    `cancelled`)."""

    kind: Literal["project", "milestone"]
    #: The project (null for a milestone).
    project_id: str | None = None
    #: The milestone (null for a project).
    milestone: Milestone | None = None
    title: str | None = None
    status: str | None = None
    #: A milestone's forecast: its tranche's end (null for a project: its forecast is on the edges it provides).
    forecast_end: date | None = None
    #: The project depends on something at risk (a milestone: never).
    at_risk: bool


class DependencyEdge(BaseModel):
    """The dependent project needs `needed` from the provider (a project, or a programme milestone) by
    `need_date`."""

    id: str
    portfolio_id: str
    dependent_project_id: str
    #: The provider project (null when the provider is a programme milestone).
    provider_project_id: str | None = None
    #: The programme milestone it waits for (null when the provider is a project).
    provider_milestone: Milestone | None = None
    needed: str
    need_date: date
    at_risk: bool
    cause: Literal["forecast_after_need_date", "provider_paused", "provider_cancelled"] | None = None
    provider_forecast_end: date | None = None


class DependencyMap(Stamped, Page[DependencyEdge]):
    """A portfolio's dependency graph for a front end to draw: `nodes`, and the edges in `items`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "as_of": "2027-03-01T00:00:00Z",
        "portfolio_id": _PF,
        "nodes": [
            {"kind": "project", "project_id": _BILLING, "milestone": None, "title": "Billing migration",
             "status": "active", "forecast_end": None, "at_risk": False},
            {"kind": "project", "project_id": _PORTAL, "milestone": None, "title": "Customer portal",
             "status": "active", "forecast_end": None, "at_risk": True},
            {"kind": "milestone", "project_id": None, "milestone": {"programme_id": _PROGRAMME, "tranche_id": _T1},
             "title": "Digital journey: end of Foundations", "status": "open", "forecast_end": "2027-05-31",
             "at_risk": False},
        ],
        "items": [
            {"id": "d2a4c6e8-1b3d-4f5a-8c7e-9a0b1c2d3e4f", "portfolio_id": _PF, "dependent_project_id": _PORTAL,
             "provider_project_id": _BILLING, "provider_milestone": None, "needed": "the billing API in production",
             "need_date": "2027-06-30", "at_risk": True, "cause": "forecast_after_need_date",
             "provider_forecast_end": "2027-09-30"},
            {"id": "0b9d3f5e-7a1c-4e2b-9d8f-6c5a4b3e2d1f", "portfolio_id": _PF, "dependent_project_id": _PORTAL,
             "provider_project_id": None, "provider_milestone": {"programme_id": _PROGRAMME, "tranche_id": _T1},
             "needed": "the single sign-on platform", "need_date": "2027-07-31", "at_risk": False, "cause": None,
             "provider_forecast_end": None},
        ],
        "next_cursor": "c1.WyIwZjFlMmQzYyJd",
    }]})  # fmt: skip

    portfolio_id: str
    nodes: list[DependencyNode]
