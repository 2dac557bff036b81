"""The Portfolio aggregate: the consistency boundary for funding (envelope, board, candidates, decisions)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.intake import ProposalSubmitted
from pmo_events.contracts.portfolio import (
    CandidateRegistered,
    DecisionEvidence,
    InvestmentDecided,
    PortfolioCreated,
)
from pmo_portfolio.domain.envelope import add, check_within_envelope, remaining_envelope
from pmo_portfolio.domain.errors import NotBoardMember, NotFound, RuleViolation

Outcome = Literal["approve", "reject", "defer", "request_changes"]
CandidateStatus = Literal["awaiting_decision", "approved", "rejected", "deferred", "changes_requested"]
_STATUS_AFTER: dict[str, CandidateStatus] = {
    "approve": "approved",
    "reject": "rejected",
    "defer": "deferred",
    "request_changes": "changes_requested",
}


class Candidate(BaseModel):
    candidate_id: str
    title: str
    submission: int
    status: CandidateStatus = "awaiting_decision"
    costs: tuple[PeriodAmount, ...] = ()


class Portfolio(BaseModel):
    portfolio_id: str
    exists: bool = False
    name: str = ""
    currency: str = ""
    owner: str = ""
    budget: dict[str, Decimal] = {}
    committed: dict[str, Decimal] = {}
    board_members: tuple[str, ...] = ()
    candidates: dict[str, Candidate] = {}


@dataclass(frozen=True)
class CreatePortfolio:
    portfolio_id: str
    name: str
    currency: str
    owner: str
    budget: tuple[PeriodAmount, ...]
    board_members: tuple[str, ...]
    created_by: str


@dataclass(frozen=True)
class DecideInvestment:
    candidate_id: str
    outcome: Outcome
    rationale: str
    decided_by: str
    decided_at: datetime
    approved_budget: tuple[PeriodAmount, ...] = ()
    review_on: str | None = None


def create(command: CreatePortfolio) -> list[Event]:
    periods = [b.fiscal_period for b in command.budget]
    if len(periods) != len(set(periods)):
        raise RuleViolation("each fiscal period may appear once in the budget")
    return [PortfolioCreated(**command.__dict__)]


def register_candidate(portfolio: Portfolio, submitted: ProposalSubmitted) -> list[Event]:
    """A submitted (or resubmitted) proposal becomes a candidate; a submission seen before is ignored."""
    if not portfolio.exists:
        raise NotFound(f"portfolio {portfolio.portfolio_id}")
    known = portfolio.candidates.get(submitted.proposal_id)
    if known is not None and known.submission >= submitted.submission:
        return []
    return [
        CandidateRegistered(
            portfolio_id=portfolio.portfolio_id,
            candidate_id=submitted.proposal_id,
            proposal_id=submitted.proposal_id,
            submission=submitted.submission,
            title=submitted.title,
            requester=submitted.requester,
            sponsor=submitted.sponsor,
            costs=submitted.business_case.costs,
            benefits=submitted.business_case.benefits,
            objective_contributions=submitted.objective_contributions,
            timeline=submitted.timeline,
            resource_estimate=submitted.resource_estimate,
        )
    ]


def decide(portfolio: Portfolio, command: DecideInvestment) -> list[Event]:
    """The board decides a candidate within board authority and the budget envelope."""
    if command.decided_by not in portfolio.board_members:
        raise NotBoardMember(f"{command.decided_by} is not on the board of portfolio {portfolio.name}")
    candidate = portfolio.candidates.get(command.candidate_id)
    if candidate is None:
        raise NotFound(f"candidate {command.candidate_id}")
    if candidate.status != "awaiting_decision":
        raise RuleViolation(f"candidate {command.candidate_id} is {candidate.status}, not awaiting a decision")
    if not command.rationale.strip():
        raise RuleViolation("a decision needs a rationale")
    if command.outcome == "approve":
        if not command.approved_budget:
            raise RuleViolation("an approval needs an approved budget")
        check_within_envelope(portfolio.budget, portfolio.committed, command.approved_budget)
    evidence = DecisionEvidence(remaining_envelope=tuple(remaining_envelope(portfolio.budget, portfolio.committed)))
    return [
        InvestmentDecided(
            decision_id=str(uuid.uuid4()),
            portfolio_id=portfolio.portfolio_id,
            candidate_id=candidate.candidate_id,
            proposal_id=candidate.candidate_id,
            outcome=command.outcome,
            rationale=command.rationale,
            decided_by=command.decided_by,
            decided_at=command.decided_at,
            approved_budget=command.approved_budget if command.outcome == "approve" else (),
            review_on=command.review_on,
            evidence=evidence,
        )
    ]


def evolve(state: Portfolio, event: Event) -> Portfolio:
    if isinstance(event, PortfolioCreated):
        return state.model_copy(
            update={
                "exists": True,
                "name": event.name,
                "currency": event.currency,
                "owner": event.owner,
                "budget": {b.fiscal_period: b.amount for b in event.budget},
                "board_members": event.board_members,
            }
        )
    if isinstance(event, CandidateRegistered):
        candidate = Candidate(
            candidate_id=event.candidate_id, title=event.title, submission=event.submission, costs=event.costs
        )
        return state.model_copy(update={"candidates": {**state.candidates, event.candidate_id: candidate}})
    if isinstance(event, InvestmentDecided):
        candidate = state.candidates[event.candidate_id].model_copy(update={"status": _STATUS_AFTER[event.outcome]})
        return state.model_copy(
            update={
                "candidates": {**state.candidates, event.candidate_id: candidate},
                "committed": add(state.committed, event.approved_budget),
            }
        )
    return state


def initial(portfolio_id: str) -> Portfolio:
    return Portfolio(portfolio_id=portfolio_id)
