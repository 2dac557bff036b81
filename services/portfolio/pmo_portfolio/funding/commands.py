"""Portfolio command handlers: load → decide (pure domain) → append, in one transaction."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from pmo_events.contracts.base import Event
from pmo_events.runtime import AggregateType, CommandRuntime, ConcurrencyConflict, Metadata, UnitOfWork, fold
from pmo_portfolio.funding.domain import portfolio as portfolio_rules
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio, Portfolio
from pmo_portfolio.shared.errors import NotFound, StaleVersion

PORTFOLIO = AggregateType("portfolio", portfolio_rules.initial, portfolio_rules.evolve, Portfolio)
#: A command that lost a race on the portfolio stream is decided again on the fresh state, up to this often.
ATTEMPTS = 12

T = TypeVar("T")
PortfolioRule = Callable[[Portfolio], Sequence[Event]]


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
    new_events = list(rule(loaded.state))
    state_after = fold(PORTFOLIO, loaded.state, new_events)
    await uow.append(PORTFOLIO, portfolio_id, loaded.version, new_events, state_after)
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
