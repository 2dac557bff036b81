"""Intake's HTTP request bodies (snake_case JSON; money and FTE as decimal strings; bounded)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pmo_events.contracts.bounds import Amount, BoundedDate, FiscalPeriod
from pmo_events.contracts.common import BusinessCase, ObjectiveContribution, RoleEstimate, Timeline
from pmo_events.contracts.intake import RiskLevel
from pmo_intake.domain import limits
from pmo_servicekit.contract.wire import DecimalText

#: Printable text: no control characters except tab and line breaks (they break databases and forms).
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def text(max_length: int, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length, pattern=PRINTABLE)


Identifier = Annotated[str, text(limits.ID_MAX, 1)]
FteIn = Annotated[
    Decimal, DecimalText(limits.FTE_DIGITS, limits.FTE_PLACES, "full-time equivalents as a decimal string", "0.5")
]
#: A complete proposal, as a form would send it (also the example of the documents).
EXAMPLE_DRAFT: dict[str, Any] = {
    "title": "New CRM",
    "portfolio_id": "3f1c2d9e-8a4b-4c1e-9f0a-2b7d6e5c4a31",
    "summary": "Replace the CRM",
    "sponsor": "carol",
    "objective_contributions": [{"objective_id": "5b0f3c1a-7d2e-4f6a-8b9c-0d1e2f3a4b5c", "contribution": 4}],
    "business_case": {
        "currency": "EUR",
        "costs": [{"fiscal_period": "FY2027", "amount": "120000.00"}],
        "benefits": [{"description": "faster sales", "kind": "financial", "value_amount": "50000.00"}],
    },
    "timeline": {"start": "2027-01-01", "end": "2027-12-31"},
    "resource_estimate": [{"role": "developer", "fte": "0.5", "start": "2027-01-01", "end": "2027-06-30"}],
    "risk_level": "medium",
}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObjectiveContributionIn(_Input):
    objective_id: Identifier
    contribution: int = Field(ge=1, le=5)


class CostIn(_Input):
    fiscal_period: FiscalPeriod
    amount: Amount


class BenefitIn(_Input):
    description: Annotated[str, text(limits.TEXT_MAX, 1)]
    kind: Literal["financial", "non_financial"]
    measure: Annotated[str | None, text(limits.NAME_MAX)] = None
    target_value: Annotated[str | None, text(limits.NAME_MAX)] = None
    unit: Annotated[str | None, text(50)] = None
    realise_by: BoundedDate | None = None
    value_amount: Amount | None = None


class BusinessCaseIn(_Input):
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["EUR"])
    costs: list[CostIn] = Field(default_factory=list, max_length=limits.MAX_COSTS)
    benefits: list[BenefitIn] = Field(default_factory=list, max_length=limits.MAX_BENEFITS)

    def value(self) -> BusinessCase:
        return BusinessCase.model_validate(self.model_dump())


class TimelineIn(_Input):
    start: BoundedDate | None = None
    end: BoundedDate | None = None


class RoleEstimateIn(_Input):
    role: Annotated[str, text(limits.ROLE_MAX, 1)]
    fte: FteIn
    start: BoundedDate
    end: BoundedDate


class _Content(_Input):
    summary: Annotated[str | None, text(limits.SUMMARY_MAX)] = None
    sponsor: Annotated[str | None, text(limits.NAME_MAX)] = None
    objective_contributions: list[ObjectiveContributionIn] = Field(
        default_factory=list, max_length=limits.MAX_OBJECTIVES
    )
    # Made per request, not a default instance pydantic deep-copies on every validation (issue 17: 26 -> 11 us per
    # draft); the documented default is the same.
    business_case: BusinessCaseIn = Field(
        default_factory=BusinessCaseIn, json_schema_extra={"default": {"costs": [], "benefits": []}}
    )
    timeline: TimelineIn = Field(default_factory=TimelineIn, json_schema_extra={"default": {}})
    resource_estimate: list[RoleEstimateIn] = Field(default_factory=list, max_length=limits.MAX_ESTIMATES)
    risk_level: RiskLevel | None = None
    dependencies: list[Identifier] = Field(default_factory=list, max_length=limits.MAX_DEPENDENCIES)
    #: The programme of the same portfolio the proposal asks to join (checked at submission).
    programme_id: Identifier | None = None

    def values(self, fields: set[str]) -> dict[str, Any]:
        """The given fields as the domain's value objects."""
        converters = {
            "objective_contributions": lambda v: tuple(ObjectiveContribution.model_validate(c.model_dump()) for c in v),
            "business_case": lambda v: v.value(),
            "timeline": lambda v: Timeline.model_validate(v.model_dump()),
            "resource_estimate": lambda v: tuple(RoleEstimate.model_validate(e.model_dump()) for e in v),
            "dependencies": tuple,
        }
        return {name: converters.get(name, lambda v: v)(getattr(self, name)) for name in fields}


class ProposalDraft(_Content):
    """A new proposal: only `title` and `portfolio_id` are needed to draft."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_DRAFT]})

    title: Annotated[str, text(limits.TITLE_MAX, 1)]
    portfolio_id: Identifier


class ProposalChanges(_Content):
    """PATCH: the fields given replace the proposal's; `null` clears an optional one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"summary": "Replace the CRM and the quote tool", "sponsor": None}]},
    )

    title: Annotated[str | None, text(limits.TITLE_MAX, 1)] = None
    portfolio_id: Identifier | None = None
    business_case: BusinessCaseIn | None = None  # type: ignore[assignment]
    timeline: TimelineIn | None = None  # type: ignore[assignment]

    @field_validator("title", "portfolio_id")
    @classmethod
    def _required_when_given(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("cannot be cleared")
        return value

    def changes(self) -> dict[str, Any]:
        given = set(self.model_fields_set)
        changes = self.values(given - {"business_case", "timeline"})
        if "business_case" in given:
            changes["business_case"] = self.business_case.value() if self.business_case else BusinessCase()
        if "timeline" in given:
            changes["timeline"] = Timeline.model_validate(self.timeline.model_dump()) if self.timeline else Timeline()
        return changes


class Withdrawal(_Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "merged into the CRM programme"}]}
    )

    reason: Annotated[str, text(limits.TEXT_MAX, 1)]
