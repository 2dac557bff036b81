"""Portfolio queries, answered from the portfolio view: the envelope per period, the board, the settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio.funding.domain.envelope import remaining_envelope
from pmo_portfolio.funding.domain.portfolio import Portfolio
from pmo_portfolio.funding.views import portfolios
from pmo_portfolio.shared.errors import NotFound
from pmo_servicekit.contract.wire import money_text


async def load_portfolio_in(session: AsyncSession, portfolio_id: str) -> tuple[Portfolio, int]:
    """The portfolio's state as of its latest event, and that event's version."""
    query = select(portfolios.c.state, portfolios.c.version).where(portfolios.c.portfolio_id == portfolio_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"portfolio {portfolio_id}")
    return Portfolio.model_validate(loads(row.state)), row.version


async def lock_portfolio(session: AsyncSession, portfolio_id: str) -> None:
    """Hold the portfolio's row in the view until the transaction ends (`SELECT ... FOR UPDATE`): a command
    whose rule reads what several streams of the portfolio hold (the programmes' ring-fences) then runs one
    at a time per portfolio, and reads what the one before it committed. SQLite writes one at a time anyway."""
    await session.execute(
        select(portfolios.c.portfolio_id).where(portfolios.c.portfolio_id == portfolio_id).with_for_update()
    )


async def load_portfolio(db: Database, portfolio_id: str) -> tuple[Portfolio, int]:
    async with db.sessions() as session:
        return await load_portfolio_in(session, portfolio_id)


async def portfolio_ids(session: AsyncSession) -> list[str]:
    """Every portfolio's id, in id order (a sweep over the portfolios, such as the due review cycles)."""
    query = select(portfolios.c.portfolio_id).order_by(portfolios.c.portfolio_id)
    return [row.portfolio_id for row in await session.execute(query)]


async def portfolio_states(session: AsyncSession, portfolio_ids: set[str]) -> dict[str, Portfolio]:
    """Several portfolios at once (a list of projects needs each one's review cadence)."""
    query = select(portfolios.c.state).where(portfolios.c.portfolio_id.in_(portfolio_ids))
    found = [Portfolio.model_validate(loads(row.state)) for row in await session.execute(query)]
    return {p.portfolio_id: p for p in found}


def portfolio_view(state: Portfolio) -> dict[str, Any]:
    model = state.scoring_model
    return {
        "id": state.portfolio_id,
        "name": state.name,
        "currency": state.currency,
        "owner": state.owner,
        "board_members": list(state.board_members),
        "charter": _charter_view(state),
        "budget": [
            {name: money_text(value, state.currency) if name != "fiscal_period" else value for name, value in p}
            for p in remaining_envelope(state.budget, state.committed)
        ],
        "scoring_model": model.model_dump(mode="json") if model else None,
        "candidates": len(state.candidates),
    }


def _charter_view(state: Portfolio) -> dict[str, Any] | None:
    """The board's charter; the delegated threshold at the currency's scale."""
    if state.charter is None:
        return None
    body = state.charter.model_dump(mode="json")
    delegation = state.charter.delegated_authority
    if delegation is not None:
        body["delegated_authority"]["up_to"] = money_text(delegation.up_to, state.currency)
    return body


async def get_portfolio(db: Database, portfolio_id: str) -> tuple[dict[str, Any], int]:
    state, version = await load_portfolio(db, portfolio_id)
    return portfolio_view(state), version


async def list_portfolios(db: Database, limit: int, after: str | None) -> list[dict[str, Any]]:
    """Up to `limit` portfolios in id order, after the id `after`."""
    query = select(portfolios.c.state).order_by(portfolios.c.portfolio_id).limit(limit)
    if after:
        query = query.where(portfolios.c.portfolio_id > after)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [portfolio_view(Portfolio.model_validate(loads(r.state))) for r in rows]
