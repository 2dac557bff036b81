"""The portfolio service's HTTP bodies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from pmo_events.contracts.common import PeriodAmount

Key = Field(min_length=1, max_length=64)
Subject = Field(min_length=1, max_length=200)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PortfolioCreate(_Body):
    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    owner: str = Field(min_length=1, max_length=200)
    budget: list[PeriodAmount] = Field(min_length=1, max_length=40)
    board_members: list[str] = Field(min_length=1, max_length=50)


class BudgetReplace(_Body):
    budget: list[PeriodAmount] = Field(min_length=1, max_length=40)


class BoardMemberAdd(_Body):
    subject: str = Subject


class CriterionBody(_Body):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    weight: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=6)


class ScoringModelReplace(_Body):
    """Weighted criteria (`weight` on each), or a Saaty pairwise matrix in the criteria's order."""

    criteria: list[CriterionBody] = Field(min_length=1, max_length=20)
    pairwise_matrix: list[list[Decimal | str]] | None = Field(default=None, max_length=10)


class ScoresSubmit(_Body):
    scores: dict[str, StrictInt] = Field(min_length=1, max_length=20)
    comment: str | None = Field(default=None, max_length=5_000)


class DecisionRequest(_Body):
    candidate_id: str = Field(min_length=1, max_length=64)
    outcome: Literal["approve", "reject", "defer", "request_changes"]
    rationale: str = Field(min_length=1, max_length=10_000)
    approved_budget: list[PeriodAmount] = Field(default_factory=list, max_length=40)
    review_on: date | None = None


class ObjectivePeriod(_Body):
    start: date
    end: date


class ObjectiveCreate(_Body):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5_000)
    weight: Decimal = Field(gt=0, max_digits=12, decimal_places=6)
    period: ObjectivePeriod


class ObjectivePatch(_Body):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5_000)
    weight: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=6)
    period: ObjectivePeriod | None = None


class ObjectiveRetire(_Body):
    reason: str | None = Field(default=None, max_length=5_000)


class CapacityBody(_Body):
    role: str = Field(min_length=1, max_length=100)
    fiscal_period: str = Field(min_length=1, max_length=32)
    fte: Decimal = Field(ge=0, max_digits=10, decimal_places=3)


class Dependency(_Body):
    candidate_id: str = Key
    needs: str = Key


class Exclusion(_Body):
    candidate_ids: list[str] = Field(min_length=2, max_length=2)


class ScenarioRun(_Body):
    value: Literal["weighted_score", "benefits"] = "weighted_score"
    budget: list[PeriodAmount] | None = Field(default=None, max_length=40)
    capacity: list[CapacityBody] = Field(default_factory=list, max_length=2_000)
    force_in: list[str] = Field(default_factory=list, max_length=1_000)
    force_out: list[str] = Field(default_factory=list, max_length=1_000)
    dependencies: list[Dependency] = Field(default_factory=list, max_length=2_000)
    exclusions: list[Exclusion] = Field(default_factory=list, max_length=2_000)
    keep_approved: bool = True
    frontier: bool = False
    save: bool = False
    name: str | None = Field(default=None, min_length=1, max_length=200)
