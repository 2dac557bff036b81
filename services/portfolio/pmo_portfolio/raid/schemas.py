"""HTTP bodies of the RAID log."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pmo_events.contracts.bounds import BoundedDate
from pmo_portfolio.shared.http import Body
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.wire import MoneyInput

Scale = Field(ge=1, le=5)


class RaidItemCreate(Body):
    model_config = example(
        {
            "kind": "risk",
            "level": "project",
            "level_id": "p-api",
            "title": "Vendor API late",
            "owner": "pam",
            "cause": "single vendor",
            "risk_event": "the vendor misses the June release",
            "effect": "the web channel slips a quarter",
            "probability": 4,
            "impact": 4,
            "proximity": "2027-06-30",
        },
        {"kind": "issue", "level": "programme", "level_id": "pg-1", "title": "Test lab down", "owner": "paul",
         "priority": "high", "due_on": "2027-02-15"},
        {"kind": "assumption", "level": "portfolio", "level_id": "pf-1", "title": "Budget FY2028 confirmed",
         "owner": "olga"},
    )  # fmt: skip

    kind: Literal["risk", "assumption", "issue"]
    level: Literal["project", "programme", "portfolio"]
    level_id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5_000)
    owner: str = Field(min_length=1, max_length=200)
    cause: str | None = Field(default=None, max_length=2_000)
    risk_event: str | None = Field(default=None, max_length=2_000)
    effect: str | None = Field(default=None, max_length=2_000)
    probability: int | None = Field(default=None, ge=1, le=5, description="a risk's, 1..5")
    impact: int | None = Field(default=None, ge=1, le=5, description="a risk's, 1..5")
    proximity: BoundedDate | None = None
    cost_impact: MoneyInput | None = None
    priority: Literal["low", "medium", "high", "critical"] | None = None
    due_on: BoundedDate | None = None


class RiskAssessment(Body):
    model_config = example({"probability": 5, "impact": 4, "rationale": "the vendor confirmed a slip"})

    probability: int = Scale
    impact: int = Scale
    rationale: str = Field(min_length=1, max_length=5_000)
    proximity: BoundedDate | None = None
    cost_impact: MoneyInput | None = None


class ActionIn(Body):
    description: str = Field(min_length=1, max_length=2_000)
    owner: str = Field(min_length=1, max_length=200)
    due_on: BoundedDate


class RiskResponseBody(Body):
    model_config = example(
        {"response": "reduce", "actions": [{"description": "second vendor", "owner": "pam", "due_on": "2027-03-31"}]}
    )

    response: Literal["avoid", "reduce", "transfer", "accept", "exploit"]
    actions: list[ActionIn] = Field(default_factory=list, max_length=50)


class Rationale(Body):
    model_config = example({"rationale": "within the project's tolerance again"})

    rationale: str = Field(min_length=1, max_length=5_000)


class AssumptionCheck(Body):
    model_config = example({"valid": True, "note": "finance confirmed the FY2028 budget"})

    valid: bool
    note: str = Field(min_length=1, max_length=5_000)


class Closing(Body):
    model_config = example({"resolution": "the vendor delivered on time"})

    resolution: str = Field(min_length=1, max_length=5_000)


class ToleranceIn(Body):
    score: int = Field(ge=1, le=25)
    cost: MoneyInput | None = None


class TolerancesBody(Body):
    model_config = example({"project": {"score": 12, "cost": "50000"}, "programme": {"score": 16}})

    project: ToleranceIn
    programme: ToleranceIn
