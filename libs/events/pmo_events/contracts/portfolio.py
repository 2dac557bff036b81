"""Events published by the portfolio service on topic `pmo.portfolio.events`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pmo_events.contracts.base import ContractModel, Event, Money, contract
from pmo_events.contracts.common import (
    Benefit,
    ObjectiveContribution,
    PeriodAmount,
    RoleEstimate,
    Timeline,
)

SERVICE = "portfolio"
TOPIC = "pmo.portfolio.events"


class _PortfolioEvent(Event):
    service = SERVICE


@contract
class PortfolioCreated(_PortfolioEvent):
    event_name = "PortfolioCreated"
    portfolio_id: str
    name: str
    currency: str
    owner: str
    budget: tuple[PeriodAmount, ...]
    board_members: tuple[str, ...]
    created_by: str


@contract
class CandidateRegistered(_PortfolioEvent):
    """A submitted proposal became (or, on resubmission, updated) a candidate awaiting decision."""

    event_name = "CandidateRegistered"
    related_fields = ("proposal_id",)
    portfolio_id: str
    candidate_id: str
    proposal_id: str
    submission: int
    title: str
    requester: str
    sponsor: str | None = None
    costs: tuple[PeriodAmount, ...] = ()
    benefits: tuple[Benefit, ...] = ()
    objective_contributions: tuple[ObjectiveContribution, ...] = ()
    timeline: Timeline = Timeline()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    summary: str | None = None
    risk_level: str | None = None
    dependencies: tuple[str, ...] = ()


class PeriodEnvelope(ContractModel):
    fiscal_period: str
    envelope: Money
    committed: Money
    remaining: Money


class AssessmentEvidence(ContractModel):
    assessor: str
    scores: dict[str, int]
    comment: str | None = None


class DecisionEvidence(ContractModel):
    """What was in front of the board when it decided."""

    remaining_envelope: tuple[PeriodEnvelope, ...] = ()
    weighted_score: Decimal | None = None
    rank: int | None = None
    #: Mean score per criterion key over the candidate's assessors.
    criterion_scores: dict[str, Decimal] = {}
    #: Every assessor's latest scores, as they stood when the board decided.
    assessments: tuple[AssessmentEvidence, ...] = ()
    strategic_alignment: Decimal | None = None
    ranked_candidates: int | None = None


@contract
class InvestmentDecided(_PortfolioEvent):
    """The board decided a candidate: approve, reject, defer or request changes."""

    event_name = "InvestmentDecided"
    related_fields = ("candidate_id", "proposal_id")
    decision_id: str
    portfolio_id: str
    candidate_id: str
    proposal_id: str
    outcome: Literal["approve", "reject", "defer", "request_changes"]
    rationale: str
    decided_by: str
    decided_at: datetime
    approved_budget: tuple[PeriodAmount, ...] = ()
    review_on: str | None = None
    evidence: DecisionEvidence = DecisionEvidence()


@contract
class ProjectInitiated(_PortfolioEvent):
    """An approval started a project; its id is the proposal's id."""

    event_name = "ProjectInitiated"
    related_fields = ("portfolio_id", "proposal_id")
    project_id: str
    portfolio_id: str
    proposal_id: str
    title: str
    baseline_budget: tuple[PeriodAmount, ...]
    timeline: Timeline = Timeline()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    benefits: tuple[Benefit, ...] = ()
    initiated_by: str
    #: When the approval was decided (the start of the project's review cadence).
    initiated_at: datetime | None = None


@contract
class ObjectiveCreated(_PortfolioEvent):
    """A strategic objective proposals can contribute to."""

    event_name = "ObjectiveCreated"
    objective_id: str
    title: str
    description: str | None = None
    weight: Money
    period_start: date
    period_end: date
    created_by: str


@contract
class ObjectiveUpdated(_PortfolioEvent):
    event_name = "ObjectiveUpdated"
    objective_id: str
    title: str
    description: str | None = None
    weight: Money
    period_start: date
    period_end: date
    updated_by: str


@contract
class ObjectiveRetired(_PortfolioEvent):
    """Retired objectives stay in history; new proposals can no longer contribute to them."""

    event_name = "ObjectiveRetired"
    objective_id: str
    retired_by: str
    reason: str | None = None


