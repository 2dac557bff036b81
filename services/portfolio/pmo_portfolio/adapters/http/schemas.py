"""The portfolio service's HTTP bodies."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_events.contracts.common import PeriodAmount


class PortfolioCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    owner: str = Field(min_length=1, max_length=200)
    budget: list[PeriodAmount] = Field(min_length=1, max_length=40)
    board_members: list[str] = Field(min_length=1, max_length=50)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_id: str = Field(min_length=1, max_length=64)
    outcome: Literal["approve", "reject", "defer", "request_changes"]
    rationale: str = Field(min_length=1, max_length=10_000)
    approved_budget: list[PeriodAmount] = Field(default_factory=list, max_length=40)
    review_on: date | None = None
