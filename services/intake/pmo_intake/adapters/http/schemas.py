"""Intake's HTTP request and response bodies (snake_case JSON; money as decimal strings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pmo_events.contracts.common import BusinessCase, ObjectiveContribution, RoleEstimate, Timeline
from pmo_events.contracts.intake import RiskLevel


class ProposalDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    portfolio_id: str = Field(min_length=1, max_length=64)
    summary: str | None = Field(default=None, max_length=10_000)
    sponsor: str | None = Field(default=None, max_length=200)
    objective_contributions: list[ObjectiveContribution] = Field(default_factory=list, max_length=50)
    business_case: BusinessCase = BusinessCase()
    timeline: Timeline = Timeline()
    resource_estimate: list[RoleEstimate] = Field(default_factory=list, max_length=100)
    risk_level: RiskLevel | None = None
    dependencies: list[str] = Field(default_factory=list, max_length=50)


class ProposalView(BaseModel):
    """A proposal as clients see it."""

    id: str
    version: int
    status: str
    title: str
    summary: str | None = None
    portfolio_id: str
    sponsor: str | None = None
    requester: str
    objective_contributions: list[dict[str, Any]] = []
    business_case: dict[str, Any] = {}
    timeline: dict[str, Any] = {}
    resource_estimate: list[dict[str, Any]] = []
    risk_level: str | None = None
    dependencies: list[str] = []
    submission: int = 0
    submitted_at: datetime | None = None
    decision: dict[str, Any] | None = None

    @classmethod
    def of(cls, state: dict[str, Any], version: int) -> ProposalView:
        return cls(id=state["proposal_id"], version=version, **{k: v for k, v in state.items() if k != "proposal_id"})
