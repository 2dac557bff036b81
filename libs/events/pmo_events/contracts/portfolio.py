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
