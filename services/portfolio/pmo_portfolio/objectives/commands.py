"""Strategic objective command handlers: create, and change (update or retire) with If-Match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.runtime import AggregateType, UnitOfWork, fold
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.objectives.domain import Objective
from pmo_portfolio.objectives.queries import objective_view
from pmo_portfolio.shared.errors import NotFound

OBJECTIVE = AggregateType("objective", objective_rules.initial, objective_rules.evolve, Objective)
ObjectiveRule = Callable[[Objective], list[Event]]


def _answer(state: Objective, version: int) -> tuple[dict[str, Any], int]:
    return {**objective_view(state.model_dump(mode="json")), "version": version}, version


async def create_objective(uow: UnitOfWork, objective_id: str, new_events: list[Event]) -> tuple[dict[str, Any], int]:
    await uow.append(OBJECTIVE, objective_id, 0, new_events)
    return _answer(fold(OBJECTIVE, objective_rules.initial(objective_id), new_events), len(new_events))


async def change_objective(
    uow: UnitOfWork, objective_id: str, rule: ObjectiveRule, *, if_match: int | None = None
) -> tuple[dict[str, Any], int]:
    """Decide `rule` on the objective (a 412 when `if_match` is old); answer the objective after it."""
    loaded = await uow.load(OBJECTIVE, objective_id)
    if not loaded.state.exists:
        raise NotFound(f"objective {objective_id}")
    loaded.expect(if_match, f"objective {objective_id}")
    new_events = rule(loaded.state)
    await uow.append(OBJECTIVE, objective_id, loaded.version, new_events)
    return _answer(fold(OBJECTIVE, loaded.state, new_events), loaded.version + len(new_events))