@contract
class PortfolioBudgetSet(_PortfolioEvent):
    """The budget envelope per fiscal period was replaced."""

    event_name = "PortfolioBudgetSet"
    portfolio_id: str
    budget: tuple[PeriodAmount, ...]
    set_by: str


@contract
class CandidateScored(_PortfolioEvent):
    """An assessor scored a candidate (1 to 5 per criterion): the candidate is under review."""

    event_name = "CandidateScored"
    related_fields = ("candidate_id",)
    portfolio_id: str
    candidate_id: str
    assessor: str
    scores: dict[str, int]
    comment: str | None = None
    scored_at: datetime
    #: The candidate's submission these scores assess (a resubmission starts a fresh assessment).
    submission: int | None = None


@contract
class BoardMemberAdded(_PortfolioEvent):
    """A token subject joined the portfolio's board: from now on they may score and decide."""

    event_name = "BoardMemberAdded"
    portfolio_id: str
    subject: str
    added_by: str


@contract
class BoardMemberRemoved(_PortfolioEvent):
    event_name = "BoardMemberRemoved"
    portfolio_id: str
    subject: str
    removed_by: str


class Criterion(ContractModel):
    key: str
    name: str
    #: Normalised weight: the weights of one scoring model sum to 1.
    weight: Decimal


@contract
class ScoringModelSet(_PortfolioEvent):
    """The criteria candidates are scored on, with weights given directly or from an AHP pairwise matrix."""

    event_name = "ScoringModelSet"
    portfolio_id: str
    method: Literal["weighted", "pairwise"]
    criteria: tuple[Criterion, ...]
    #: Saaty 1-9 reciprocal matrix (entries such as "3" or "1/3"), rows and columns in criteria order.
    pairwise_matrix: tuple[tuple[str, ...], ...] | None = None
    consistency_ratio: Decimal | None = None
    set_by: str


class ScenarioPeriodTotal(ContractModel):
    fiscal_period: str
    budget: Money
    cost: Money


@contract
class ScenarioSaved(_PortfolioEvent):
    """A what-if the board chose to keep: the question asked and the optimal answer at that moment."""

    event_name = "ScenarioSaved"
    related_fields = ("portfolio_id",)
    scenario_id: str
    portfolio_id: str
    name: str
    saved_by: str
    saved_at: datetime
    value_measure: Literal["weighted_score", "benefits"]
    parameters: dict[str, Any] = {}
    selected: tuple[str, ...]
    total_value: Decimal
    totals: tuple[ScenarioPeriodTotal, ...] = ()
    binding_constraints: tuple[str, ...] = ()


# --- Project delivery (issue 5) --------------------------------------------------------------------


class _ProjectEvent(_PortfolioEvent):
    related_fields = ("portfolio_id",)
    project_id: str


@contract
class CandidateWithdrawn(_PortfolioEvent):
    """The proposal was withdrawn in intake: the candidate no longer awaits a decision."""

    event_name = "CandidateWithdrawn"
    related_fields = ("candidate_id", "proposal_id")
    portfolio_id: str
    candidate_id: str
    proposal_id: str
    withdrawn_by: str
    reason: str
    withdrawn_at: datetime | None = None


@contract
class RagTolerancesSet(_PortfolioEvent):
    """Index thresholds for derived RAG: green at or above `green_at`, amber at or above `amber_at`, else red."""

    event_name = "RagTolerancesSet"
    portfolio_id: str
    green_at: Decimal
    amber_at: Decimal
    set_by: str


@contract
class ReviewCadenceSet(_PortfolioEvent):
    """How often each project of the portfolio has a strategic-alignment review."""

    event_name = "ReviewCadenceSet"
    portfolio_id: str
    every_days: int
    set_by: str


@contract
class ProjectBudgetChanged(_PortfolioEvent):
    """A project's committed budget changed in the envelope (a change request, or money released)."""

    event_name = "ProjectBudgetChanged"
    related_fields = ("project_id",)
    portfolio_id: str
    project_id: str
    #: Signed amounts per fiscal period: negative amounts return money to the envelope.
    delta: tuple[PeriodAmount, ...]
    cause: Literal["change_request", "cancellation", "closure"]
    reference: str | None = None
    changed_by: str


