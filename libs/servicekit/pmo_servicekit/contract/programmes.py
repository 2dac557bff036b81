"""A programme's shapes that portfolio (`GET /programmes/{id}`) and reporting (`GET /reports/programmes/{id}`)
both answer: one model each, so the two answers cannot drift apart (docs/api.md, "One name, one shape")."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from pmo_events.contracts.portfolio.delivery import Rag
from pmo_servicekit.contract.wire import DecimalString, Instant, Money, Ratio


class TrancheView(BaseModel):
    """A tranche of the programme and its end-of-tranche review (`decision` null while it is open)."""

    tranche_id: str
    name: str
    sequence: int
    start: date
    end: date
    project_ids: list[str]
    status: Literal["open", "re_plan", "closed"]
    decision: Literal["continue", "re_plan", "close_programme"] | None = None
    rationale: str | None = None
    decided_by: str | None = None


class RolledUpEvm(BaseModel):
    """Earned value rolled up from the projects' latest reports (docs/figures.md): BAC, PV, EV and AC summed,
    every other figure from the sums; money at the currency's scale, null where a denominator is zero."""

    bac: Money
    pv: Money | None = None
    ev: Money
    ac: Money
    sv: Money | None = None
    cv: Money
    spi: Ratio | None = None
    cpi: Ratio | None = None
    eac: Money | None = None
    vac: Money | None = None


class StatusCount(BaseModel):
    status: str
    count: int


class ManagerRag(BaseModel):
    overall: Rag
    schedule: Rag | None = None
    cost: Rag | None = None
    benefits: Rag | None = None


class ManagerReport(BaseModel):
    report_id: str
    period_end: date
    rag: ManagerRag
    summary: str
    reported_by: str
    reported_at: Instant


class StatusRollup(BaseModel):
    """The programme's status: rolled up from its projects' latest reports (worst RAG, earned value), and the
    programme manager's own latest report."""

    worst_rag: Rag | None = None
    projects_reporting: int
    projects_by_status: list[StatusCount]
    evm: RolledUpEvm | None = None
    manager_report: ManagerReport | None = None


class ProfilePoint(BaseModel):
    """The value planned to be realised, in total, by a date."""

    on: date
    planned_value: DecimalString


class ContributionView(BaseModel):
    """A project benefit feeding the programme benefit: its share, its latest measurement by the day, and what
    that contributes (measurement x share)."""

    project_id: str
    project_benefit_id: str
    share: Ratio = Field(description="the share of the project benefit, more than 0 and at most 1")
    measured_value: DecimalString | None = None
    measured_on: date | None = None
    contributed: DecimalString


class ProgrammeBenefitView(BaseModel):
    """A benefit of the programme's benefits map, reckoned on the day `as_of`: planned to date from its profile
    against realised to date from its projects' contributions (`pmo_events.figures.benefits`)."""

    benefit_id: str
    description: str
    owner: str
    unit: str
    profile: list[ProfilePoint]
    as_of: date
    planned_to_date: DecimalString
    realised_to_date: DecimalString
    contributions: list[ContributionView]
