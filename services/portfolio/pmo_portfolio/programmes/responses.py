"""HTTP answers of programmes (docs/api.md); the shapes reporting's programme dashboard answers too are in
`pmo_servicekit.contract.programmes`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_portfolio.shared.http import PeriodAmountOut
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.programmes import ProgrammeBenefitView, StatusRollup, TrancheView
from pmo_servicekit.contract.wire import Money

PROGRAMME_EXAMPLE: dict[str, Any] = {
    "id": "5d0c3a8e-1f7b-4c1e-9a51-0f7d2e9b6c11",
    "portfolio_id": "fc465260-42a7-40c8-a03e-821a69edefb2",
    "name": "Customer 360",
    "vision": "One view of every customer",
    "senior_responsible_owner": "sara",
    "programme_manager": "pam",
    "objective_ids": ["f2388156-44de-4bc9-a589-6521618a0f7b"],
    "status": "active",
    "currency": "EUR",
    "ring_fence": [
        {"fiscal_period": "FY2027", "ring_fence": "500000.00", "drawn": "380000.00", "remaining": "120000.00"}
    ],
    "projects": [
        {
            "project_id": "83d2f542-8551-4f63-b8cd-46c6e6a28f7b",
            "budget": [{"fiscal_period": "FY2027", "amount": "380000.00"}],
        }
    ],
    "tranches": [
        {
            "tranche_id": "t-1",
            "name": "Foundations",
            "sequence": 1,
            "start": "2027-01-01",
            "end": "2027-06-30",
            "project_ids": ["83d2f542-8551-4f63-b8cd-46c6e6a28f7b"],
            "status": "open",
            "decision": None,
            "rationale": None,
            "decided_by": None,
        }
    ],
}


class RingFenceLine(BaseModel):
    """One fiscal period of the ring-fence: what is held for the programme, drawn by its projects, left."""

    fiscal_period: str = Field(examples=["FY2027"])
    ring_fence: Money
    drawn: Money
    remaining: Money


class ProgrammeProject(BaseModel):
    project_id: str
    budget: list[PeriodAmountOut]


class ProgrammeSummary(BaseModel):
    """A programme in a list."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROGRAMME_EXAMPLE]})

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


BENEFIT_EXAMPLE: dict[str, Any] = {
    "benefit_id": "0b5f8f5e-3b7a-4f7e-9d8c-1d2e3f4a5b6c",
    "description": "Cost to serve a customer down",
    "owner": "olga",
    "unit": "EUR",
    "profile": [{"on": "2027-06-30", "planned_value": "100000.00"}, {"on": "2027-12-31", "planned_value": "350000.00"}],
    "as_of": "2027-09-30",
    "planned_to_date": "100000.00",
    "realised_to_date": "72000.00",
    "contributions": [
        {
            "project_id": "83d2f542-8551-4f63-b8cd-46c6e6a28f7b",
            "project_benefit_id": "#1",
            "share": "0.6000",
            "measured_value": "120000.00",
            "measured_on": "2027-09-15",
            "contributed": "72000.00",
        }
    ],
}


class ProgrammeView(ProgrammeSummary):
    """A programme with its status rolled up; `version` is its ETag."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **PROGRAMME_EXAMPLE,
                    "status_rollup": {
                        "worst_rag": "amber",
                        "projects_reporting": 1,
                        "projects_by_status": [{"status": "active", "count": 1}],
                        "evm": {
                            "bac": "380000.00",
                            "pv": "95000.00",
                            "ev": "85500.00",
                            "ac": "90000.00",
                            "sv": "-9500.00",
                            "cv": "-4500.00",
                            "spi": "0.9000",
                            "cpi": "0.9500",
                            "eac": "400000.00",
                            "vac": "-20000.00",
                        },
                        "manager_report": None,
                    },
                    "benefits_map": [BENEFIT_EXAMPLE],
                    "version": 3,
                }
            ]
        }
    )

    status_rollup: StatusRollup
    #: The programme's benefits, each fed by its projects' benefits, realised against planned to date.
    benefits_map: list[ProgrammeBenefitView]
    version: int


class ProgrammePage(Page[ProgrammeSummary]):
    """Programmes by id."""
