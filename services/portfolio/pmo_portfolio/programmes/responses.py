"""HTTP answers of programmes (docs/api.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from pmo_portfolio.shared.http import PeriodAmountOut
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import Money, Ratio

Rag = Literal["green", "amber", "red"]


class RingFenceLine(BaseModel):
    """One fiscal period of the ring-fence: what is held for the programme, drawn by its projects, left."""

    fiscal_period: str = Field(examples=["FY2027"])
    ring_fence: Money
    drawn: Money
    remaining: Money


class ProgrammeProject(BaseModel):
    project_id: str
    budget: list[PeriodAmountOut]


class TrancheView(BaseModel):
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


class ProgrammeSummary(BaseModel):
    """A programme in a list."""

    id: str
    portfolio_id: str
    name: str
    vision: str
    senior_responsible_owner: str
    programme_manager: str
    objective_ids: list[str]
    status: Literal["active", "closed"]
    currency: str
    ring_fence: list[RingFenceLine]
    projects: list[ProgrammeProject]
    tranches: list[TrancheView]


class RolledUpEvm(BaseModel):
    """The projects' latest reports summed (BAC, PV, EV, AC) and every other figure from the sums."""

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
    reported_at: datetime


class StatusRollup(BaseModel):
    """The programme's status: rolled up from its projects, and the programme manager's own report."""

    worst_rag: Rag | None = None
    projects_reporting: int
    projects_by_status: list[StatusCount]
    evm: RolledUpEvm | None = None
    manager_report: ManagerReport | None = None


class ProgrammeView(ProgrammeSummary):
    """A programme with its status rolled up; `version` is its ETag."""

    status_rollup: StatusRollup
    version: int


class ProgrammePage(Page[ProgrammeSummary]):
    """Programmes by id."""
