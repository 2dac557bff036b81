"""Intake's HTTP answers: a proposal, a page of proposals, a proposal's history (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_events.contracts.intake import RiskLevel
from pmo_intake.adapters.http.schemas import EXAMPLE_DRAFT
from pmo_intake.domain.proposal import STATUSES
from pmo_servicekit.contract.paging import EXAMPLE_CURSOR, Page
from pmo_servicekit.contract.shared import HISTORY_ENTRY_EXAMPLE, OUTCOMES_OF_VERBS, DecisionOutcome, HistoryEntry
from pmo_servicekit.contract.wire import Fte, Instant, Money, money_text

EXAMPLE_PROPOSAL: dict[str, Any] = {
    **EXAMPLE_DRAFT,
    "id": "9d2b7c4e-1f3a-4e5b-8c6d-7a8b9c0d1e2f",
    "version": 2,
    "status": "submitted",
    "requester": "alice",
    "business_case": {
        **EXAMPLE_DRAFT["business_case"],
        "benefits": [{**EXAMPLE_DRAFT["business_case"]["benefits"][0], "benefit_id": "#1"}],
    },
    "resource_estimate": [{**EXAMPLE_DRAFT["resource_estimate"][0], "fte": "0.5000"}],
    "submission": 1,
    "submitted_at": "2026-11-02T09:30:00Z",
    "warnings": [],
}


class ProposalWarning(BaseModel):
    """Something a person should look at; it did not stop the command."""

    code: str
    message: str
    proposal_ids: list[str] = []


class ObjectiveContributionOut(BaseModel):
    objective_id: str
    contribution: int = Field(ge=1, le=5)


class CostOut(BaseModel):
    fiscal_period: str = Field(examples=["FY2027"])
    amount: Money


class BenefitOut(BaseModel):
    benefit_id: str | None = None
    description: str
    kind: Literal["financial", "non_financial"]
    measure: str | None = None
    target_value: str | None = None
    unit: str | None = None
    realise_by: date | None = None
    value_amount: Money | None = None


class BusinessCaseOut(BaseModel):
    currency: str | None = Field(default=None, examples=["EUR"])
    costs: list[CostOut] = []
    benefits: list[BenefitOut] = []


class TimelineOut(BaseModel):
    start: date | None = None
    end: date | None = None


class RoleEstimateOut(BaseModel):
    role: str
    fte: Fte
    start: date
    end: date


class DecisionOut(BaseModel):
    """The board's latest decision, as the portfolio service recorded it."""

    outcome: DecisionOutcome
    rationale: str
    decided_by: str
    decided_at: Instant
    review_on: date | None = None


class WithdrawalOut(BaseModel):
    reason: str
    withdrawn_by: str
    withdrawn_at: Instant | None = None


class ProposalView(BaseModel):
    """A proposal as clients see it; `version` is its ETag."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_PROPOSAL]})

    id: str
    version: int
    status: Literal[STATUSES]  # type: ignore[valid-type]
    title: str
    summary: str | None = None
    portfolio_id: str
    sponsor: str | None = None
    requester: str
    objective_contributions: list[ObjectiveContributionOut] = []
    business_case: BusinessCaseOut = BusinessCaseOut()
    timeline: TimelineOut = TimelineOut()
    resource_estimate: list[RoleEstimateOut] = []
    risk_level: RiskLevel | None = None
    dependencies: list[str] = []
    #: The programme the proposal asks to join (checked at submission).
    programme_id: str | None = None
    submission: int = 0
    submitted_at: Instant | None = None
    possible_duplicates: list[str] = []
    under_review_since: Instant | None = None
    decision: DecisionOut | None = None
    withdrawal: WithdrawalOut | None = None
    warnings: list[ProposalWarning] = []

    @classmethod
    def of(cls, state: dict[str, Any], version: int) -> ProposalView:
        fields = {k: v for k, v in state.items() if k not in ("proposal_id", "mirrored_event_ids")}
        currency = (fields.get("business_case") or {}).get("currency")
        case = fields.get("business_case") or {}
        fields["business_case"] = {
            **case,
            "costs": [{**c, "amount": money_text(c["amount"], currency)} for c in case.get("costs", [])],
            "benefits": [_money_of(b, currency) for b in case.get("benefits", [])],
        }
        if fields.get("decision"):
            outcome = fields["decision"]["outcome"]
            fields["decision"] = {**fields["decision"], "outcome": OUTCOMES_OF_VERBS.get(outcome, outcome)}
        view = cls(id=state["proposal_id"], version=version, **fields)
        if view.possible_duplicates and view.status not in ("withdrawn", "approved", "rejected"):
            message = "an open proposal of yours to this portfolio has the same title; is this a duplicate?"
            view.warnings = [
                ProposalWarning(code="possible-duplicate", message=message, proposal_ids=view.possible_duplicates)
            ]
        return view


def _money_of(benefit: dict[str, Any], currency: str | None) -> dict[str, Any]:
    amount = benefit.get("value_amount")
    return {**benefit, "value_amount": None if amount is None else money_text(amount, currency)}


class ProposalPage(Page[ProposalView]):
    """Proposals, newest first."""


class ProposalHistory(Page[HistoryEntry]):
    """The proposal's events in order, with who, when and what; `id` is the proposal's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [HISTORY_ENTRY_EXAMPLE],
                    "next_cursor": EXAMPLE_CURSOR,
                    "id": HISTORY_ENTRY_EXAMPLE["subject"],
                }
            ]
        }
    )

    id: str


StatusFilter = Literal[STATUSES]  # type: ignore[valid-type]
