"""Ranking: undecided candidates by weighted score, with strategic alignment, cost and value per cost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from pmo_events.contracts.common import PeriodAmount
from pmo_portfolio.candidates.domain.assessments import Scorecard
from pmo_portfolio.candidates.domain.scoring import SCORE_PLACES, criterion_means, weighted_score
from pmo_portfolio.funding.domain import AWAITING_DECISION, Candidate, Portfolio

MAX_CONTRIBUTION = 5
#: Value per cost is a score per unit of currency (3.85 for 150,000.00 is 0.0000256667): ten places, fixed.
VALUE_PER_COST_PLACES = Decimal("1e-10")


@dataclass(frozen=True)
class RankedCandidate:
    candidate_id: str
    title: str
    status: str
    rank: int | None
    weighted_score: Decimal | None
    criterion_scores: dict[str, Decimal]
    assessors: int
    strategic_alignment: Decimal
    costs: tuple[PeriodAmount, ...]
    total_cost: Decimal
    financial_benefits: Decimal
    value: Decimal | None
    value_per_cost: Decimal | None
    dependencies: tuple[str, ...] = field(default=())


def strategic_alignment(candidate: Candidate, objective_weights: Mapping[str, Decimal]) -> Decimal:
    """Σ objective weight * contribution (1-5), over the best possible (every active objective at 5): 0 to 1.

    Contributions to retired or unknown objectives count for nothing: alignment is with today's strategy.
    """
    total_weight = sum(objective_weights.values(), Decimal(0))
    if total_weight <= 0:
        return Decimal(0)
    achieved = sum(
        (objective_weights.get(c.objective_id, Decimal(0)) * c.contribution for c in candidate.objective_contributions),
        Decimal(0),
    )
    return (achieved / (total_weight * MAX_CONTRIBUTION)).quantize(SCORE_PLACES, ROUND_HALF_EVEN)


def financial_benefits(candidate: Candidate) -> Decimal:
    return sum(
        (b.value_amount for b in candidate.benefits if b.kind == "financial" and b.value_amount is not None),
        Decimal(0),
    )


def _per_cost(score: Decimal | None, total_cost: Decimal) -> Decimal | None:
    if score is None or total_cost <= 0:
        return None
    return (score / total_cost).quantize(VALUE_PER_COST_PLACES, ROUND_HALF_EVEN)


def assess(portfolio: Portfolio, candidate: Candidate, scorecard: Scorecard) -> RankedCandidate:
    """The candidate as the board sees it: mean scores, weighted score, alignment, cost, value per cost."""
    criteria = portfolio.scoring_model.criteria if portfolio.scoring_model else ()
    assessments = scorecard.of(candidate)
    means = criterion_means(assessments, criteria)
    score = weighted_score(means, criteria)
    total_cost = sum((c.amount for c in candidate.costs), Decimal(0))
    return RankedCandidate(
        candidate_id=candidate.candidate_id,
        title=candidate.title,
        status=candidate.status,
        rank=None,
        weighted_score=score,
        criterion_scores=means,
        assessors=len(assessments),
        strategic_alignment=strategic_alignment(candidate, scorecard.objective_weights),
        costs=candidate.costs,
        total_cost=total_cost,
        financial_benefits=financial_benefits(candidate),
        value=score,
        value_per_cost=_per_cost(score, total_cost),
        dependencies=candidate.dependencies,
    )


def rank(portfolio: Portfolio, scorecard: Scorecard) -> list[RankedCandidate]:
    """Undecided candidates, best first: weighted score, then alignment, then value per cost; unscored last."""
    assessed = [assess(portfolio, c, scorecard) for c in portfolio.candidates.values() if c.status in AWAITING_DECISION]
    scored = sorted(
        (a for a in assessed if a.weighted_score is not None),
        key=lambda a: (-(a.weighted_score or 0), -a.strategic_alignment, -(a.value_per_cost or 0), a.candidate_id),
    )
    unscored = sorted((a for a in assessed if a.weighted_score is None), key=lambda a: a.candidate_id)
    ranked = [_with_rank(a, position) for position, a in enumerate(scored, start=1)]
    return ranked + unscored


def _with_rank(assessed: RankedCandidate, position: int) -> RankedCandidate:
    return RankedCandidate(**{**assessed.__dict__, "rank": position})
