"""HTTP bodies of candidates: the scoring model, assessors' scores, the board's decisions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, StrictInt

from pmo_portfolio.shared.http import Body, PeriodAmountIn


class CriterionBody(Body):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    weight: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=6)


class ScoringModelReplace(Body):
    """Weighted criteria (`weight` on each), or a Saaty pairwise matrix in the criteria's order."""

    criteria: list[CriterionBody] = Field(min_length=1, max_length=20)
    pairwise_matrix: list[list[Decimal | str]] | None = Field(default=None, max_length=10)


class ScoresSubmit(Body):
    scores: dict[str, StrictInt] = Field(min_length=1, max_length=20)
    comment: str | None = Field(default=None, max_length=5_000)


class DecisionRequest(Body):
    candidate_id: str = Field(min_length=1, max_length=64)
    outcome: Literal["approve", "reject", "defer", "request_changes"]
    rationale: str = Field(min_length=1, max_length=10_000)
    approved_budget: list[PeriodAmountIn] = Field(default_factory=list, max_length=40)
    review_on: date | None = None
