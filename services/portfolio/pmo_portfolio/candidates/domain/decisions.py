"""Board decisions: approve, reject, defer or request changes, within board authority and the envelope.

Who decides (the governance ladder): the charter's portfolio manager alone when the approval is below the
delegated threshold (`authority: delegated`); otherwise the board, by a motion carried under its charter
(`authority: board`, every vote in the event). Nobody decides on what they requested or sponsor, and an
approval of a candidate nobody scored needs an override reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import (
    AssessmentEvidence,
    Conflict,
    DecisionEvidence,
    InvestmentDecided,
    MotionCarried,
)
from pmo_events.figures.money import readable_money
from pmo_portfolio.candidates.domain.assessments import Scorecard
from pmo_portfolio.candidates.domain.ranking import assess, rank
from pmo_portfolio.funding.domain import (
    AWAITING_DECISION,
    Candidate,
    DecisionOutcome,
    Portfolio,
    check_within_envelope,
    existing,
    remaining_envelope,
)
from pmo_portfolio.governance.domain import (
    Motion,
    MotionTerms,
    approval_amount,
    automatic_conflicts,
    charter_of,
    check_board_member,
    check_not_conflicted,
    check_override,
    within_delegation,
)
from pmo_portfolio.shared.errors import InvalidCommand, RuleViolation, check_scale


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
    #: Why an approval goes ahead although nobody scored the candidate.
    override_reason: str | None = None
    #: An approval may name the project's manager (assigned when the project starts).
    project_manager: str | None = None
    #: False: an approval that names no programme leaves out the programme the proposal asked to join.
    join_requested_programme: bool = True


#: The motion kind of an investment decision (`MotionProposed.kind`).
INVESTMENT = "investment"


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
    if command.outcome != "approve" and command.project_manager:
        raise InvalidCommand("project_manager", f"only an approval names a project manager, not {command.outcome}")


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


def conflicts_on(portfolio: Portfolio, candidate_id: str) -> tuple[Conflict, ...]:
    """Who may not decide on the candidate: its requester and its sponsor (separation of duties)."""
    candidate = portfolio.candidate(candidate_id)
    return automatic_conflicts(requester=candidate.requester, sponsor=candidate.sponsor)


def _checked(portfolio: Portfolio, command: DecideInvestment, scorecard: Scorecard) -> DecisionEvidence:
    """Every rule a decision meets whoever takes it; answers the evidence in front of the decider."""
    existing(portfolio)
    _check_command(command)
    check_scale(command.approved_budget, portfolio.currency, "approved_budget")
    candidate = portfolio.candidate(command.candidate_id)
    if candidate.status not in AWAITING_DECISION:
        raise RuleViolation(f"candidate {command.candidate_id} is {candidate.status}, not awaiting a decision")
    check_not_conflicted(
        conflicts_on(portfolio, candidate.candidate_id), command.decided_by, f"candidate {candidate.title}"
    )
    found = evidence(portfolio, candidate.candidate_id, scorecard)
    check_override(found.weighted_score is None, command.outcome == "approve", command.override_reason)
    if command.outcome == "approve":
        check_within_envelope(portfolio.budget, portfolio.committed, command.approved_budget, portfolio.currency)
    _check_request_exceeded(portfolio, candidate, command)
    return found


def is_delegated(portfolio: Portfolio, command: DecideInvestment) -> bool:
    """The charter's portfolio manager, below the threshold: they decide alone (any outcome below it)."""
    return within_delegation(portfolio.charter, command.decided_by, approval_amount(command.approved_budget))


def with_requested_programme(portfolio: Portfolio, command: DecideInvestment) -> DecideInvestment:
    """An approval that names no programme brings the project into the one its proposal asked to join, unless
    the decision says otherwise (`join_requested_programme`)."""
    candidate = portfolio.candidates.get(command.candidate_id)
    asked = candidate.programme_id if candidate is not None else None
    if command.outcome != "approve" or command.programme_id or not command.join_requested_programme or not asked:
        return command
    return replace(command, programme_id=asked)


def decide(portfolio: Portfolio, command: DecideInvestment, scorecard: Scorecard) -> list[Event]:
    """Under delegated authority only: the portfolio manager decides alone below the charter's threshold.

    Anyone else (a board member) puts the decision to the board as a motion (`motion_terms`)."""
    command = with_requested_programme(portfolio, command)
    found = _checked(portfolio, command, scorecard)
    if not is_delegated(portfolio, command):
        check_board_member(portfolio, command.decided_by)
        raise RuleViolation(
            f"{command.decided_by} has no delegated authority for this decision; the board decides it by a motion"
        )
    charter = charter_of(portfolio)
    return [
        _decided(
            portfolio, command, found.model_copy(update={"charter_version": charter.version}), authority="delegated"
        )
    ]


def motion_terms(portfolio: Portfolio, command: DecideInvestment, scorecard: Scorecard) -> MotionTerms:
    """A board member's decision, checked as the board would take it now, as a motion for the board's vote."""
    check_board_member(portfolio, command.decided_by)
    command = with_requested_programme(portfolio, command)
    _checked(portfolio, command, scorecard)
    return MotionTerms(
        kind=INVESTMENT,
        subject_id=command.candidate_id,
        outcome=command.outcome,
        rationale=command.rationale,
        approved_budget=command.approved_budget,
        review_on=command.review_on,
        amount=approval_amount(command.approved_budget),
        override_reason=command.override_reason,
        project_manager=command.project_manager,
        programme_id=command.programme_id,
        exceeds_request_reason=command.exceeds_request_reason,
        conflicts=conflicts_on(portfolio, command.candidate_id),
    )


def carried(portfolio: Portfolio, motion: Motion, event: MotionCarried, scorecard: Scorecard) -> list[Event]:
    """The board carried an investment motion: the decision, with every vote, checked again as it stands now."""
    command = DecideInvestment(
        candidate_id=motion.subject_id,
        outcome=motion.outcome,  # type: ignore[arg-type]
        rationale=motion.rationale,
        decided_by=motion.proposed_by,
        decided_at=event.carried_at,
        approved_budget=motion.approved_budget,
        review_on=motion.review_on,
        override_reason=motion.override_reason,
        project_manager=motion.project_manager,
        programme_id=motion.programme_id,
        exceeds_request_reason=motion.exceeds_request_reason,
    )
    charter_of(portfolio)
    found = _checked(portfolio, command, scorecard)
    votes = {
        "votes": event.votes,
        "tally": event.tally,
        "conflicts": event.conflicts,
        "charter_version": motion.charter_version,
    }
    decision = _decided(portfolio, command, found.model_copy(update=votes), authority="board")
    return [decision.model_copy(update={"motion_id": motion.motion_id})]


def _decided(
    portfolio: Portfolio, command: DecideInvestment, found: DecisionEvidence, *, authority: str
) -> InvestmentDecided:
    candidate = portfolio.candidate(command.candidate_id)
    return InvestmentDecided(
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
        exceeds_request_reason=_check_request_exceeded(portfolio, candidate, command),
        evidence=found,
        authority=authority,  # type: ignore[arg-type]
        override_reason=command.override_reason,
        project_manager=command.project_manager,
    )
