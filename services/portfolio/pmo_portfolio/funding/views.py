"""The portfolio view: each portfolio's state as of its latest event, written in each command's transaction."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent, dumps, loads
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_portfolio.funding.domain import portfolio as portfolio_rules

portfolios = Table(
    "portfolio_portfolios",
    metadata,
    Column("portfolio_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)


async def update_portfolios(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != "portfolio":
        return
    row = (
        await session.execute(select(portfolios.c.state).where(portfolios.c.portfolio_id == event.stream_id))
    ).first()
    state = (
        portfolio_rules.Portfolio.model_validate(loads(row.state)) if row else portfolio_rules.initial(event.stream_id)
    )
    state = portfolio_rules.evolve(state, event.decode())
    values = {
        "name": state.name,
        "version": event.sequence,
        "state": dumps(state.model_dump(mode="json")).decode(),
        "updated_at": event.time,
    }
    if row is None:
        await session.execute(portfolios.insert().values(portfolio_id=event.stream_id, **values))
    else:
        await session.execute(portfolios.update().where(portfolios.c.portfolio_id == event.stream_id).values(**values))


PROJECTORS = [update_portfolios]
VIEW_TABLES = [portfolios]
