"""The RAID item aggregate: a risk, an assumption or an issue at a level, its score history, response and
actions, and its escalation when the score or the cost exceeds the owning level's tolerance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    AssumptionValidated,
    IssuePriority,
    LevelTolerance,
    RaidAction,
    RaidActionCompleted,
    RaidItemClosed,
    RaidItemDelegated,
    RaidItemEscalated,
    RaidItemRaised,
    RaidKind,
    RaidLevel,
    RiskAssessed,
    RiskResponse,
    RiskResponsePlanned,
)
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation

#: Until a portfolio sets its own: a project escalates above 12 (e.g. 4 x 3), a programme above 16.
DEFAULT_TOLERANCES: dict[str, LevelTolerance] = {
    "project": LevelTolerance(score=12),
    "programme": LevelTolerance(score=16),
}


class ScorePoint(BaseModel):
    probability: int
    impact: int
    score: int
    at: datetime
    by: str


class RaidItem(BaseModel):
    raid_item_id: str
    exists: bool = False
    portfolio_id: str = ""
    kind: RaidKind = "risk"
    title: str = ""
    owner: str = ""
    #: Where the item is now (after escalations and delegations) and where it was raised.
    level: RaidLevel = "project"
    level_id: str = ""
    raised_level: RaidLevel = "project"
    raised_level_id: str = ""
    status: Literal["open", "closed"] = "open"
    probability: int | None = None
    impact: int | None = None
    score: int | None = None
    proximity: date | None = None
    cost_impact: Decimal | None = None
    priority: IssuePriority | None = None
    due_on: date | None = None
    response: RiskResponse | None = None
    actions: tuple[RaidAction, ...] = ()
    history: tuple[ScorePoint, ...] = ()
    escalated: bool = False
    validated: bool | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class Ladder:
    """Where an item at a level escalates to: a project's programme (if it is in one), then the portfolio;
    and the tolerances of each level."""

    portfolio_id: str
    programme_of_project: str | None
    tolerances: dict[str, LevelTolerance]

    def above(self, level: str) -> tuple[RaidLevel, str] | None:
        if level == "project" and self.programme_of_project:
            return "programme", self.programme_of_project
        if level in ("project", "programme"):
            return "portfolio", self.portfolio_id
        return None


def score_of(probability: int, impact: int) -> int:
    """The 5x5 score: probability x impact, 1..25."""
    for field, value in (("probability", probability), ("impact", impact)):
        if not 1 <= value <= 5:
            raise InvalidCommand(field, f"{field} is on a 1..5 scale")
    return probability * impact


def _beyond(item: RaidItem, tolerance: LevelTolerance) -> str | None:
    if item.score is not None and item.score > tolerance.score:
        return f"score {item.score} above the {item.level}'s tolerance of {tolerance.score}"
    if item.cost_impact is not None and tolerance.cost is not None and item.cost_impact > tolerance.cost:
        cost, limit = format(item.cost_impact, "f"), format(tolerance.cost, "f")
        return f"cost impact {cost} above the {item.level}'s tolerance of {limit}"
    return None


def escalations(item: RaidItem, ladder: Ladder, at: datetime) -> list[Event]:
    """Up the ladder while the item exceeds the tolerance of the level it is at (the portfolio has none above)."""
    events: list[Event] = []
    current = item
    while current.status == "open" and current.kind != "assumption":
        tolerance = ladder.tolerances.get(current.level)
        above = ladder.above(current.level)
        reason = _beyond(current, tolerance) if tolerance else None
        if above is None or reason is None:
            break
        escalated = RaidItemEscalated(
            raid_item_id=item.raid_item_id,
            portfolio_id=item.portfolio_id,
            from_level=current.level,
            from_level_id=current.level_id,
            to_level=above[0],
            to_level_id=above[1],
            reason=reason,
            score=current.score,
            cost_impact=current.cost_impact,
            escalated_at=at,
        )
        events.append(escalated)
        current = evolve(current, escalated)
    return events


@dataclass(frozen=True)
class RaiseItem:
    raid_item_id: str
    kind: RaidKind
    level: RaidLevel
    level_id: str
    title: str
    owner: str
    raised_by: str
    raised_at: datetime
    description: str | None = None
    cause: str | None = None
    risk_event: str | None = None
    effect: str | None = None
    probability: int | None = None
    impact: int | None = None
    proximity: date | None = None
    cost_impact: Decimal | None = None
    priority: IssuePriority | None = None
    due_on: date | None = None


def _check_raise(command: RaiseItem) -> int | None:
    if not command.title.strip():
        raise InvalidCommand("title", "a RAID item needs a title")
    if not command.owner.strip():
        raise InvalidCommand("owner", "a RAID item needs an owner")
    if command.cost_impact is not None and command.cost_impact < 0:
        raise InvalidCommand("cost_impact", "a cost impact is not negative")
    if command.kind == "risk":
        if command.probability is None or command.impact is None:
            raise InvalidCommand("probability" if command.probability is None else "impact", "a risk is scored 1..5")
        return score_of(command.probability, command.impact)
    if command.kind == "issue" and command.priority is None:
        raise InvalidCommand("priority", "an issue has a priority")
    return None


def raise_item(portfolio_id: str, command: RaiseItem, ladder: Ladder) -> list[Event]:
    """Log the item at its level; if it already exceeds that level's tolerance it escalates at once."""
    score = _check_raise(command)
    raised = RaidItemRaised(portfolio_id=portfolio_id, score=score, **command.__dict__)
    state = evolve(initial(command.raid_item_id), raised)
    return [raised, *escalations(state, ladder, command.raised_at)]


