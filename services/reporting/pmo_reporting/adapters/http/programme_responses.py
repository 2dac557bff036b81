"""Reporting's HTTP answers about programmes: the dashboard of one, and the list of a portfolio's."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_reporting.adapters.http.responses import BenefitEntry, DependencyEdge, Rag, RaidLevel, Stamped
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.programmes import ProgrammeBenefitView, StatusRollup, TrancheView
from pmo_servicekit.contract.wire import DecimalString, Instant, Money, Ratio

_PF = "fc465260-42a7-40c8-a03e-821a69edefb2"
_PROGRAMME = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_BILLING = "83d2f542-8551-4f63-b8cd-46c6e6a28f7b"
_PORTAL = "c56a4180-65aa-42ec-a945-5fd21dec0538"
_RISK = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
_AS_OF = "2027-03-31T23:59:59Z"
_EVM: dict[str, Any] = {"bac": "380000.00", "pv": "95000.00", "ev": "85500.00", "ac": "90000.00", "sv": "-9500.00",
        "cv": "-4500.00", "eac": "400000.00", "vac": "-20000.00", "spi": "0.9000", "cpi": "0.9500"}  # fmt: skip
_PROJECT_ROW: dict[str, Any] = {
    "project_id": _BILLING, "title": "Billing migration", "tranche_id": "t-1", "stage": "execute",
    "status": "active", "end": "2027-09-30", "at_risk": False, "period_end": "2027-03-31", "rag": "amber",
    "rag_schedule": "amber", "rag_cost": "green", "percent_complete": "22.5", **_EVM,
}  # fmt: skip


class RingFencePeriod(BaseModel):
    """One fiscal period: held for the programme, drawn by its projects when they joined, left, and the
    projects' current budgets (after approved changes and releases)."""

    fiscal_period: str = Field(examples=["FY2027"])
    start: date | None = None
    end: date | None = None
    ring_fence: Money
    drawn: Money
    remaining: Money
    current_budget: Money


class TrancheReview(TrancheView):
    """A tranche and its end-of-tranche review, with when it was decided (null while it is open)."""

    decided_at: Instant | None = None


class BenefitTotals(BaseModel):
    """The financial benefits still planned and what has been realised of them, and how many benefits."""

    planned: Money
    realised: Money
    count: int
    realised_count: int


class OpenRaid(BaseModel):
    risk: int
    issue: int
    assumption: int


class EscalatedItem(BaseModel):
    """An open RAID item escalated from (or within) the programme, where it sits now and where it was raised."""

    id: str
    kind: Literal["risk", "assumption", "issue"]
    title: str
    owner: str
    score: int | None = None
    probability: int | None = None
    impact: int | None = None
    level: RaidLevel
    level_id: str
    raised_level: RaidLevel
    raised_level_id: str
    escalated_at: Instant


class ProgrammeProjectRow(BaseModel):
    """A member project: stage and status, its tranche, its latest RAG and the earned value that report
    recorded; `at_risk` when it depends on something at risk."""

    project_id: str
    title: str | None = None
    tranche_id: str | None = None
    stage: str
    status: str
    end: date | None = None
    at_risk: bool
    period_end: date | None = None
    rag: Rag | None = None
    rag_schedule: Rag | None = None
    rag_cost: Rag | None = None
    percent_complete: DecimalString | None = Field(default=None, description="percent complete as reported, 0 to 100")
    bac: Money | None = None
    pv: Money | None = None
    ev: Money | None = None
    ac: Money | None = None
    sv: Money | None = None
    cv: Money | None = None
    eac: Money | None = None
    vac: Money | None = None
    spi: Ratio | None = None
    cpi: Ratio | None = None


