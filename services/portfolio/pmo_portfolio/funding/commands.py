"""Portfolio command handlers: load → decide (pure domain) → append, in the caller's unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.runtime import AggregateType, Changed, UnitOfWork, fold
from pmo_portfolio.funding.domain import portfolio as portfolio_rules
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio, Portfolio
from pmo_portfolio.funding.queries import portfolio_view
from pmo_portfolio.shared.errors import NotFound

PORTFOLIO = AggregateType(
    "portfolio",
    portfolio_rules.initial,
    portfolio_rules.evolve,
    Portfolio,
    evolve_owned=portfolio_rules.evolve_owned,
    keep=True,
    own=portfolio_rules.own,
)
PortfolioRule = Callable[[Portfolio], Sequence[Event]]


async def create_portfolio(uow: UnitOfWork, command: CreatePortfolio) -> Changed[Portfolio]:
    new_events = portfolio_rules.create(command)
    await uow.append(PORTFOLIO, command.portfolio_id, 0, new_events)
    state = fold(PORTFOLIO, portfolio_rules.initial(command.portfolio_id), new_events)
    return Changed(state, len(new_events), tuple(new_events))


async def apply_to_portfolio(
    uow: UnitOfWork, portfolio_id: str, rule: PortfolioRule, *, if_match: int | None = None
) -> Changed[Portfolio]:
    """Decide `rule` on the portfolio's current state and append what it decided (a 412 when `if_match` is old)."""
    loaded = await uow.load(PORTFOLIO, portfolio_id)
    if not loaded.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    loaded.expect(if_match, f"portfolio {portfolio_id}")
    new_events = tuple(rule(loaded.state))
    state_after = fold(PORTFOLIO, loaded.state, new_events)
    await uow.append(PORTFOLIO, portfolio_id, loaded.version, new_events, state_after)
    return Changed(state_after, loaded.version + len(new_events), new_events)


async def change_portfolio(
    uow: UnitOfWork, portfolio_id: str, rule: PortfolioRule, *, if_match: int | None = None
) -> tuple[dict[str, Any], int]:
    """`apply_to_portfolio`, answered with the portfolio as it is after the change, and its version."""
    changed = await apply_to_portfolio(uow, portfolio_id, rule, if_match=if_match)
    return {**portfolio_view(changed.state), "version": changed.version}, changed.version