def _open(item: RaidItem) -> None:
    if not item.exists:
        raise NotFound(f"RAID item {item.raid_item_id}")
    if item.status == "closed":
        raise RuleViolation(f"RAID item {item.raid_item_id} is closed")


def _risk(item: RaidItem) -> None:
    _open(item)
    if item.kind != "risk":
        raise RuleViolation(f"RAID item {item.raid_item_id} is an {item.kind}, not a risk")


def assess(
    item: RaidItem,
    probability: int,
    impact: int,
    rationale: str,
    by: str,
    at: datetime,
    ladder: Ladder,
    proximity: date | None = None,
    cost_impact: Decimal | None = None,
) -> list[Event]:
    """A new score joins the history; a score now beyond the level's tolerance escalates."""
    _risk(item)
    if not rationale.strip():
        raise InvalidCommand("rationale", "say why the score changed")
    assessed = RiskAssessed(
        raid_item_id=item.raid_item_id,
        portfolio_id=item.portfolio_id,
        probability=probability,
        impact=impact,
        score=score_of(probability, impact),
        proximity=proximity or item.proximity,
        cost_impact=cost_impact if cost_impact is not None else item.cost_impact,
        rationale=rationale,
        assessed_by=by,
        assessed_at=at,
    )
    return [assessed, *escalations(evolve(item, assessed), ladder, at)]


def plan_response(
    item: RaidItem, response: RiskResponse, actions: tuple[RaidAction, ...], by: str, at: datetime
) -> list[Event]:
    _risk(item)
    ids = [a.action_id for a in actions]
    if len(ids) != len(set(ids)):
        raise InvalidCommand("actions", "each action once")
    return [
        RiskResponsePlanned(
            raid_item_id=item.raid_item_id,
            portfolio_id=item.portfolio_id,
            response=response,
            actions=actions,
            planned_by=by,
            planned_at=at,
        )
    ]


def complete_action(item: RaidItem, action_id: str, by: str, at: datetime) -> list[Event]:
    _open(item)
    action = next((a for a in item.actions if a.action_id == action_id), None)
    if action is None:
        raise NotFound(f"action {action_id} of RAID item {item.raid_item_id}")
    if action.done:
        raise RuleViolation(f"action {action_id} is already done")
    return [RaidActionCompleted(raid_item_id=item.raid_item_id, portfolio_id=item.portfolio_id, action_id=action_id,
                                completed_by=by, completed_at=at)]  # fmt: skip


