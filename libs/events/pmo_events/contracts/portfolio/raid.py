"""RAID log events: risks, assumptions, issues (and the decisions on them) at project, programme and
portfolio level, each item a stream of its own; escalation by the owning level's tolerance."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from pmo_events.contracts.base import ContractModel, Money, UtcInstant, contract
from pmo_events.contracts.portfolio.topic import PortfolioEvent

RaidKind = Literal["risk", "assumption", "issue"]
RaidLevel = Literal["project", "programme", "portfolio"]
RiskResponse = Literal["avoid", "reduce", "transfer", "accept", "exploit"]
IssuePriority = Literal["low", "medium", "high", "critical"]


def raid_tolerances_id(portfolio_id: str) -> str:
    """The stream of a portfolio's RAID tolerances."""
    return f"raid-tolerances-{portfolio_id}"


class RaidAction(ContractModel):
    """An action of a risk's response: what, who, by when, and whether it is done."""

    action_id: str
    description: str
    owner: str
    due_on: date
    done: bool = False


@contract
class RaidItemRaised(PortfolioEvent):
    """A risk, an assumption or an issue logged at a level (a project, a programme or the portfolio).

    A risk has cause, event and effect and its 5x5 score (probability x impact, 1..25); an issue its
    priority and due date; either may state a cost impact. An assumption states what is assumed true."""

    event_name = "RaidItemRaised"
    related_fields = ("level_id",)
    raid_item_id: str
    portfolio_id: str
    kind: RaidKind
    level: RaidLevel
    #: The project, programme or portfolio the item belongs to.
    level_id: str
    title: str
    description: str | None = None
    owner: str
    cause: str | None = None
    risk_event: str | None = None
    effect: str | None = None
    probability: int | None = Field(default=None, ge=1, le=5)
    impact: int | None = Field(default=None, ge=1, le=5)
    score: int | None = None
    proximity: date | None = None
    cost_impact: Money | None = None
    priority: IssuePriority | None = None
    due_on: date | None = None
    raised_by: str
    raised_at: UtcInstant


@contract
class RiskAssessed(PortfolioEvent):
    """A risk scored again: its probability, impact and score (the score history is these events)."""

    event_name = "RiskAssessed"
    raid_item_id: str
    portfolio_id: str
    probability: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    score: int
    proximity: date | None = None
    cost_impact: Money | None = None
    rationale: str
    assessed_by: str
    assessed_at: UtcInstant


@contract
class RiskResponsePlanned(PortfolioEvent):
    """How the owner responds to a risk (avoid, reduce, transfer, accept, exploit) and the actions it takes."""

    event_name = "RiskResponsePlanned"
    raid_item_id: str
    portfolio_id: str
    response: RiskResponse
    actions: tuple[RaidAction, ...] = ()
    planned_by: str
    planned_at: UtcInstant


@contract
class RaidActionCompleted(PortfolioEvent):
    event_name = "RaidActionCompleted"
    raid_item_id: str
    portfolio_id: str
    action_id: str
    completed_by: str
    completed_at: UtcInstant


@contract
class RaidItemEscalated(PortfolioEvent):
    """The item's score or cost exceeds its level's tolerance: it moves up (project → programme → portfolio)
    and is visible there."""

    event_name = "RaidItemEscalated"
    related_fields = ("to_level_id",)
    raid_item_id: str
    portfolio_id: str
    from_level: RaidLevel
    from_level_id: str
    to_level: RaidLevel
    to_level_id: str
    reason: str
    score: int | None = None
    cost_impact: Money | None = None
    escalated_at: UtcInstant


@contract
class RaidItemDelegated(PortfolioEvent):
    """The higher level hands the item back down, with a rationale."""

    event_name = "RaidItemDelegated"
    related_fields = ("to_level_id",)
    raid_item_id: str
    portfolio_id: str
    from_level: RaidLevel
    from_level_id: str
    to_level: RaidLevel
    to_level_id: str
    rationale: str
    delegated_by: str
    delegated_at: UtcInstant


@contract
class AssumptionValidated(PortfolioEvent):
    """An assumption checked: it holds (`valid`) or it does not."""

    event_name = "AssumptionValidated"
    raid_item_id: str
    portfolio_id: str
    valid: bool
    note: str
    validated_by: str
    validated_at: UtcInstant


@contract
class RaidItemClosed(PortfolioEvent):
    """A risk closed (passed or no longer relevant), an issue resolved (with its resolution)."""

    event_name = "RaidItemClosed"
    raid_item_id: str
    portfolio_id: str
    resolution: str
    closed_by: str
    closed_at: UtcInstant


class LevelTolerance(ContractModel):
    """Above this score (1..25) or this cost impact, an item escalates from the level."""

    score: int = Field(ge=1, le=25)
    cost: Money | None = None


@contract
class RaidTolerancesSet(PortfolioEvent):
    """The portfolio's escalation tolerances for its projects and programmes."""

    event_name = "RaidTolerancesSet"
    tolerances_id: str
    portfolio_id: str
    project: LevelTolerance
    programme: LevelTolerance
    set_by: str
    set_at: UtcInstant
