"""The saved scenarios, in the order they were saved, written in the saving command's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import ScenarioSaved
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_portfolio.shared.projecting import projects_on

scenarios = Table(
    "portfolio_scenarios",
    metadata,
    Column("scenario_id", String(36), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("portfolio_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    # Text (portfolio_0011): events from before session 10 hold subjects of any length (the edge takes 200).
    Column("saved_by", Text, nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False),
)
Index("ix_portfolio_scenarios_portfolio", scenarios.c.portfolio_id, scenarios.c.position)


@projects_on(ScenarioSaved)
async def record_scenarios(session: AsyncSession, event: RecordedEvent) -> None:
    decoded = event.decode()
    if isinstance(decoded, ScenarioSaved):
        await session.execute(scenarios.insert().values(**scenario_row(decoded, event)))


def scenario_row(saved: ScenarioSaved, event: RecordedEvent) -> dict[str, Any]:
    return {
        "scenario_id": saved.scenario_id,
        "position": event.position or 0,
        "portfolio_id": saved.portfolio_id,
        "name": saved.name,
        "saved_by": saved.saved_by,
        "saved_at": saved.saved_at,
        "payload": saved.model_dump_json(),
    }


PROJECTORS = [record_scenarios]
VIEW_TABLES = [scenarios]
