"""HTTP answers of candidates: the board's list, the ranking, scores and decisions (docs/api.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from pmo_portfolio.governance.responses import ConflictOut, TallyOut, VoteOut
from pmo_portfolio.shared.http import CriterionOut, PeriodAmountOut, PeriodEnvelope, amounts_of
from pmo_servicekit.contract.paging import EXAMPLE_CURSOR, Page
from pmo_servicekit.contract.shared import OUTCOMES_OF_VERBS, DecisionOutcome
from pmo_servicekit.contract.wire import Instant, Money, Ratio, fixed_pattern, fixed_text, money_text

DECISION_EXAMPLE: dict[str, Any] = {
    "id": "b4191039-9c4f-4d65-ac05-d423a30d2887",
    "decision_id": "b4191039-9c4f-4d65-ac05-d423a30d2887",
    "portfolio_id": "fc465260-42a7-40c8-a03e-821a69edefb2",
    "candidate_id": "83d2f542-8551-4f63-b8cd-46c6e6a28f7b",
    "proposal_id": "83d2f542-8551-4f63-b8cd-46c6e6a28f7b",
    "outcome": "approved",
    "rationale": "best value per euro within the FY2027 envelope",
    "decided_by": "bob",
    "decided_at": "2027-03-01T09:30:00Z",
    "approved_budget": [{"fiscal_period": "FY2027", "amount": "380000.00"}],
    "review_on": None,
    "evidence": {
        "remaining_envelope": [
            {"fiscal_period": "FY2027", "envelope": "1200000.00", "committed": "240000.00", "remaining": "960000.00"}
        ],
        "weighted_score": "3.3500",
        "rank": 5,
        "criterion_scores": {"value": "3.5000", "fit": "3.0000", "risk": "3.5000"},
        "assessments": [
            {"assessor": "bob", "scores": {"value": 4, "fit": 3, "risk": 3}, "comment": "solid case"},
            {"assessor": "carla", "scores": {"value": 3, "fit": 3, "risk": 4}, "comment": None},
        ],
        "strategic_alignment": "0.2667",
        "ranked_candidates": 5,
    },
}
RANKED_EXAMPLE: dict[str, Any] = {
    "id": "927b9767-6e49-46b7-935e-005512cfb984",
    "title": "Field app",
    "status": "awaiting_decision",
    "rank": 1,
    "weighted_score": "3.8500",
    "criterion_scores": {"value": "4.5000", "fit": "3.0000", "risk": "3.5000"},
    "assessors": 2,
    "strategic_alignment": "0.5000",
    "costs": [{"fiscal_period": "FY2027", "amount": "150000.00"}],
    "total_cost": "150000.00",
    "financial_benefits": "300000.00",
    "value": "3.8500",
    "value_per_cost": "0.0000256667",
    "dependencies": [],
}
#: Places of `value_per_cost`: a score per unit of currency (3.85 for 150,000.00 is 0.0000256667), so
#: four places would write 0.0000 for every candidate; a fixed scale all the same (docs/api.md).
VALUE_PER_COST_PLACES = 10
ValuePerCost = Annotated[
    Decimal,
    PlainSerializer(lambda v: fixed_text(v, VALUE_PER_COST_PLACES), return_type=str),
    WithJsonSchema({
        "type": "string", "format": "decimal", "pattern": fixed_pattern(VALUE_PER_COST_PLACES),
        "description": "the weighted score per unit of the portfolio's currency, ten decimal places",
        "examples": ["0.0000256667"],
    }),
]  # fmt: skip
CRITERIA_EXAMPLE: list[Any] = [
    {"key": "value", "name": "Business value", "weight": "0.5000"},
    {"key": "fit", "name": "Strategic fit", "weight": "0.3000"},
    {"key": "risk", "name": "Delivery confidence", "weight": "0.2000"},
]

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

    remaining_envelope: list[PeriodEnvelope] = []
    weighted_score: Ratio | None = None
    rank: int | None = None
    criterion_scores: dict[str, Ratio] = {}
    assessments: list[Assessment] = []
    strategic_alignment: Ratio | None = None
    ranked_candidates: int | None = None
    votes: list[VoteOut] = Field(default=[], description="a board decision: every vote on its motion")
    tally: TallyOut | None = None
    conflicts: list[ConflictOut] = Field(default=[], description="who could not vote, and why")
    charter_version: int | None = None


class DecisionView(BaseModel):
    """A board decision: who, when, why, what it approved and the evidence it was taken on."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [DECISION_EXAMPLE]})

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
    authority: Literal["board", "delegated"] | None = Field(
        default=None,
        description="`board`: a motion carried under the charter (`motion_id`); `delegated`: the portfolio manager "
        "alone, below the charter's threshold; absent on decisions recorded before charters",
    )
    motion_id: str | None = None
    override_reason: str | None = None
    project_manager: str | None = None


class CandidateSummary(BaseModel):
    """A candidate for the board: a submitted proposal, its costs and contributions, its latest decision."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": DECISION_EXAMPLE["candidate_id"],
                    "status": "approved",
                    "title": "Billing migration",
                    "submission": 1,
                    "costs": [{"fiscal_period": "FY2027", "amount": "380000.00"}],
                    "objective_contributions": [
                        {"objective_id": "f2388156-44de-4bc9-a589-6521618a0f7b", "contribution": 4}
                    ],
                    "decision": DECISION_EXAMPLE,
                }
            ]
        }
    )

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

    model_config = ConfigDict(json_schema_extra={"examples": [RANKED_EXAMPLE]})

    id: str
    title: str
    status: str
    rank: int | None
    weighted_score: Ratio | None
    criterion_scores: dict[str, Ratio]
    assessors: int
    strategic_alignment: Ratio
    costs: list[PeriodAmountOut]
    total_cost: Money
    financial_benefits: Money
    value: Ratio | None
    value_per_cost: ValuePerCost | None
    dependencies: list[str]


class Ranking(Page[RankedCandidate]):
    """Undecided candidates, best first, with the scoring model's criteria and the portfolio version ranked."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [RANKED_EXAMPLE],
                    "next_cursor": EXAMPLE_CURSOR,
                    "portfolio_id": DECISION_EXAMPLE["portfolio_id"],
                    "as_of_version": 14,
                    "criteria": CRITERIA_EXAMPLE,
                }
            ]
        }
    )

    portfolio_id: str
    as_of_version: int
    criteria: list[CriterionOut]


class ScoreRecorded(BaseModel):
    """An assessor's scores as recorded, and the candidate's standing after them."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "portfolio_id": DECISION_EXAMPLE["portfolio_id"],
                    "candidate_id": RANKED_EXAMPLE["id"],
                    "assessor": "bob",
                    "scores": {"value": 5, "fit": 3, "risk": 4},
                    "comment": "strong field demand",
                    "scored_at": "2027-03-01T09:30:00Z",
                    "standing": RANKED_EXAMPLE,
                }
            ]
        },
    )

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
