"""HTTP bodies of dependencies."""

from __future__ import annotations

from pydantic import Field

from pmo_events.contracts.bounds import BoundedDate
from pmo_portfolio.shared.http import Body
from pmo_servicekit.contract.responses import example


class DependencyWithdrawal(Body):
    model_config = example({"reason": "The portal no longer needs the invoice API: it uses the old one"})

    reason: str = Field(min_length=1, max_length=5_000)


class MilestoneRef(Body):
    """A programme milestone: the end of one of the programme's tranches."""

    programme_id: str = Field(min_length=1, max_length=36)
    tranche_id: str = Field(min_length=1, max_length=64)


class DependencyCreate(Body):
    model_config = example(
        {
            "dependent_project_id": "p-web",
            "provider_project_id": "p-api",
            "needed": "the customer API in production",
            "need_date": "2027-06-30",
            "provider_contact": "pam",
        }
    )

    dependent_project_id: str = Field(min_length=1, max_length=64, description="the project that needs it")
    provider_project_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the project that delivers it (or `provider_milestone`: exactly one of the two)",
    )
    provider_milestone: MilestoneRef | None = Field(
        default=None,
        description="the programme milestone (a tranche's end) it waits for, instead of a provider project",
    )
    needed: str = Field(min_length=1, max_length=2_000, description="what is needed")
    need_date: BoundedDate = Field(description="by when the dependent needs it")
    provider_contact: str | None = Field(default=None, max_length=200, description="who answers for it")
