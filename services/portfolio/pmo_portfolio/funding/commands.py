"""Portfolio command handlers: load → decide (pure domain) → append, in one transaction."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.contracts.intake import ProposalSubmitted
from pmo_events.contracts.portfolio import CandidateRegistered, InvestmentDecided
from pmo_events.envelope import loads
from pmo_events.runtime import AggregateType, CommandRuntime, ConcurrencyConflict, Metadata, UnitOfWork, fold
from pmo_portfolio.adapters.db.tables import candidates, objectives
from pmo_portfolio.domain import objective as objective_rules
from pmo_portfolio.domain import portfolio as portfolio_rules
from pmo_portfolio.domain import project as project_rules
from pmo_portfolio.domain.errors import NotFound, StaleVersion
from pmo_portfolio.domain.objective import Objective
from pmo_portfolio.domain.portfolio import CreatePortfolio, Portfolio
from pmo_portfolio.domain.project import Project

PORTFOLIO = AggregateType("portfolio", portfolio_rules.initial, portfolio_rules.evolve, Portfolio)
PROJECT = AggregateType("project", project_rules.initial, project_rules.evolve, Project)
OBJECTIVE = AggregateType("objective", objective_rules.initial, objective_rules.evolve, Objective)
#: A command that lost a race on the portfolio stream is decided again on the fresh state, up to this often.
ATTEMPTS = 12

T = TypeVar("T")
PortfolioRule = Callable[[Portfolio, dict[str, Decimal]], Sequence[Event]]


async def active_objective_weights(session: AsyncSession) -> dict[str, Decimal]:
    rows = await session.execute(
        select(objectives.c.objective_id, objectives.c.weight).where(objectives.c.status == "active")
    )
    return {row.objective_id: Decimal(row.weight) for row in rows}


async def create_portfolio(uow: UnitOfWork, command: CreatePortfolio) -> tuple[Portfolio, int]:
    new_events = portfolio_rules.create(command)
    await uow.append(PORTFOLIO, command.portfolio_id, 0, new_events)
    return fold(PORTFOLIO, portfolio_rules.initial(command.portfolio_id), new_events), len(new_events)


async def apply_to_portfolio(
    uow: UnitOfWork, portfolio_id: str, rule: PortfolioRule, *, if_match: int | None = None
) -> tuple[list[Event], int]:
    """Decide `rule` on the portfolio's current state and append what it decided."""
    loaded = await uow.load(PORTFOLIO, portfolio_id)
    if not loaded.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    if if_match is not None and if_match != loaded.version:
        raise StaleVersion(f"portfolio {portfolio_id}", loaded.version)
    new_events = list(rule(loaded.state, await active_objective_weights(uow.session)))
    state_after = fold(PORTFOLIO, loaded.state, new_events)
    await uow.append(PORTFOLIO, portfolio_id, loaded.version, new_events, state_after)
    await _initiate_projects(uow, new_events)
    return new_events, loaded.version + len(new_events)


async def retrying(attempt: Callable[[], Awaitable[T]], *, retry: bool = True) -> T:
    """Run `attempt` again when it lost a race on a stream; each run decides on the fresh state."""
    for number in range(ATTEMPTS):
        try:
            return await attempt()
        except ConcurrencyConflict:
            if not retry or number == ATTEMPTS - 1:
                raise
            # Jitter, so that writers who collided do not collide again in lockstep.
            await asyncio.sleep(random.uniform(0, 0.01 * (number + 1)))
    raise AssertionError("unreachable")


async def change_portfolio(
    runtime: CommandRuntime, portfolio_id: str, rule: PortfolioRule, meta: Metadata, *, if_match: int | None = None
) -> tuple[list[Event], int]:
    """One command on the portfolio in its own transaction; a lost race is retried on the fresh state.

    With `if_match` the client asked for exactly that version: a change since then is a 412, never retried.
    """

    async def once() -> tuple[list[Event], int]:
        async with runtime.unit_of_work(meta) as uow:
            return await apply_to_portfolio(uow, portfolio_id, rule, if_match=if_match)

    return await retrying(once, retry=if_match is None)


async def _initiate_projects(uow: UnitOfWork, new_events: Sequence[Event]) -> None:
    """An approval initiates the project (same id as the proposal) in the same transaction."""
    for decision in new_events:
        if not isinstance(decision, InvestmentDecided) or decision.outcome != "approve":
            continue
        row = (
            await uow.session.execute(
                select(candidates.c.registration).where(candidates.c.candidate_id == decision.candidate_id)
            )
        ).first()
        if row is None:
            raise NotFound(f"candidate {decision.candidate_id}")
        registration = CandidateRegistered.model_validate(loads(row.registration))
        loaded = await uow.load(PROJECT, decision.candidate_id)
        await uow.append(
            PROJECT, decision.candidate_id, loaded.version, project_rules.initiate(loaded.state, decision, registration)
        )


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


async def register_candidate(uow: UnitOfWork, submitted: ProposalSubmitted) -> None:
    """From intake's event: the proposal becomes (or updates) a candidate of its portfolio."""
    loaded = await uow.load(PORTFOLIO, submitted.portfolio_id)
    new_events = portfolio_rules.register_candidate(loaded.state, submitted)
    state_after = fold(PORTFOLIO, loaded.state, new_events)
    await uow.append(PORTFOLIO, submitted.portfolio_id, loaded.version, new_events, state_after)
