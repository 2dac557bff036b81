"""The StrategicObjective aggregate: weighted, time-boxed goals that proposals contribute to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import ObjectiveCreated, ObjectiveRetired, ObjectiveUpdated
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation


class Objective(BaseModel):
    objective_id: str
    exists: bool = False
    title: str = ""
    description: str | None = None
    weight: Decimal = Decimal(0)
    period_start: date | None = None
    period_end: date | None = None
    status: Literal["active", "retired"] = "active"
    retired_reason: str | None = None
    #: The portfolios it belongs to; empty: organisation-wide (every portfolio's strategy).
    portfolio_ids: tuple[str, ...] = ()

    def applies_to(self, portfolio_id: str) -> bool:
        return not self.portfolio_ids or portfolio_id in self.portfolio_ids


@dataclass(frozen=True)
class ObjectiveDefinition:
    """What a create or an update states about an objective."""

    title: str
    description: str | None
    weight: Decimal
    period_start: date
    period_end: date
    portfolio_ids: tuple[str, ...] = ()


def _check(definition: ObjectiveDefinition) -> None:
    if not definition.title.strip():
        raise InvalidCommand("title", "an objective needs a title")
    if definition.weight <= 0:
        raise InvalidCommand("weight", "the weight of an objective must be greater than 0")
    if definition.period_end < definition.period_start:
        raise InvalidCommand("period.end", "the period must not end before it starts")
    if len(set(definition.portfolio_ids)) != len(definition.portfolio_ids):
        raise InvalidCommand("portfolio_ids", "each portfolio may be named once")


def create(objective_id: str, definition: ObjectiveDefinition, created_by: str) -> list[Event]:
    _check(definition)
    return [ObjectiveCreated(objective_id=objective_id, created_by=created_by, **definition.__dict__)]


def definition_of(objective: Objective) -> ObjectiveDefinition:
    """What an existing objective states now: what an update starts from."""
    if not objective.exists or objective.period_start is None or objective.period_end is None:
        raise NotFound(f"objective {objective.objective_id}")
    return ObjectiveDefinition(
        objective.title,
        objective.description,
        objective.weight,
        objective.period_start,
        objective.period_end,
        objective.portfolio_ids,
    )


def update(objective: Objective, definition: ObjectiveDefinition, updated_by: str) -> list[Event]:
    """A retired objective is history: it is no longer edited."""
    if not objective.exists:
        raise NotFound(f"objective {objective.objective_id}")
    if objective.status == "retired":
        raise RuleViolation(f"objective {objective.objective_id} is retired and can no longer change")
    _check(definition)
    return [ObjectiveUpdated(objective_id=objective.objective_id, updated_by=updated_by, **definition.__dict__)]


def retire(objective: Objective, retired_by: str, reason: str | None) -> list[Event]:
    if not objective.exists:
        raise NotFound(f"objective {objective.objective_id}")
    if objective.status == "retired":
        raise RuleViolation(f"objective {objective.objective_id} is already retired")
    return [ObjectiveRetired(objective_id=objective.objective_id, retired_by=retired_by, reason=reason)]


def evolve(state: Objective, event: Event) -> Objective:
    if isinstance(event, ObjectiveCreated | ObjectiveUpdated):
        return state.model_copy(
            update={
                "exists": True,
                "title": event.title,
                "description": event.description,
                "weight": event.weight,
                "period_start": event.period_start,
                "period_end": event.period_end,
                "portfolio_ids": event.portfolio_ids,
            }
        )
    if isinstance(event, ObjectiveRetired):
        return state.model_copy(update={"status": "retired", "retired_reason": event.reason})
    return state


def initial(objective_id: str) -> Objective:
    return Objective(objective_id=objective_id)
