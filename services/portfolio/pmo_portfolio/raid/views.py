"""The RAID log view: each risk, assumption and issue as of its latest event, where it sits now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_portfolio.raid import domain as raid_rules
from pmo_portfolio.shared.projecting import projects_on

raid_items = Table(
    "portfolio_raid_items",
    metadata,
    Column("raid_item_id", String(36), primary_key=True),
    Column("portfolio_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("level", String(16), nullable=False),
    Column("level_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("score", Integer, nullable=True),
    Column("escalated", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_raid_items_portfolio", raid_items.c.portfolio_id)


def raid_columns(state: raid_rules.RaidItem, event: RecordedEvent) -> dict[str, Any]:
    """The row's columns besides its key and state after `event` (the rebuild's fold writes the same)."""
    return {
        "portfolio_id": state.portfolio_id,
        "kind": state.kind,
        "level": state.level,
        "level_id": state.level_id,
        "status": state.status,
        "score": state.score,
        "escalated": state.escalated,
        "version": event.sequence,
        "updated_at": event.time,
    }


@projects_on(stream_types=("raid_item",))
async def update_raid_items(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != "raid_item":
        return
    row = (
        await session.execute(select(raid_items.c.state).where(raid_items.c.raid_item_id == event.stream_id))
    ).first()
    state = raid_rules.RaidItem.model_validate(loads(row.state)) if row else raid_rules.initial(event.stream_id)
    state = raid_rules.evolve(state, event.decode())
    values = {**raid_columns(state, event), "state": state.model_dump_json()}
    if row is None:
        await session.execute(raid_items.insert().values(raid_item_id=event.stream_id, **values))
    else:
        await session.execute(raid_items.update().where(raid_items.c.raid_item_id == event.stream_id).values(**values))


PROJECTORS = [update_raid_items]
VIEW_TABLES = [raid_items]
