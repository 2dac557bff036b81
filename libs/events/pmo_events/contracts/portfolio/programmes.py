"""Programme events: projects of one portfolio grouped toward shared outcomes, with a ring-fenced envelope."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pmo_events.contracts.base import ContractModel, Money, UtcInstant, contract
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio.topic import PortfolioEvent

TrancheDecision = Literal["continue", "re_plan", "close_programme"]


@contract
class ProgrammeCreated(PortfolioEvent):
    """A programme in a portfolio: who owns it, the objectives it serves, and the share of the portfolio's
    envelope ring-fenced for it per fiscal period (its projects' budgets draw on that share)."""

    event_name = "ProgrammeCreated"
    programme_id: str
    portfolio_id: str
    name: str
    vision: str
    senior_responsible_owner: str
    programme_manager: str
    objective_ids: tuple[str, ...] = ()
    ring_fence: tuple[PeriodAmount, ...] = ()
    created_by: str
    created_at: UtcInstant


@contract
class TranchePlanned(PortfolioEvent):
    """An ordered, dated group of the programme's projects, closed by an end-of-tranche review. Planning a
    tranche again with the same `tranche_id` (after a re-plan) replaces its dates and projects."""

    event_name = "TranchePlanned"
    programme_id: str
    portfolio_id: str
    tranche_id: str
    name: str
    sequence: int
    start: date
    end: date
    project_ids: tuple[str, ...] = ()
    planned_by: str
    planned_at: UtcInstant


@contract
class TrancheReviewed(PortfolioEvent):
    """The end-of-tranche review: the programme board's decision to continue (the tranche closes), re-plan
    (it stays open, to be planned again) or close the programme."""

    event_name = "TrancheReviewed"
    programme_id: str
    portfolio_id: str
    tranche_id: str
    decision: TrancheDecision
    rationale: str
    decided_by: str
    decided_at: UtcInstant


@contract
class ProjectJoinedProgramme(PortfolioEvent):
    """A project joined the programme: at its approval (the decision named the programme, `decision_id`)
    or later by the programme's decision with a rationale. `budget` is what it draws on the ring-fence."""

    event_name = "ProjectJoinedProgramme"
    related_fields = ("project_id",)
    programme_id: str
    portfolio_id: str
    project_id: str
    budget: tuple[PeriodAmount, ...] = ()
    via: Literal["approval", "decision"]
    decision_id: str | None = None
    rationale: str
    decided_by: str
    decided_at: UtcInstant


@contract
class ProgrammeDrawChanged(PortfolioEvent):
    """A member project's approved budget changed (`ProjectBudgetChanged`: a change request, or money released
    at closure or cancellation): what it draws on the ring-fence moves by `delta` (signed, per period)."""

    event_name = "ProgrammeDrawChanged"
    related_fields = ("project_id",)
    programme_id: str
    portfolio_id: str
    project_id: str
    delta: tuple[PeriodAmount, ...]
    cause: str
    caused_by_event_id: str | None = None
    changed_at: UtcInstant


class ProgrammeRag(ContractModel):
    overall: Literal["green", "amber", "red"]
    schedule: Literal["green", "amber", "red"] | None = None
    cost: Literal["green", "amber", "red"] | None = None
    benefits: Literal["green", "amber", "red"] | None = None


@contract
class ProgrammeStatusReported(PortfolioEvent):
    """The programme manager's own status report, next to the status rolled up from the projects."""

    event_name = "ProgrammeStatusReported"
    programme_id: str
    portfolio_id: str
    report_id: str
    period_end: date
    rag: ProgrammeRag
    summary: str
    reported_by: str
    reported_at: UtcInstant


class BenefitProfilePoint(ContractModel):
    """The value planned to be realised, in total, by a date (a realisation profile never goes down)."""

    on: date
    planned_value: Money


@contract
class ProgrammeBenefitDefined(PortfolioEvent):
    """A benefit the programme answers for (its benefits map), with the person who owns its realisation, the
    unit it is measured in and its realisation profile: the cumulative value planned by each date. Defined
    again with the same `benefit_id`, it replaces the description, owner, unit and profile (its
    contributions stay)."""

    event_name = "ProgrammeBenefitDefined"
    programme_id: str
    portfolio_id: str
    benefit_id: str
    description: str
    owner: str
    unit: str
    profile: tuple[BenefitProfilePoint, ...] = ()
    defined_by: str
    defined_at: UtcInstant


@contract
class ProgrammeBenefitContributionSet(PortfolioEvent):
    """A benefit of one of the programme's projects feeds the programme benefit with `share` (0 < share ≤ 1)
    of what is realised: realisations of the project benefit roll up into it. Set again for the same
    project benefit, it replaces the share. A project benefit gives at most 1 (100%) across the
    programme's benefits."""

    event_name = "ProgrammeBenefitContributionSet"
    related_fields = ("project_id",)
    programme_id: str
    portfolio_id: str
    benefit_id: str
    project_id: str
    project_benefit_id: str
    share: Money
    set_by: str
    set_at: UtcInstant
