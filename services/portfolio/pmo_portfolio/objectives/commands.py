"""Strategic objective command handlers: create, and change (update or retire) with If-Match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import ObjectiveCreated, ObjectiveUpdated
from pmo_events.runtime import AggregateType, UnitOfWork, fold
from pmo_events.runtime.schema import events
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.objectives.domain import Objective
from pmo_portfolio.objectives.queries import objective_view
from pmo_portfolio.shared.errors import InvalidCommand, NotFound

OBJECTIVE = AggregateType("objective", objective_rules.initial, objective_rules.evolve, Objective)
ObjectiveRule = Callable[[Objective], list[Event]]


def _answer(state: Objective, version: int) -> tuple[dict[str, Any], int]:
    return {**objective_view(state.model_dump(mode="json")), "version": version}, version


async def check_portfolios_exist(uow: UnitOfWork, portfolio_ids: tuple[str, ...]) -> None:
    """An objective belongs to portfolios that exist (their streams are in this service's store)."""
    if not portfolio_ids:
        return
    query = select(events.c.stream_id).where(events.c.stream_type == "portfolio", events.c.stream_id.in_(portfolio_ids))
    known = set((await uow.session.execute(query.distinct())).scalars())
    for index, portfolio_id in enumerate(portfolio_ids):
        if portfolio_id not in known:
            raise InvalidCommand(f"portfolio_ids.{index}", f"there is no portfolio {portfolio_id}")


async def create_objective(uow: UnitOfWork, objective_id: str, new_events: list[Event]) -> tuple[dict[str, Any], int]:
    for event in new_events:
        if isinstance(event, ObjectiveCreated):
            await check_portfolios_exist(uow, event.portfolio_ids)
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
    for event in new_events:
        if isinstance(event, ObjectiveUpdated):
            await check_portfolios_exist(uow, event.portfolio_ids)
    await uow.append(OBJECTIVE, objective_id, loaded.version, new_events)
    return _answer(fold(OBJECTIVE, loaded.state, new_events), loaded.version + len(new_events))
