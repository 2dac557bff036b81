"""What intake does with the portfolio service's events: learn portfolios, mirror decisions."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import InvestmentDecided, PortfolioCreated
from pmo_events.envelope import RecordedEvent, dumps
from pmo_events.runtime import CommandRuntime, Metadata
from pmo_events.runtime.subscription import Handler
from pmo_intake.adapters.db.tables import known_portfolios
from pmo_intake.application.commands import record_portfolio_decision


def make_handler(commands: CommandRuntime) -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        if event.type == PortfolioCreated.type_name():
            await _learn_portfolio(session, event.decode())  # type: ignore[arg-type]
        elif event.type == InvestmentDecided.type_name():
            decided = event.decode()
            assert isinstance(decided, InvestmentDecided)
            meta = Metadata(
                actor=decided.decided_by,
                correlation_id=event.correlation_id,
                causation_id=event.event_id,
                traceparent=event.traceparent,
            )
            async with commands.in_session(session, meta) as uow:
                await record_portfolio_decision(
                    uow,
                    decided.proposal_id,
                    outcome=decided.outcome,
                    rationale=decided.rationale,
                    decided_by=decided.decided_by,
                    decided_at=decided.decided_at,
                    decision_event_id=event.event_id,
                )

    return handle


async def _learn_portfolio(session: AsyncSession, created: PortfolioCreated) -> None:
    await session.execute(delete(known_portfolios).where(known_portfolios.c.portfolio_id == created.portfolio_id))
    await session.execute(
        known_portfolios.insert().values(
            portfolio_id=created.portfolio_id,
            name=created.name,
            fiscal_periods=dumps(sorted(b.fiscal_period for b in created.budget)).decode(),
        )
    )