@contract
class StageGateDecided(_ProjectEvent):
    """The board decided a stage gate: proceed to the next stage, hold, or stop."""

    event_name = "StageGateDecided"
    portfolio_id: str
    decision_id: str
    gate: Literal["plan", "execute", "close"]
    decision: Literal["proceed", "hold", "stop"]
    from_stage: str
    to_stage: str
    rationale: str
    decided_by: str
    decided_at: datetime


class RagRating(ContractModel):
    schedule: Literal["green", "amber", "red"]
    cost: Literal["green", "amber", "red"]
    scope: Literal["green", "amber", "red"]
    overall: Literal["green", "amber", "red"]


@contract
class StatusReported(_ProjectEvent):
    """A status report for a period; a second report for the same period is a correction of the first."""

    event_name = "StatusReported"
    portfolio_id: str
    report_id: str
    period_end: date
    percent_complete: Decimal
    actual_cost: Money
    #: Earned value at the time: BAC, PV (None when undefined), EV; SPI and CPI are "undefined" on zero.
    bac: Money
    planned_value: Money | None = None
    earned_value: Money
    spi: str
    cpi: str
    rag: RagRating
    derived_rag: RagRating
    rag_source: Literal["derived", "manual"]
    justification: str | None = None
    summary: str
    risks: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    correction_of: str | None = None
    reported_by: str
    reported_at: datetime


@contract
class AlignmentReviewed(_ProjectEvent):
    """The periodic strategic-alignment review of a project."""

    event_name = "AlignmentReviewed"
    portfolio_id: str
    review_id: str
    still_aligned: bool
    recommendation: Literal["continue", "rescope", "stop"]
    notes: str
    reviewed_by: str
    reviewed_at: datetime


@contract
class ChangeRequested(_ProjectEvent):
    event_name = "ChangeRequested"
    portfolio_id: str
    change_request_id: str
    kind: Literal["budget", "scope", "schedule"]
    budget_delta: tuple[PeriodAmount, ...] = ()
    new_end: date | None = None
    rationale: str
    requested_by: str
    requested_at: datetime


@contract
class ChangeRequestDecided(_ProjectEvent):
    """The board approved or rejected a change request; an approved budget change moved the envelope."""

    event_name = "ChangeRequestDecided"
    portfolio_id: str
    change_request_id: str
    kind: Literal["budget", "scope", "schedule"]
    outcome: Literal["approve", "reject"]
    budget_delta: tuple[PeriodAmount, ...] = ()
    new_end: date | None = None
    rationale: str
    decided_by: str
    decided_at: datetime


@contract
class ProjectPaused(_ProjectEvent):
    event_name = "ProjectPaused"
    portfolio_id: str
    rationale: str
    paused_by: str
    paused_at: datetime


@contract
class ProjectResumed(_ProjectEvent):
    event_name = "ProjectResumed"
    portfolio_id: str
    rationale: str
    resumed_by: str
    resumed_at: datetime


@contract
class ProjectCancelled(_PortfolioEvent):
    """The project stopped (a gate's stop, or a cancellation): its unspent budget went back to the envelope."""

    event_name = "ProjectCancelled"
    related_fields = ("portfolio_id",)
    project_id: str
    effective_on: date | None = None
    reason: str | None = None
    portfolio_id: str | None = None
    cancelled_by: str | None = None
    released_budget: tuple[PeriodAmount, ...] = ()


@contract
class ProjectClosed(_PortfolioEvent):
    """The project closed with its final cost and lessons; budget it did not spend went back."""

    event_name = "ProjectClosed"
    related_fields = ("portfolio_id",)
    project_id: str
    effective_on: date | None = None
    reason: str | None = None
    portfolio_id: str | None = None
    final_cost: Money | None = None
    notes: str | None = None
    closed_by: str | None = None
    released_budget: tuple[PeriodAmount, ...] = ()


@contract
class LessonRecorded(_ProjectEvent):
    event_name = "LessonRecorded"
    portfolio_id: str
    lesson_id: str
    title: str
    description: str
    category: str
    tags: tuple[str, ...] = ()
    decision_id: str | None = None
    recorded_by: str
    recorded_at: datetime


@contract
class BenefitRealised(_ProjectEvent):
    """A measurement of a planned benefit; benefits are realised long after delivery."""

    event_name = "BenefitRealised"
    portfolio_id: str
    benefit_id: str
    measured_value: str
    measured_on: date
    note: str | None = None
    recorded_by: str
    recorded_at: datetime