def delegate(item: RaidItem, rationale: str, by: str, at: datetime) -> list[Event]:
    """The level an item was escalated to hands it back to where it was raised, with a rationale."""
    _open(item)
    if (item.level, item.level_id) == (item.raised_level, item.raised_level_id):
        raise RuleViolation(f"RAID item {item.raid_item_id} is at the level it was raised at")
    if not rationale.strip():
        raise InvalidCommand("rationale", "say why the item goes back down")
    return [
        RaidItemDelegated(
            raid_item_id=item.raid_item_id,
            portfolio_id=item.portfolio_id,
            from_level=item.level,
            from_level_id=item.level_id,
            to_level=item.raised_level,
            to_level_id=item.raised_level_id,
            rationale=rationale,
            delegated_by=by,
            delegated_at=at,
        )
    ]


def validate_assumption(item: RaidItem, valid: bool, note: str, by: str, at: datetime) -> list[Event]:
    _open(item)
    if item.kind != "assumption":
        raise RuleViolation(f"RAID item {item.raid_item_id} is an {item.kind}, not an assumption")
    if not note.strip():
        raise InvalidCommand("note", "say how the assumption was checked")
    return [AssumptionValidated(raid_item_id=item.raid_item_id, portfolio_id=item.portfolio_id, valid=valid,
                                note=note, validated_by=by, validated_at=at)]  # fmt: skip


def close(item: RaidItem, resolution: str, by: str, at: datetime) -> list[Event]:
    _open(item)
    if not resolution.strip():
        raise InvalidCommand("resolution", "closing a RAID item says how it ended")
    return [RaidItemClosed(raid_item_id=item.raid_item_id, portfolio_id=item.portfolio_id, resolution=resolution,
                           closed_by=by, closed_at=at)]  # fmt: skip


def _raised(state: RaidItem, event: RaidItemRaised) -> RaidItem:
    # Attributes, not model_dump: a dump serialises money to text, and model_copy does not validate.
    fields = {name: getattr(event, name) for name in set(RaidItem.model_fields) & set(type(event).model_fields)}
    history: tuple[ScorePoint, ...] = ()
    if event.score is not None and event.probability and event.impact:
        history = (ScorePoint(probability=event.probability, impact=event.impact, score=event.score,
                              at=event.raised_at, by=event.raised_by),)  # fmt: skip
    return state.model_copy(
        update={
            **fields,
            "exists": True,
            "raised_level": event.level,
            "raised_level_id": event.level_id,
            "history": history,
        }
    )


def evolve(state: RaidItem, event: Event) -> RaidItem:
    if isinstance(event, RaidItemRaised):
        return _raised(state, event)
    if isinstance(event, RiskAssessed):
        point = ScorePoint(probability=event.probability, impact=event.impact, score=event.score,
                           at=event.assessed_at, by=event.assessed_by)  # fmt: skip
        return state.model_copy(
            update={
                "probability": event.probability,
                "impact": event.impact,
                "score": event.score,
                "proximity": event.proximity,
                "cost_impact": event.cost_impact,
                "history": (*state.history, point),
            }
        )
    if isinstance(event, RiskResponsePlanned):
        return state.model_copy(update={"response": event.response, "actions": event.actions})
    if isinstance(event, RaidActionCompleted):
        actions = tuple(
            a.model_copy(update={"done": True}) if a.action_id == event.action_id else a for a in state.actions
        )
        return state.model_copy(update={"actions": actions})
    if isinstance(event, RaidItemEscalated):
        return state.model_copy(update={"level": event.to_level, "level_id": event.to_level_id, "escalated": True})
    if isinstance(event, RaidItemDelegated):
        return state.model_copy(update={"level": event.to_level, "level_id": event.to_level_id, "escalated": False})
    if isinstance(event, AssumptionValidated):
        return state.model_copy(update={"validated": event.valid})
    if isinstance(event, RaidItemClosed):
        return state.model_copy(update={"status": "closed", "resolution": event.resolution})
    return state


def initial(raid_item_id: str) -> RaidItem:
    return RaidItem(raid_item_id=raid_item_id)
