"""Resourcing's handlers: demand raised from the portfolio's events; queries on the demand view."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import ProjectInitiated
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, CommandRuntime, Database, Metadata
from pmo_events.runtime.subscription import Handler
from pmo_resourcing.adapters.db.tables import demands
from pmo_resourcing.domain import demand as rules

PROJECT_DEMAND = AggregateType("project_demand", rules.initial, rules.evolve, rules.ProjectDemand)


def make_handler(commands: CommandRuntime) -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        if event.type != ProjectInitiated.type_name():
            return
        initiated = event.decode()
        assert isinstance(initiated, ProjectInitiated)
        meta = Metadata(actor=event.actor, correlation_id=event.correlation_id, causation_id=event.event_id)
        async with commands.in_session(session, meta) as uow:
            loaded = await uow.load(PROJECT_DEMAND, initiated.project_id)
            await uow.append(
                PROJECT_DEMAND, initiated.project_id, loaded.version, rules.raise_demand(loaded.state, initiated)
            )

    return handle


async def list_demands(
    db: Database, *, project_id: str | None, role: str | None, status: str | None
) -> list[dict[str, Any]]:
    query = select(demands).order_by(demands.c.project_id, demands.c.demand_id)
    if project_id:
        query = query.where(demands.c.project_id == project_id)
    if role:
        query = query.where(demands.c.role == role)
    if status:
        query = query.where(demands.c.status == status)
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [
        {
            "id": r["demand_id"],
            "project_id": r["project_id"],
            "role": r["role"],
            "fte": r["fte"],
            "filled_fte": r["filled_fte"],
            "start": r["start"].isoformat(),
            "end": r["end"].isoformat(),
            "status": r["status"],
        }
        for r in rows
    ]