class ProgrammeDashboard(Stamped, Page[ProgrammeProjectRow]):
    """One programme: budget vs ring-fence per fiscal period, tranches and their reviews, the rolled-up status,
    benefits planned vs realised, open RAID items escalated, dependencies; `items` are its projects."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "as_of": _AS_OF, "known": True, "id": _PROGRAMME, "portfolio_id": _PF, "name": "Customer 360",
        "vision": "One view of every customer", "senior_responsible_owner": "sara", "programme_manager": "pam",
        "objective_ids": [], "status": "active", "created_at": "2027-01-04T09:00:00Z", "currency": "EUR",
        "ring_fence": [{"fiscal_period": "FY2027", "start": "2027-01-01", "end": "2027-12-31",
                        "ring_fence": "500000.00", "drawn": "380000.00", "remaining": "120000.00",
                        "current_budget": "400000.00"}],
        "tranches": [{"tranche_id": "t-1", "name": "Foundations", "sequence": 1, "start": "2027-01-01",
                      "end": "2027-06-30", "project_ids": [_BILLING], "status": "closed", "decision": "continue",
                      "rationale": "Foundations delivered", "decided_by": "sara",
                      "decided_at": "2027-07-02T10:00:00Z"}],
        "status_rollup": {"worst_rag": "amber", "projects_reporting": 1,
                          "projects_by_status": [{"status": "active", "count": 1}], "evm": _EVM,
                          "manager_report": {"report_id": "r-1", "period_end": "2027-03-31",
                                             "rag": {"overall": "amber"}, "summary": "Billing slipping",
                                             "reported_by": "pam", "reported_at": "2027-04-02T09:00:00Z"}},
        "benefits_map": [{"benefit_id": "pb-1", "description": "Cost to serve a customer down", "owner": "olga",
                          "unit": "EUR", "profile": [{"on": "2027-12-31", "planned_value": "100000.00"}],
                          "as_of": "2027-12-31", "planned_to_date": "100000.00", "realised_to_date": "24000.00",
                          "contributions": [{"project_id": _BILLING, "project_benefit_id": "b1", "share": "0.6000",
                                             "measured_value": "40000.00", "measured_on": "2027-03-31",
                                             "contributed": "24000.00"}]}],
        "benefits": [{"project_id": _BILLING, "portfolio_id": _PF, "benefit_id": "b1",
                      "description": "Lower billing cost", "kind": "financial", "planned_amount": "250000.00",
                      "realised_value": "40000", "realised_on": "2027-03-31", "realisations": 1,
                      "forgone": False}],
        "benefit_totals": {"planned": "250000.00", "realised": "40000.00", "count": 1, "realised_count": 1},
        "open_raid": {"risk": 2, "issue": 1, "assumption": 0},
        "escalated_raid": [{"id": _RISK, "kind": "risk", "title": "Billing vendor misses the June release",
                            "owner": "pam", "score": 20, "probability": 4, "impact": 5, "level": "portfolio",
                            "level_id": _PF, "raised_level": "project", "raised_level_id": _BILLING,
                            "escalated_at": "2027-02-14T09:00:00Z"}],
        "dependencies": [{"id": "d2a4c6e8-1b3d-4f5a-8c7e-9a0b1c2d3e4f", "portfolio_id": _PF,
                          "dependent_project_id": _PORTAL, "provider_project_id": _BILLING,
                          "needed": "the billing API in production", "need_date": "2027-06-30", "at_risk": True,
                          "cause": "forecast_after_need_date", "provider_forecast_end": "2027-09-30"}],
        "items": [_PROJECT_ROW], "next_cursor": "c1.WyIwZjFlMmQzYyJd",
    }]})  # fmt: skip

    known: bool = Field(default=True, description="false: the programme did not exist at `as_of`")
    id: str
    portfolio_id: str | None = None
    name: str | None = None
    vision: str | None = None
    senior_responsible_owner: str | None = None
    programme_manager: str | None = None
    objective_ids: list[str] = []
    status: Literal["active", "closed"] | None = None
    created_at: Instant | None = None
    currency: str | None = None
    ring_fence: list[RingFencePeriod] = Field(default=[], description="in period order")
    tranches: list[TrancheReview] = Field(default=[], description="in sequence")
    status_rollup: StatusRollup | None = None
    benefits_map: list[ProgrammeBenefitView] = Field(
        default=[], description="the programme's own benefits, fed by its projects'"
    )
    benefits: list[BenefitEntry] = Field(default=[], description="the member projects' planned benefits")
    benefit_totals: BenefitTotals | None = None
    open_raid: OpenRaid | None = None
    escalated_raid: list[EscalatedItem] = Field(default=[], description="highest score first")
    dependencies: list[DependencyEdge] = Field(
        default=[], description="with a member project at either end, or on one of the programme's milestones"
    )


class ProgrammeLine(BaseModel):
    """A programme of the portfolio: its rolled-up status, earned value and ring-fence in one line."""

    id: str
    portfolio_id: str
    name: str
    status: Literal["active", "closed"]
    senior_responsible_owner: str
    programme_manager: str
    currency: str | None = None
    projects: int
    projects_at_risk: int
    worst_rag: Rag | None = None
    manager_rag: Rag | None = None
    bac: Money | None = None
    ev: Money | None = None
    ac: Money | None = None
    spi: Ratio | None = None
    cpi: Ratio | None = None
    ring_fence: Money
    drawn: Money
    escalated_raid: int


class ProgrammeList(Stamped, Page[ProgrammeLine]):
    """A portfolio's programmes by name."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "as_of": _AS_OF, "portfolio_id": _PF, "next_cursor": "c1.WyIwZjFlMmQzYyJd",
        "items": [{"id": _PROGRAMME, "portfolio_id": _PF, "name": "Customer 360", "status": "active",
                   "senior_responsible_owner": "sara", "programme_manager": "pam", "currency": "EUR", "projects": 3,
                   "projects_at_risk": 1, "worst_rag": "amber", "manager_rag": "amber", "bac": "380000.00",
                   "ev": "85500.00", "ac": "90000.00", "spi": "0.9000", "cpi": "0.9500",
                   "ring_fence": "500000.00", "drawn": "380000.00", "escalated_raid": 1}],
    }]})  # fmt: skip

    portfolio_id: str
