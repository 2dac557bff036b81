"""Candidate events: proposals registered for the board, scoring, and the board's investment decisions."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pmo_events.contracts.base import ContractModel, UtcInstant, contract
from pmo_events.contracts.common import Benefit, ObjectiveContribution, PeriodAmount, RoleEstimate, Timeline
from pmo_events.contracts.portfolio.funding import PeriodEnvelope
from pmo_events.contracts.portfolio.governance import Authority, Conflict, Tally, Vote
from pmo_events.contracts.portfolio.topic import PortfolioEvent


@contract
class CandidateRegistered(PortfolioEvent):
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
    #: The programme the proposal asks to join: an approval brings the project in unless it says otherwise.
    programme_id: str | None = None


@contract
class CandidateWithdrawn(PortfolioEvent):
    """The proposal was withdrawn in intake: the candidate no longer awaits a decision."""

    event_name = "CandidateWithdrawn"
    related_fields = ("candidate_id", "proposal_id")
    portfolio_id: str
    candidate_id: str
    proposal_id: str
    withdrawn_by: str
    reason: str
    withdrawn_at: UtcInstant | None = None


@contract
class CandidateScored(PortfolioEvent):
    """An assessor scored a candidate (1 to 5 per criterion): the candidate is under review."""

    event_name = "CandidateScored"
    related_fields = ("candidate_id", "portfolio_id")
    portfolio_id: str
    candidate_id: str
    assessor: str
    scores: dict[str, int]
    comment: str | None = None
    scored_at: UtcInstant
    #: The candidate's submission these scores assess (a resubmission starts a fresh assessment).
    submission: int | None = None
    #: This score's own stream (its key and `ce_subject`); absent on scores recorded before scores had
    #: streams of their own, which are on their portfolio's stream.
    score_id: str | None = None


class Criterion(ContractModel):
    key: str
    name: str
    #: Normalised weight: the weights of one scoring model sum to 1.
    weight: Decimal


@contract
class ScoringModelSet(PortfolioEvent):
    """The criteria candidates are scored on, with weights given directly or from an AHP pairwise matrix."""

    event_name = "ScoringModelSet"
    portfolio_id: str
    method: Literal["weighted", "pairwise"]
    criteria: tuple[Criterion, ...]
    #: Saaty 1-9 reciprocal matrix (entries such as "3" or "1/3"), rows and columns in criteria order.
    pairwise_matrix: tuple[tuple[str, ...], ...] | None = None
    consistency_ratio: Decimal | None = None
    set_by: str


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
    #: A board decision: every vote on the motion, the tally, who could not vote and why, the charter version.
    votes: tuple[Vote, ...] = ()
    tally: Tally | None = None
    conflicts: tuple[Conflict, ...] = ()
    charter_version: int | None = None


@contract
class InvestmentDecided(PortfolioEvent):
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
    decided_at: UtcInstant
    approved_budget: tuple[PeriodAmount, ...] = ()
    review_on: str | None = None
    evidence: DecisionEvidence = DecisionEvidence()
    #: `board` (a motion carried under the charter; `motion_id` names it) or `delegated` (the portfolio
    #: manager alone, below the charter's threshold). Absent on decisions recorded before charters existed.
    authority: Authority | None = None
    motion_id: str | None = None
    #: Why an unscored candidate was approved anyway (separation of duties asks for one).
    override_reason: str | None = None
    #: An approval may name the project's manager: the project starts with them assigned.
    project_manager: str | None = None
    #: An approval may name the programme the project joins (its budget draws on the programme's ring-fence).
    programme_id: str | None = None
    #: Why the board approved more than the request's total cost (required then; absent otherwise).
    exceeds_request_reason: str | None = None


class ReprioritisedItem(ContractModel):
    """One line of a review cycle's ranking: a running project or an undecided candidate."""

    id: str
    kind: Literal["running", "candidate"]
    title: str
    #: Its place among the scored (1 is best); None: unscored under the current model, listed, not ranked.
    rank: int | None = None
    weighted_score: Decimal | None = None
    #: A running project only: the undecided (unfunded) candidates that now rank above it.
    outranked_by: tuple[str, ...] = ()


@contract
class ReviewCycleIntervalSet(PortfolioEvent):
    """How often the portfolio's review cycle re-prioritises running projects against the pipeline."""

    event_name = "ReviewCycleIntervalSet"
    portfolio_id: str
    every_days: int
    set_by: str


@contract
class PortfolioReprioritised(PortfolioEvent):
    """A review cycle ran: running projects re-scored with the current scoring model, ranked with the pipeline."""

    event_name = "PortfolioReprioritised"
    related_fields = ("portfolio_id",)
    #: The portfolio's stream of cycles: `review-cycles-<portfolio_id>`.
    cycles_id: str
    portfolio_id: str
    #: The cycle's number in the portfolio (1, 2, ...): also its id.
    cycle: int
    run_by: str
    run_at: UtcInstant
    #: The portfolio's version whose scoring model ranked it (the model in force at `run_at`).
    model_version: int
    criteria: tuple[Criterion, ...] = ()
    ranking: tuple[ReprioritisedItem, ...] = ()
    #: Running projects that now rank below at least one unfunded candidate.
    below_pipeline: tuple[str, ...] = ()
