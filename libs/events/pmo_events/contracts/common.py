"""Value objects that several services' contracts share (money per period, timelines, estimates)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from pmo_events.contracts.base import ContractModel, Money


class PeriodAmount(ContractModel):
    fiscal_period: str
    amount: Money


class ObjectiveContribution(ContractModel):
    objective_id: str
    contribution: int = Field(ge=1, le=5)


class Benefit(ContractModel):
    benefit_id: str | None = None
    description: str
    kind: Literal["financial", "non_financial"]
    measure: str | None = None
    target_value: str | None = None
    unit: str | None = None
    realise_by: date | None = None
    value_amount: Money | None = None


class BusinessCase(ContractModel):
    currency: str | None = None
    costs: tuple[PeriodAmount, ...] = ()
    benefits: tuple[Benefit, ...] = ()


class Timeline(ContractModel):
    start: date | None = None
    end: date | None = None


class RoleEstimate(ContractModel):
    role: str
    fte: Money
    start: date
    end: date


class OfferedLesson(ContractModel):
    """A recorded lesson offered to a proposal's or project's team: how relevant, and why in words."""

    lesson_id: str
    #: `pmo_events.figures.relevance` (docs/figures.md), two places.
    relevance: Money
    reason: str
