"""HTTP bodies of programmes: create, plan a tranche, review it, bring a project in, report status."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from pmo_events.contracts.bounds import Amount, BoundedDate
from pmo_portfolio.shared.http import Body, PeriodAmountIn
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.wire import DecimalText

Rag = Literal["green", "amber", "red"]


class ProgrammeCreate(Body):
    model_config = example(
        {
            "portfolio_id": "4b3c0f6e-0b39-4d8e-9d59-2f0a7d1f4c11",
            "name": "Digital customer journey",
            "vision": "Every customer served online end to end by 2029",
            "senior_responsible_owner": "sara",
            "programme_manager": "paul",
            "objective_ids": [],
            "ring_fence": [{"fiscal_period": "FY2027", "amount": "400000.00"}],
        }
    )

    portfolio_id: str = Field(min_length=1, max_length=36)
    name: str = Field(min_length=1, max_length=200)
    vision: str = Field(min_length=1, max_length=5_000)
    senior_responsible_owner: str = Field(min_length=1, max_length=200)
    programme_manager: str = Field(min_length=1, max_length=200)
    objective_ids: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)
    ring_fence: list[PeriodAmountIn] = Field(default_factory=list, max_length=40)


class TranchePlanBody(Body):
    model_config = example(
        {"name": "Tranche 1: foundations", "start": "2027-01-01", "end": "2027-06-30", "project_ids": []}
    )

    name: str = Field(min_length=1, max_length=200)
    start: BoundedDate
    end: BoundedDate
    project_ids: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=200)


class TrancheReviewBody(Body):
    model_config = example({"decision": "continue", "rationale": "Foundations delivered; benefits on track"})

    decision: Literal["continue", "re_plan", "close_programme"]
    rationale: str = Field(min_length=1, max_length=5_000)


class ProgrammeJoin(Body):
    model_config = example({"project_id": "9d1f...", "rationale": "Shares the programme's customer outcomes"})

    project_id: str = Field(min_length=1, max_length=36)
    rationale: str = Field(min_length=1, max_length=5_000)


class ProgrammeRagIn(Body):
    overall: Rag
    schedule: Rag | None = None
    cost: Rag | None = None
    benefits: Rag | None = None


class ProgrammeStatusBody(Body):
    model_config = example(
        {"period_end": "2026-03-31", "rag": {"overall": "amber", "schedule": "amber"}, "summary": "Tranche 1 slipping"}
    )

    period_end: BoundedDate
    rag: ProgrammeRagIn
    summary: str = Field(min_length=1, max_length=5_000)


class ProfilePointIn(Body):
    on: BoundedDate
    planned_value: Amount


class ProgrammeBenefitBody(Body):
    model_config = example(
        {
            "description": "Cost to serve a customer down",
            "owner": "olga",
            "unit": "EUR",
            "profile": [
                {"on": "2027-12-31", "planned_value": "100000.00"},
                {"on": "2028-12-31", "planned_value": "350000.00"},
            ],
        }
    )

    description: str = Field(min_length=1, max_length=2_000)
    owner: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=50)
    profile: list[ProfilePointIn] = Field(min_length=1, max_length=120)


class ContributionBody(Body):
    model_config = example(
        {"project_id": "83d2f542-8551-4f63-b8cd-46c6e6a28f7b", "project_benefit_id": "#1", "share": "0.6"}
    )

    project_id: str = Field(min_length=1, max_length=36)
    project_benefit_id: str = Field(min_length=1, max_length=200)
    share: Annotated[Decimal, DecimalText(5, 4, "the share of the project benefit, more than 0 and at most 1", "0.6")]
