"""HTTP answers of governance: motions with their votes, conflicts and tally (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pmo_portfolio.shared.http import PeriodAmountOut
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import Instant, Money, Ratio


class VoteOut(BaseModel):
    voter: str
    vote: Literal["for", "against", "abstain"]
    rationale: str
    cast_at: Instant


class ConflictOut(BaseModel):
    """A member who may not vote: automatic (`requester`, `sponsor`) or declared (`declared: true`)."""

    subject: str
    reason: str
    declared: bool = False


class TallyOut(BaseModel):
    votes_for: int
    votes_against: int
    abstentions: int
    not_voted: int
    casting_vote: bool


MOTION_EXAMPLE: dict[str, Any] = {
    "id": "5b0e7d3c-9a41-4c52-8f0e-2d6a1b7c9e10",
    "status": "carried",
    "portfolio_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    "kind": "investment",
    "subject_id": "ee908788-f026-4337-a1b2-c3d4e5f6a7b8",
    "outcome": "approved",
    "rationale": "strong case",
    "approved_budget": [{"fiscal_period": "FY2027", "amount": "120000.00"}],
    "amount": "120000.00",
    "proposed_by": "bob",
    "proposed_at": "2026-11-29T10:00:00Z",
    "deadline": "2026-12-13T10:00:00Z",
    "charter_version": 2,
    "members": ["bob", "carla", "dan"],
    "chair": "bob",
    "quorum": 2,
    "rule": "simple_majority",
    "conflicts": [{"subject": "rita", "reason": "requester", "declared": False}],
    "votes": [
        {"voter": "bob", "vote": "for", "rationale": "strong case", "cast_at": "2026-11-29T10:00:00Z"},
        {"voter": "carla", "vote": "for", "rationale": "agreed", "cast_at": "2026-11-29T11:00:00Z"},
    ],
    "tally": {"votes_for": 2, "votes_against": 0, "abstentions": 0, "not_voted": 1, "casting_vote": False},
    "version": 3,
}


class MotionView(BaseModel):
    """A decision put to the board's vote, under the charter version in force when it was proposed."""

    model_config = ConfigDict(json_schema_extra={"examples": [MOTION_EXAMPLE]})

    id: str
    status: Literal["open", "carried", "defeated", "lapsed"]
    portfolio_id: str
    kind: str
    subject_id: str
    reference: str | None = None
    outcome: str
    rationale: str
    approved_budget: list[PeriodAmountOut] = []
    review_on: date | None = None
    amount: Money | None = None
    override_reason: str | None = None
    project_manager: str | None = None
    proposed_by: str
    proposed_at: Instant
    deadline: Instant
    charter_version: int
    members: list[str]
    chair: str
    quorum: int
    rule: Literal["simple_majority", "qualified_majority", "unanimity"]
    qualified_share: Ratio | None = None
    conflicts: list[ConflictOut] = []
    votes: list[VoteOut] = []
    tally: TallyOut
    version: int


class MotionPage(Page[MotionView]):
    """The board's motions, by id."""


class LapseSweep(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"lapsed": 1}]})

    lapsed: int
