"""The Programme aggregate: a portfolio's projects grouped toward shared outcomes, owned by an SRO."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import (
    BenefitProfilePoint,
    ProgrammeBenefitContributionSet,
    ProgrammeBenefitDefined,
    ProgrammeCreated,
    ProgrammeDrawChanged,
    ProgrammeStatusReported,
    ProjectJoinedProgramme,
    TrancheDecision,
    TranchePlanned,
    TrancheReviewed,
)
from pmo_portfolio.funding.domain import ZERO, add


class Tranche(BaseModel):
    tranche_id: str
    name: str
    sequence: int
    start: date
    end: date
    project_ids: tuple[str, ...] = ()
    #: open until its end-of-tranche review: `closed` after "continue" or "close_programme", `re_plan` after
    #: "re_plan" (open again once it is planned anew).
    status: Literal["open", "re_plan", "closed"] = "open"
    decision: TrancheDecision | None = None
    rationale: str | None = None
    decided_by: str | None = None


class Contribution(BaseModel):
    """A project benefit feeding a programme benefit with a share of what it realises."""

    project_id: str
    project_benefit_id: str
    share: Decimal


class ProgrammeBenefit(BaseModel):
    """A benefit of the programme's benefits map: its owner, unit, realisation profile and contributions."""

    benefit_id: str
    description: str
    owner: str
    unit: str
    profile: tuple[BenefitProfilePoint, ...] = ()
    #: By "<project_id> <project_benefit_id>", in the order they were first set.
    contributions: dict[str, Contribution] = {}


def contribution_key(project_id: str, project_benefit_id: str) -> str:
    return f"{project_id} {project_benefit_id}"


class Programme(BaseModel):
    programme_id: str
    exists: bool = False
    portfolio_id: str = ""
    name: str = ""
    vision: str = ""
    senior_responsible_owner: str = ""
    programme_manager: str = ""
    objective_ids: tuple[str, ...] = ()
    status: Literal["active", "closed"] = "active"
    #: Per fiscal period: the share of the portfolio's envelope held for this programme, and what its
    #: projects' budgets have drawn on it.
    ring_fence: dict[str, Decimal] = {}
    drawn: dict[str, Decimal] = {}
    #: Member projects and what each draws, in the order they joined.
    projects: dict[str, tuple[PeriodAmount, ...]] = {}
    tranches: dict[str, Tranche] = {}
    latest_report: ProgrammeStatusReported | None = None
    #: The benefits map, in the order the benefits were defined.
    benefits: dict[str, ProgrammeBenefit] = {}

    def remaining_ring_fence(self) -> dict[str, Decimal]:
        return {
            p: self.ring_fence.get(p, ZERO) - self.drawn.get(p, ZERO)
            for p in sorted(set(self.ring_fence) | set(self.drawn))
        }

    def share_given(self, project_id: str, project_benefit_id: str, *, besides: str | None = None) -> Decimal:
        """What a project benefit already gives to the programme's benefits (less to `besides`)."""
        key = contribution_key(project_id, project_benefit_id)
        given = [
            b.contributions[key].share
            for b in self.benefits.values()
            if key in b.contributions and b.benefit_id != besides
        ]
        return sum(given, ZERO)

    def ordered_tranches(self) -> list[Tranche]:
        return sorted(self.tranches.values(), key=lambda t: t.sequence)


def _created(state: Programme, event: ProgrammeCreated) -> Programme:
    return state.model_copy(
        update={
            "exists": True,
            "portfolio_id": event.portfolio_id,
            "name": event.name,
            "vision": event.vision,
            "senior_responsible_owner": event.senior_responsible_owner,
            "programme_manager": event.programme_manager,
            "objective_ids": event.objective_ids,
            "ring_fence": add({}, event.ring_fence),
        }
    )


def _planned(state: Programme, event: TranchePlanned) -> Programme:
    tranche = Tranche(**event.model_dump(include=set(Tranche.model_fields)))
    return state.model_copy(update={"tranches": {**state.tranches, tranche.tranche_id: tranche}})


def _reviewed(state: Programme, event: TrancheReviewed) -> Programme:
    status = "re_plan" if event.decision == "re_plan" else "closed"
    reviewed = state.tranches[event.tranche_id].model_copy(
        update={
            "status": status,
            "decision": event.decision,
            "rationale": event.rationale,
            "decided_by": event.decided_by,
        }
    )
    update: dict[str, object] = {"tranches": {**state.tranches, event.tranche_id: reviewed}}
    if event.decision == "close_programme":
        update["status"] = "closed"
    return state.model_copy(update=update)


def _joined(state: Programme, event: ProjectJoinedProgramme) -> Programme:
    return state.model_copy(
        update={"projects": {**state.projects, event.project_id: event.budget}, "drawn": add(state.drawn, event.budget)}
    )


def _draw_changed(state: Programme, event: ProgrammeDrawChanged) -> Programme:
    budget = add(add({}, state.projects[event.project_id]), event.delta)
    lines = tuple(PeriodAmount(fiscal_period=p, amount=a) for p, a in sorted(budget.items()) if a)
    return state.model_copy(
        update={"projects": {**state.projects, event.project_id: lines}, "drawn": add(state.drawn, event.delta)}
    )


def _benefit_defined(state: Programme, event: ProgrammeBenefitDefined) -> Programme:
    earlier = state.benefits.get(event.benefit_id)
    benefit = ProgrammeBenefit(
        benefit_id=event.benefit_id,
        description=event.description,
        owner=event.owner,
        unit=event.unit,
        profile=event.profile,
        contributions=earlier.contributions if earlier else {},
    )
    return state.model_copy(update={"benefits": {**state.benefits, event.benefit_id: benefit}})


def _contribution_set(state: Programme, event: ProgrammeBenefitContributionSet) -> Programme:
    benefit = state.benefits[event.benefit_id]
    key = contribution_key(event.project_id, event.project_benefit_id)
    contribution = Contribution(
        project_id=event.project_id, project_benefit_id=event.project_benefit_id, share=event.share
    )
    changed = benefit.model_copy(update={"contributions": {**benefit.contributions, key: contribution}})
    return state.model_copy(update={"benefits": {**state.benefits, event.benefit_id: changed}})


def evolve(state: Programme, event: Event) -> Programme:
    if isinstance(event, ProgrammeCreated):
        return _created(state, event)
    if isinstance(event, TranchePlanned):
        return _planned(state, event)
    if isinstance(event, TrancheReviewed):
        return _reviewed(state, event)
    if isinstance(event, ProjectJoinedProgramme):
        return _joined(state, event)
    if isinstance(event, ProgrammeStatusReported):
        return state.model_copy(update={"latest_report": event})
    if isinstance(event, ProgrammeBenefitDefined):
        return _benefit_defined(state, event)
    if isinstance(event, ProgrammeDrawChanged):
        return _draw_changed(state, event)
    if isinstance(event, ProgrammeBenefitContributionSet):
        return _contribution_set(state, event)
    return state


def initial(programme_id: str) -> Programme:
    return Programme(programme_id=programme_id)


def ring_fenced(programmes: Mapping[str, Mapping[str, Decimal]]) -> dict[str, Decimal]:
    """Per fiscal period, what the given programmes (id → ring-fence) hold together."""
    total: dict[str, Decimal] = {}
    for fence in programmes.values():
        for period, amount in fence.items():
            total[period] = total.get(period, ZERO) + amount
    return total
