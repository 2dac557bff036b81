"""Intake's HTTP request and response bodies (snake_case JSON; money as decimal strings; bounded)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pmo_events.contracts.common import BusinessCase, ObjectiveContribution, RoleEstimate, Timeline
from pmo_events.contracts.intake import RiskLevel
from pmo_intake.domain import limits
from pmo_intake.domain.proposal import STATUSES

#: Printable text: no control characters except tab and line breaks (they break databases and forms).
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def text(max_length: int, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length, pattern=PRINTABLE)


Identifier = Annotated[str, text(limits.ID_MAX, 1)]
Amount = Annotated[
    Decimal,
    Field(max_digits=limits.MONEY_DIGITS, decimal_places=limits.MONEY_PLACES, examples=["120000.00"]),
]
Fte = Annotated[Decimal, Field(max_digits=limits.FTE_DIGITS, decimal_places=limits.FTE_PLACES, examples=["0.5"])]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObjectiveContributionIn(_Input):
    objective_id: Identifier
    contribution: int = Field(ge=1, le=5)


class CostIn(_Input):
    fiscal_period: Annotated[str, text(16, 1)] = Field(examples=["FY2027"])
    amount: Amount


class BenefitIn(_Input):
    description: Annotated[str, text(limits.TEXT_MAX, 1)]
    kind: Literal["financial", "non_financial"]
    measure: Annotated[str | None, text(limits.NAME_MAX)] = None
    target_value: Annotated[str | None, text(limits.NAME_MAX)] = None
    unit: Annotated[str | None, text(50)] = None
    realise_by: date | None = None
    value_amount: Amount | None = None


class BusinessCaseIn(_Input):
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["EUR"])
    costs: list[CostIn] = Field(default_factory=list, max_length=limits.MAX_COSTS)
    benefits: list[BenefitIn] = Field(default_factory=list, max_length=limits.MAX_BENEFITS)

    def value(self) -> BusinessCase:
        return BusinessCase.model_validate(self.model_dump())


class TimelineIn(_Input):
    start: date | None = None
    end: date | None = None


class RoleEstimateIn(_Input):
    role: Annotated[str, text(limits.NAME_MAX, 1)]
    fte: Fte
    start: date
    end: date


class _Content(_Input):
    summary: Annotated[str | None, text(limits.SUMMARY_MAX)] = None
    sponsor: Annotated[str | None, text(limits.NAME_MAX)] = None
    objective_contributions: list[ObjectiveContributionIn] = Field(
        default_factory=list, max_length=limits.MAX_OBJECTIVES
    )
    business_case: BusinessCaseIn = BusinessCaseIn()
    timeline: TimelineIn = TimelineIn()
    resource_estimate: list[RoleEstimateIn] = Field(default_factory=list, max_length=limits.MAX_ESTIMATES)
    risk_level: RiskLevel | None = None
    dependencies: list[Identifier] = Field(default_factory=list, max_length=limits.MAX_DEPENDENCIES)

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

    title: Annotated[str, text(limits.TITLE_MAX, 1)]
    portfolio_id: Identifier


class ProposalChanges(_Content):
    """PATCH: the fields given replace the proposal's; `null` clears an optional one."""

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
    reason: Annotated[str, text(limits.TEXT_MAX, 1)]


class ProposalWarning(BaseModel):
    """Something a person should look at; it did not stop the command."""

    code: str
    message: str
    proposal_ids: list[str] = []


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
    possible_duplicates: list[str] = []
    under_review_since: datetime | None = None
    decision: dict[str, Any] | None = None
    withdrawal: dict[str, Any] | None = None
    warnings: list[ProposalWarning] = []

    @classmethod
    def of(cls, state: dict[str, Any], version: int) -> ProposalView:
        fields = {k: v for k, v in state.items() if k != "proposal_id"}
        view = cls(id=state["proposal_id"], version=version, **fields)
        if view.possible_duplicates and view.status not in ("withdrawn", "approved", "rejected"):
            message = "an open proposal of yours to this portfolio has the same title; is this a duplicate?"
            view.warnings = [
                ProposalWarning(code="possible-duplicate", message=message, proposal_ids=view.possible_duplicates)
            ]
        return view


class ProposalPage(BaseModel):
    items: list[ProposalView]
    next_cursor: str | None = None


class HistoryEntry(BaseModel):
    sequence: int
    type: str
    event: str
    occurred_at: datetime
    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    data: dict[str, Any]


class ProposalHistory(BaseModel):
    id: str
    events: list[HistoryEntry]


StatusFilter = Literal[STATUSES]  # type: ignore[valid-type]
