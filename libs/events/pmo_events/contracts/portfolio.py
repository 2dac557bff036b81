"""Events published by the portfolio service on topic `pmo.portfolio.events`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

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


class PeriodEnvelope(ContractModel):
    fiscal_period: str
    envelope: Money
    committed: Money
    remaining: Money


class DecisionEvidence(ContractModel):
    """What was in front of the board when it decided."""

    remaining_envelope: tuple[PeriodEnvelope, ...] = ()
    weighted_score: Decimal | None = None
    rank: int | None = None


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
