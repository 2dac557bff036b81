"""The demands view: every demand line and how much of it is covered."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.resourcing import DemandRaised
from pmo_events.envelope import RecordedEvent
from pmo_resourcing.adapters.db.tables import demands


async def project_demand(session: AsyncSession, event: RecordedEvent) -> None:
    if event.type != DemandRaised.type_name():
        return
    raised = event.decode()
    assert isinstance(raised, DemandRaised)
    await session.execute(
        demands.insert().values(
            demand_id=raised.demand_id,
            project_id=raised.project_id,
            role=raised.role,
            fte=format(raised.fte, "f"),
            filled_fte="0",
            start=raised.start,
            end=raised.end,
            status="open",
            raised_at=event.time,
        )
    )
