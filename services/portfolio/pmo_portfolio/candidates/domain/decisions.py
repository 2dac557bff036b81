"""Board decisions: approve, reject, defer or request changes, within board authority and the envelope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import AssessmentEvidence, DecisionEvidence, InvestmentDecided
from pmo_events.figures.money import readable_money
from pmo_portfolio.candidates.domain.assessments import Scorecard
from pmo_portfolio.candidates.domain.ranking import assess, rank
from pmo_portfolio.funding.domain import (
    AWAITING_DECISION,
    Candidate,
    DecisionOutcome,
    Portfolio,
    check_board_member,
    check_within_envelope,
    remaining_envelope,
)
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation, check_scale


@dataclass(frozen=True)
class DecideInvestment:
    candidate_id: str
    outcome: DecisionOutcome
    rationale: str
    decided_by: str
    decided_at: datetime
    approved_budget: tuple[PeriodAmount, ...] = ()
    review_on: str | None = None
    #: An approval may name the programme the project joins (the programme's rules decide in the same transaction).
    programme_id: str | None = None
    #: Why the board approves more than the request asked for (required then, recorded in the decision).
    exceeds_request_reason: str | None = None


def _check_command(command: DecideInvestment) -> None:
    if not command.rationale.strip():
        raise InvalidCommand("rationale", "every decision needs a rationale")
    if command.outcome == "defer" and not command.review_on:
        raise InvalidCommand("review_on", "a deferral says when the board will review the candidate again")
    if command.review_on and date.fromisoformat(command.review_on) <= command.decided_at.date():
        raise InvalidCommand("review_on", f"the review date {command.review_on} must be after today")
    if command.outcome == "approve":
        if not command.approved_budget:
            raise InvalidCommand("approved_budget", "an approval needs an approved budget")
        periods = [line.fiscal_period for line in command.approved_budget]
        if len(periods) != len(set(periods)):
            raise InvalidCommand("approved_budget", "each fiscal period may appear once")
        for index, line in enumerate(command.approved_budget):
            if line.amount <= 0:
                raise InvalidCommand(f"approved_budget.{index}.amount", "an approved amount is greater than 0")
    elif command.approved_budget:
        raise InvalidCommand("approved_budget", f"only an approval carries a budget, not {command.outcome}")
    elif command.programme_id:
        raise InvalidCommand(
            "programme_id", f"only an approval brings a project into a programme, not {command.outcome}"
        )


def _check_request_exceeded(portfolio: Portfolio, candidate: Candidate, command: DecideInvestment) -> str | None:
    """Approving more than the request's total cost needs a stated reason; the reason is kept only then."""
    reason = (command.exceeds_request_reason or "").strip() or None
    approved = sum((line.amount for line in command.approved_budget), Decimal(0))
    requested = sum((line.amount for line in candidate.costs), Decimal(0))
    if command.outcome != "approve" or approved <= requested:
        if reason:
            raise InvalidCommand("exceeds_request_reason", "only an approval above the requested amount gives one")
        return None
    if not reason:
        asked, given = readable_money(requested, portfolio.currency), readable_money(approved, portfolio.currency)
        raise InvalidCommand(
            "exceeds_request_reason",
            f"{given} approved is more than the {asked} requested: say why in exceeds_request_reason",
        )
    return reason


def evidence(portfolio: Portfolio, candidate_id: str, scorecard: Scorecard) -> DecisionEvidence:
    """What was in front of the board: scores, weighted score, rank among undecided candidates, envelope."""
    candidate = portfolio.candidate(candidate_id)
    ranking = rank(portfolio, scorecard)
    placed = next((r for r in ranking if r.candidate_id == candidate_id), None)
    assessed = placed or assess(portfolio, candidate, scorecard)
    return DecisionEvidence(
        remaining_envelope=tuple(remaining_envelope(portfolio.budget, portfolio.committed)),
        weighted_score=assessed.weighted_score,
        rank=assessed.rank,
        criterion_scores=assessed.criterion_scores,
        assessments=tuple(
            AssessmentEvidence(assessor=a.assessor, scores=a.scores, comment=a.comment) for a in scorecard.of(candidate)
        ),
        strategic_alignment=assessed.strategic_alignment,
        ranked_candidates=sum(1 for r in ranking if r.rank is not None),
    )


def decide(portfolio: Portfolio, command: DecideInvestment, scorecard: Scorecard) -> list[Event]:
    """Only a board member of THIS portfolio decides; an approval never takes a period above its envelope.

    The decision records its evidence: the scorecard as it stood, the rank it gave, the envelope."""
    if not portfolio.exists:
        raise NotFound(f"portfolio {portfolio.portfolio_id}")
    check_board_member(portfolio, command.decided_by)
    _check_command(command)
    check_scale(command.approved_budget, portfolio.currency, "approved_budget")
    candidate = portfolio.candidate(command.candidate_id)
    if candidate.status not in AWAITING_DECISION:
        raise RuleViolation(f"candidate {command.candidate_id} is {candidate.status}, not awaiting a decision")
    if command.outcome == "approve":
        check_within_envelope(portfolio.budget, portfolio.committed, command.approved_budget, portfolio.currency)
    exceeds_request_reason = _check_request_exceeded(portfolio, candidate, command)
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
            approved_budget=command.approved_budget,
            review_on=command.review_on,
            programme_id=command.programme_id,
            exceeds_request_reason=exceeds_request_reason,
            evidence=evidence(portfolio, candidate.candidate_id, scorecard),
        )
    ]
