"""Strategic objective command handlers: create, and change (update or retire) with If-Match."""

from __future__ import annotations

from collections.abc import Callable

from pmo_events.contracts.base import Event
from pmo_events.runtime import AggregateType, CommandRuntime, Metadata, UnitOfWork, fold
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.objectives.domain import Objective
from pmo_portfolio.shared.errors import NotFound, StaleVersion

OBJECTIVE = AggregateType("objective", objective_rules.initial, objective_rules.evolve, Objective)


async def create_objective(uow: UnitOfWork, objective_id: str, new_events: list[Event]) -> tuple[Objective, int]:
    await uow.append(OBJECTIVE, objective_id, 0, new_events)
    return fold(OBJECTIVE, objective_rules.initial(objective_id), new_events), len(new_events)


async def change_objective(
    runtime: CommandRuntime,
    objective_id: str,
    rule: Callable[[Objective], list[Event]],
    meta: Metadata,
    *,
    if_match: int | None = None,
) -> int:
    async with runtime.unit_of_work(meta) as uow:
        loaded = await uow.load(OBJECTIVE, objective_id)
        if not loaded.state.exists:
            raise NotFound(f"objective {objective_id}")
        if if_match is not None and if_match != loaded.version:
            raise StaleVersion(f"objective {objective_id}", loaded.version)
        new_events = rule(loaded.state)
        await uow.append(OBJECTIVE, objective_id, loaded.version, new_events)
    return loaded.version + len(new_events)
