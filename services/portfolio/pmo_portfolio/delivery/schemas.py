"""HTTP bodies of project delivery: gates, status reports, reviews, changes, closure, lessons, benefits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from pmo_portfolio.shared.http import Body, PeriodAmountIn

Rating = Literal["green", "amber", "red"]
Text = Field(min_length=1, max_length=10_000)


class GateDecision(Body):
    gate: Literal["plan", "execute", "close"] = Field(description="the stage the gate leads into")
    decision: Literal["proceed", "hold", "stop"]
    rationale: str = Text


class RagBody(Body):
    schedule: Rating
    cost: Rating
    scope: Rating


class StatusReportBody(Body):
    period_end: date
    percent_complete: Decimal = Field(ge=0, le=100, max_digits=7, decimal_places=4)
    actual_cost: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    rag: RagBody | None = None
    justification: str | None = Field(default=None, max_length=10_000)
    summary: str = Text
    risks: list[str] = Field(default_factory=list, max_length=100)
    issues: list[str] = Field(default_factory=list, max_length=100)
    supersedes: str | None = Field(default=None, max_length=64, description="the report this one corrects")
    correction_reason: str | None = Field(default=None, max_length=10_000, description="why (with supersedes)")


class WithdrawalBody(Body):
    reason: str = Text


class ReviewBody(Body):
    still_aligned: bool
    recommendation: Literal["continue", "rescope", "stop"]
    notes: str = Text


class ChangeRequestBody(Body):
    kind: Literal["budget", "scope", "schedule"]
    budget_delta: list[PeriodAmountIn] = Field(default_factory=list, max_length=40)
    new_end: date | None = None
    effective_on: date | None = Field(default=None, description="from when a budget change counts in BAC")
    rationale: str = Text


class ChangeDecisionBody(Body):
    outcome: Literal["approve", "reject"]
    rationale: str = Text


class RationaleBody(Body):
    rationale: str = Text


class LessonBody(Body):
    title: str = Field(min_length=1, max_length=200)
    description: str = Text
    category: str = Field(min_length=1, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=50)
    decision_id: str | None = Field(default=None, max_length=64)


class CloseBody(Body):
    final_cost: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    lessons: list[LessonBody] = Field(default_factory=list, max_length=100)
    notes: str = Text


class RealisationBody(Body):
    measured_value: str = Field(min_length=1, max_length=200)
    measured_on: date
    note: str | None = Field(default=None, max_length=5_000)


class RagTolerancesBody(Body):
    green_at: Decimal = Field(gt=0, max_digits=6, decimal_places=4)
    amber_at: Decimal = Field(gt=0, max_digits=6, decimal_places=4)


class ReviewCadenceBody(Body):
    every_days: int = Field(ge=1, le=3660)
