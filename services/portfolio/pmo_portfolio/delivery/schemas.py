"""HTTP bodies of project delivery: gates, status reports, reviews, changes, closure, lessons, benefits."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from pmo_events.contracts.bounds import Amount, BoundedDate
from pmo_portfolio.shared.http import Body, PeriodAmountIn
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.wire import DecimalText

Rating = Literal["green", "amber", "red"]
Text = Field(min_length=1, max_length=10_000)
Cost = Annotated[Amount, Field(ge=0)]
Percent = Annotated[
    Decimal, DecimalText(7, 4, "percent complete as a decimal string, 0 to 100", "45"), Field(ge=0, le=100)
]
Threshold = Annotated[Decimal, DecimalText(6, 4, "an SPI/CPI threshold as a decimal string", "0.95"), Field(gt=0)]


class GateDecision(Body):
    model_config = example({"gate": "execute", "decision": "proceed", "rationale": "plan signed off"})

    gate: Literal["plan", "execute", "close"] = Field(description="the stage the gate leads into")
    decision: Literal["proceed", "hold", "stop"]
    rationale: str = Text


class RagBody(Body):
    schedule: Rating
    cost: Rating
    scope: Rating


class StatusReportBody(Body):
    model_config = example(
        {"period_end": "2026-03-31", "percent_complete": "25", "actual_cost": "30000.00", "summary": "design done"}
    )

    period_end: BoundedDate
    percent_complete: Percent
    actual_cost: Cost
    rag: RagBody | None = None
    justification: str | None = Field(default=None, max_length=10_000)
    summary: str = Text
    risks: list[Annotated[str, Field(max_length=2_000)]] = Field(default_factory=list, max_length=100)
    issues: list[Annotated[str, Field(max_length=2_000)]] = Field(default_factory=list, max_length=100)
    raid_item_ids: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=100, description="the RAID log's items this report refers to"
    )
    forecast_end: BoundedDate | None = Field(default=None, description="the end date the project now forecasts")
    supersedes: str | None = Field(default=None, max_length=64, description="the report this one corrects")
    correction_reason: str | None = Field(default=None, max_length=10_000, description="why (with supersedes)")


class WithdrawalBody(Body):
    model_config = example({"reason": "entered for the wrong project"})

    reason: str = Text


class ReviewBody(Body):
    model_config = example({"still_aligned": True, "recommendation": "continue", "notes": "on strategy"})

    still_aligned: bool
    recommendation: Literal["continue", "rescope", "stop"]
    notes: str = Text


class ChangeRequestBody(Body):
    model_config = example(
        {
            "kind": "budget",
            "budget_delta": [{"fiscal_period": "FY2027", "amount": "20000.00"}],
            "rationale": "scope grew",
        }
    )

    kind: Literal["budget", "scope", "schedule"]
    budget_delta: list[PeriodAmountIn] = Field(default_factory=list, max_length=40)
    new_end: BoundedDate | None = None
    effective_on: BoundedDate | None = Field(default=None, description="from when a budget change counts in BAC")
    rationale: str = Text


class ChangeDecisionBody(Body):
    model_config = example({"outcome": "approved", "rationale": "within the envelope"})

    outcome: Literal["approved", "rejected"]
    rationale: str = Text


class ManagerChange(Body):
    """A project changes hands: the new project manager (a token subject) and why."""

    model_config = example({"project_manager": "piet", "reason": "pam moves to the data platform programme"})

    project_manager: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    reason: str = Text


class RationaleBody(Body):
    model_config = example({"rationale": "waiting for the vendor"})

    rationale: str = Text


class LessonBody(Body):
    model_config = example(
        {
            "title": "Pilot early",
            "description": "A pilot found the data issues",
            "category": "delivery",
            "tags": ["data"],
        }
    )

    title: str = Field(min_length=1, max_length=200)
    description: str = Text
    category: str = Field(min_length=1, max_length=100)
    tags: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    decision_id: str | None = Field(default=None, max_length=36)


class CloseBody(Body):
    model_config = example({"final_cost": "118000.00", "notes": "delivered", "lessons": []})

    final_cost: Cost
    lessons: list[LessonBody] = Field(default_factory=list, max_length=100)
    notes: str = Text


class RealisationBody(Body):
    model_config = example(
        {"measured_value": "45000", "unit": "EUR", "measured_on": "2026-03-31", "note": "first quarter"}
    )

    measured_value: str = Field(
        min_length=1,
        max_length=200,
        description="a decimal number for a financial or quantitative benefit (in its unit); text otherwise",
    )
    unit: str | None = Field(
        default=None, min_length=1, max_length=40, description="if given, the benefit's unit (checked)"
    )
    measured_on: BoundedDate = Field(description="the day of the measurement, not after today")
    note: str | None = Field(default=None, max_length=5_000)


class RagTolerancesBody(Body):
    model_config = example({"green_at": "0.95", "amber_at": "0.90"})

    green_at: Threshold
    amber_at: Threshold


class ReviewCadenceBody(Body):
    model_config = example({"every_days": 90, "action_due_days": 14})

    every_days: int = Field(ge=1, le=3660)
    #: Days the board has to act on a negative review (absent: unchanged; 14 at first).
    action_due_days: int | None = Field(default=None, ge=1, le=365)


class ResolutionBody(Body):
    """How the board (or its portfolio manager, under delegated authority) resolves an open action."""

    model_config = example({"resolution": "pause", "rationale": "no longer aligned with the 2027 strategy"})

    resolution: Literal["continue", "rescope", "pause", "cancel"]
    rationale: str = Text


class ReviewCycleIntervalBody(Body):
    model_config = example({"every_days": 91})

    #: Days between two review cycles of the portfolio (91, quarterly, at first).
    every_days: int = Field(ge=1, le=3660)
