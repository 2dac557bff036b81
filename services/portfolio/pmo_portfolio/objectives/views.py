"""The objectives view: each strategic objective as of its latest event, written in each command's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.shared.projecting import projects_on

objectives = Table(
    "portfolio_objectives",
    metadata,
    Column("objective_id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("weight", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_objectives_status", objectives.c.status)


def objective_columns(state: objective_rules.Objective, event: RecordedEvent) -> dict[str, Any]:
    """The row's columns besides its key and state after `event` (the rebuild's fold writes the same)."""
    return {
        "title": state.title,
        "status": state.status,
        "weight": format(state.weight, "f"),
        "version": event.sequence,
        "updated_at": event.time,
    }


@projects_on(stream_types=("objective",))
async def update_objectives(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != "objective":
        return
    row = (
        await session.execute(select(objectives.c.state).where(objectives.c.objective_id == event.stream_id))
    ).first()
    state = (
        objective_rules.Objective.model_validate(loads(row.state)) if row else objective_rules.initial(event.stream_id)
    )
    state = objective_rules.evolve(state, event.decode())
    values = {**objective_columns(state, event), "state": state.model_dump_json()}
    if row is None:
        await session.execute(objectives.insert().values(objective_id=event.stream_id, **values))
    else:
        await session.execute(objectives.update().where(objectives.c.objective_id == event.stream_id).values(**values))


PROJECTORS = [update_objectives]
VIEW_TABLES = [objectives]
