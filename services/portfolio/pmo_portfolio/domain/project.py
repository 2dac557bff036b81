"""The Project aggregate: initiated by an approval, with the proposal's id; delivery comes later."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import Benefit, PeriodAmount, RoleEstimate, Timeline
from pmo_events.contracts.portfolio import CandidateRegistered, InvestmentDecided, ProjectInitiated


class Project(BaseModel):
    project_id: str
    portfolio_id: str = ""
    title: str = ""
    stage: Literal["none", "initiate", "plan", "execute", "close"] = "none"
    status: Literal["none", "active", "on_hold", "paused", "cancelled", "closed"] = "none"
    baseline_budget: tuple[PeriodAmount, ...] = ()
    timeline: Timeline = Timeline()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    benefits: tuple[Benefit, ...] = ()


def initiate(project: Project, decision: InvestmentDecided, candidate: CandidateRegistered) -> list[Event]:
    """An approval starts the project, baselined on the approved budget and the proposal's plan."""
    if project.status != "none" or decision.outcome != "approve":
        return []
    return [
        ProjectInitiated(
            project_id=decision.candidate_id,
            portfolio_id=decision.portfolio_id,
            proposal_id=decision.proposal_id,
            title=candidate.title,
            baseline_budget=decision.approved_budget,
            timeline=candidate.timeline,
            resource_estimate=candidate.resource_estimate,
            benefits=candidate.benefits,
            initiated_by=decision.decided_by,
        )
    ]


def evolve(state: Project, event: Event) -> Project:
    if isinstance(event, ProjectInitiated):
        return state.model_copy(
            update={
                "portfolio_id": event.portfolio_id,
                "title": event.title,
                "stage": "initiate",
                "status": "active",
                "baseline_budget": event.baseline_budget,
                "timeline": event.timeline,
                "resource_estimate": event.resource_estimate,
                "benefits": event.benefits,
            }
        )
    return state


def initial(project_id: str) -> Project:
    return Project(project_id=project_id)
