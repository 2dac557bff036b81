"""Scoring: the portfolio's criteria and weights, assessors' 1-5 scores, and the candidate's weighted score."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from pmo_events.contracts.portfolio import CandidateScored, Criterion, ScoringModelSet
from pmo_portfolio.candidates.domain.ahp import CONSISTENCY_LIMIT, RANDOM_INDEX, pairwise_weights, parse_judgement
from pmo_portfolio.candidates.domain.assessments import Assessment
from pmo_portfolio.funding.domain import AWAITING_DECISION, Portfolio
from pmo_portfolio.shared.errors import InvalidCommand, NotBoardMember, RuleViolation

WEIGHT_PLACES = Decimal("0.0001")
SCORE_PLACES = Decimal("0.0001")
MAX_CRITERIA = 20


@dataclass(frozen=True)
class CriterionInput:
    key: str
    name: str
    weight: Decimal | None = None


def _check_keys(criteria: tuple[CriterionInput, ...]) -> None:
    if not criteria:
        raise InvalidCommand("criteria", "a scoring model needs at least one criterion")
    if len(criteria) > MAX_CRITERIA:
        raise InvalidCommand("criteria", f"a scoring model has at most {MAX_CRITERIA} criteria")
    keys = [c.key for c in criteria]
    if len(set(keys)) != len(keys):
        raise InvalidCommand("criteria", "each criterion key may appear once")


def set_weighted_model(
    portfolio: Portfolio, criteria: tuple[CriterionInput, ...], set_by: str
) -> list[ScoringModelSet]:
    """Weights given directly (any positive numbers); they are normalised to sum 1."""
    _check_keys(criteria)
    for index, criterion in enumerate(criteria):
        if criterion.weight is None or criterion.weight <= 0:
            raise InvalidCommand(f"criteria.{index}.weight", "each criterion needs a weight greater than 0")
    total = sum((c.weight for c in criteria if c.weight is not None), Decimal(0))
    normalised = tuple(
        Criterion(key=c.key, name=c.name, weight=(c.weight / total).quantize(WEIGHT_PLACES))
        for c in criteria
        if c.weight is not None
    )
    return [ScoringModelSet(portfolio_id=portfolio.portfolio_id, method="weighted", criteria=normalised, set_by=set_by)]


def set_pairwise_model(
    portfolio: Portfolio, criteria: tuple[CriterionInput, ...], matrix: list[list[object]], set_by: str
) -> list[ScoringModelSet]:
    """Weights from the AHP principal eigenvector; refused when the consistency ratio is 0.1 or more."""
    _check_keys(criteria)
    if len(criteria) > max(RANDOM_INDEX):
        raise InvalidCommand("criteria", f"pairwise comparison takes at most {max(RANDOM_INDEX)} criteria")
    if len(matrix) != len(criteria):
        raise InvalidCommand("pairwise_matrix", f"the matrix needs one row per criterion ({len(criteria)})")
    judgements = [[parse_judgement(v, i, j) for j, v in enumerate(row)] for i, row in enumerate(matrix)]
    result = pairwise_weights(judgements)
    ratio = Decimal(str(round(result.consistency_ratio, 4)))
    if result.consistency_ratio >= CONSISTENCY_LIMIT:
        raise InvalidCommand(
            "pairwise_matrix",
            f"the judgements are inconsistent: consistency ratio {ratio} (λmax {result.principal_eigenvalue:.4f}, "
            f"CI {result.consistency_index:.4f}, random index {RANDOM_INDEX[len(criteria)]}) must be below "
            f"{CONSISTENCY_LIMIT}; revisit the comparisons that contradict each other",
        )
    weighted = tuple(
        Criterion(key=c.key, name=c.name, weight=Decimal(str(w)).quantize(WEIGHT_PLACES))
        for c, w in zip(criteria, result.weights, strict=True)
    )
    return [
        ScoringModelSet(
            portfolio_id=portfolio.portfolio_id,
            method="pairwise",
            criteria=weighted,
            pairwise_matrix=tuple(tuple(str(j) for j in row) for row in judgements),
            consistency_ratio=ratio,
            set_by=set_by,
        )
    ]


@dataclass(frozen=True)
class ScoreCandidate:
    candidate_id: str
    assessor: str
    assessor_is_analyst: bool
    scores: dict[str, int]
    comment: str | None
    scored_at: datetime


def score(portfolio: Portfolio, command: ScoreCandidate) -> list[CandidateScored]:
    """A PMO analyst or a member of THIS portfolio's board scores every criterion from 1 to 5."""
    if not command.assessor_is_analyst and command.assessor not in portfolio.board_members:
        raise NotBoardMember(f"{command.assessor} is neither a PMO analyst nor on the board of {portfolio.name}")
    candidate = portfolio.candidate(command.candidate_id)
    if candidate.status not in AWAITING_DECISION:
        raise RuleViolation(f"candidate {candidate.candidate_id} is {candidate.status}; only undecided ones are scored")
    model = portfolio.scoring_model
    if model is None:
        raise RuleViolation(f"portfolio {portfolio.name} has no scoring model yet")
    keys = [c.key for c in model.criteria]
    unknown = sorted(set(command.scores) - set(keys))
    if unknown:
        raise InvalidCommand(f"scores.{unknown[0]}", f"not a criterion of the scoring model: {', '.join(unknown)}")
    missing = [k for k in keys if k not in command.scores]
    if missing:
        raise InvalidCommand(f"scores.{missing[0]}", f"every criterion needs a score; missing: {', '.join(missing)}")
    for key, value in command.scores.items():
        if not 1 <= value <= 5:
            raise InvalidCommand(f"scores.{key}", "a score is from 1 to 5")
    return [
        CandidateScored(
            portfolio_id=portfolio.portfolio_id,
            candidate_id=candidate.candidate_id,
            assessor=command.assessor,
            scores=command.scores,
            comment=command.comment,
            scored_at=command.scored_at,
            submission=candidate.submission,
            score_id=str(uuid.uuid4()),
        )
    ]


def criterion_means(assessments: list[Assessment], criteria: tuple[Criterion, ...]) -> dict[str, Decimal]:
    """Per criterion, the mean of the assessors' scores (criteria nobody scored are left out)."""
    means: dict[str, Decimal] = {}
    for criterion in criteria:
        values = [a.scores[criterion.key] for a in assessments if criterion.key in a.scores]
        if values:
            means[criterion.key] = (Decimal(sum(values)) / len(values)).quantize(SCORE_PLACES, ROUND_HALF_EVEN)
    return means


def weighted_score(means: dict[str, Decimal], criteria: tuple[Criterion, ...]) -> Decimal | None:
    """Σ weight * mean score, on the 1-5 scale; None until every criterion has a score."""
    if not criteria or any(c.key not in means for c in criteria):
        return None
    total_weight = sum((c.weight for c in criteria), Decimal(0))
    value = sum((c.weight * means[c.key] for c in criteria), Decimal(0)) / total_weight
    return value.quantize(SCORE_PLACES, ROUND_HALF_EVEN)
