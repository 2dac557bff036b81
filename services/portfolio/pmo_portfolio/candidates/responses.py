"""HTTP answers of candidates: the board's list, the ranking, scores and decisions (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_portfolio.shared.http import CriterionOut, PeriodAmountOut, PeriodEnvelope, amounts_of
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.shared import OUTCOMES_OF_VERBS, DecisionOutcome
from pmo_servicekit.contract.wire import DecimalString, Instant, Money, money_text

CandidateStatus = Literal["awaiting_decision", "approved", "rejected", "deferred", "changes_requested", "withdrawn"]


class Contribution(BaseModel):
    objective_id: str
    contribution: int = Field(ge=1, le=5)


class Assessment(BaseModel):
    assessor: str
    scores: dict[str, int]
    comment: str | None = None


class Evidence(BaseModel):
    """What was in front of the board when it decided: envelope, scores, rank, alignment (and votes)."""

    model_config = ConfigDict(extra="allow")

    remaining_envelope: list[PeriodEnvelope] = []
    weighted_score: DecimalString | None = None
    rank: int | None = None
    criterion_scores: dict[str, DecimalString] = {}
    assessments: list[Assessment] = []
    strategic_alignment: DecimalString | None = None
    ranked_candidates: int | None = None


class DecisionView(BaseModel):
    """A board decision: who, when, why, what it approved and the evidence it was taken on."""

    model_config = ConfigDict(extra="allow")

    id: str
    decision_id: str
    portfolio_id: str
    candidate_id: str
    proposal_id: str
    outcome: DecisionOutcome
    rationale: str
    decided_by: str
    decided_at: Instant
    approved_budget: list[PeriodAmountOut] = []
    review_on: date | None = None
    exceeds_request_reason: str | None = None
    evidence: Evidence | None = None
    programme_id: str | None = None


class CandidateSummary(BaseModel):
    """A candidate for the board: a submitted proposal, its costs and contributions, its latest decision."""

    id: str
    status: CandidateStatus
    title: str
    submission: int
    costs: list[PeriodAmountOut]
    objective_contributions: list[Contribution]
    decision: DecisionView | None = None


class CandidatePage(Page[CandidateSummary]):
    """The portfolio's candidates by id."""


class DecisionPage(Page[DecisionView]):
    """The portfolio's decisions, oldest first."""


class RankedCandidate(BaseModel):
    """A candidate's standing: means per criterion, weighted score, alignment, cost and value per cost."""

    id: str
    title: str
    status: str
    rank: int | None
    weighted_score: DecimalString | None
    criterion_scores: dict[str, DecimalString]
    assessors: int
    strategic_alignment: DecimalString
    costs: list[PeriodAmountOut]
    total_cost: Money
    financial_benefits: Money
    value: DecimalString | None
    value_per_cost: DecimalString | None
    dependencies: list[str]


class Ranking(Page[RankedCandidate]):
    """Undecided candidates, best first, with the scoring model's criteria and the portfolio version ranked."""

    portfolio_id: str
    as_of_version: int
    criteria: list[CriterionOut]


class ScoreRecorded(BaseModel):
    """An assessor's scores as recorded, and the candidate's standing after them."""

    model_config = ConfigDict(extra="allow")

    portfolio_id: str
    candidate_id: str
    assessor: str
    scores: dict[str, int]
    comment: str | None = None
    scored_at: Instant
    standing: RankedCandidate


def spoken(decision: dict[str, Any], currency: str | None) -> dict[str, Any]:
    """A decision record as clients see it: its outcome in the HTTP vocabulary (the status it gives), the
    approved budget and the envelope in the evidence at the portfolio currency's scale."""
    outcome = decision["outcome"]
    shown = {
        **decision,
        "outcome": OUTCOMES_OF_VERBS.get(outcome, outcome),
        "approved_budget": amounts_of(decision.get("approved_budget", []), currency),
    }
    evidence = decision.get("evidence")
    if evidence and evidence.get("remaining_envelope"):
        envelope = [
            {**period, **{k: money_text(period[k], currency) for k in ("envelope", "committed", "remaining")}}
            for period in evidence["remaining_envelope"]
        ]
        shown["evidence"] = {**evidence, "remaining_envelope": envelope}
    return shown
