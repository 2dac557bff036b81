"""RAID queries: one item with its score history, the log filtered by level, kind and status, the 5x5 heatmap."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import LevelTolerance
from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio import funding
from pmo_portfolio.raid.domain import RaidItem
from pmo_portfolio.raid.views import raid_items
from pmo_portfolio.shared.errors import NotFound
from pmo_servicekit.contract.wire import money_text


def item_view(item: RaidItem, today: date, currency: str | None) -> dict[str, Any]:
    """The item as clients see it; its cost impact at the portfolio's currency scale."""
    state = item.model_dump(mode="json", exclude={"raid_item_id", "exists"})
    state["cost_impact"] = None if item.cost_impact is None else money_text(item.cost_impact, currency)
    overdue = [a.action_id for a in item.actions if not a.done and a.due_on < today]
    return {"id": item.raid_item_id, **state, "overdue_actions": overdue}


def tolerance_view(tolerance: LevelTolerance, currency: str | None) -> dict[str, Any]:
    """A level's tolerance; its cost at the portfolio's currency scale."""
    cost = None if tolerance.cost is None else money_text(tolerance.cost, currency)
    return {**tolerance.model_dump(mode="json"), "cost": cost}


async def currency_in(session: AsyncSession, portfolio_id: str) -> str | None:
    found = (await funding.portfolio_states(session, {portfolio_id})).get(portfolio_id)
    return found.currency if found else None


async def get_item(db: Database, portfolio_id: str, raid_item_id: str, today: date) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(raid_items.c.state, raid_items.c.version).where(
                    raid_items.c.raid_item_id == raid_item_id, raid_items.c.portfolio_id == portfolio_id
                )
            )
        ).first()
        currency = await currency_in(session, portfolio_id)
    if row is None:
        raise NotFound(f"RAID item {raid_item_id}")
    found = item_view(RaidItem.model_validate(loads(row.state)), today, currency)
    return {**found, "version": row.version}, row.version


async def list_items(
    db: Database, portfolio_id: str, filters: dict[str, Any], limit: int, after: str | None, today: date
) -> list[dict[str, Any]]:
    """By id; filters are exact matches on kind, level, level_id, status and escalated."""
    query = select(raid_items.c.state).where(raid_items.c.portfolio_id == portfolio_id)
    for name, value in filters.items():
        if value is not None:
            query = query.where(raid_items.c[name] == value)
    if after:
        query = query.where(raid_items.c.raid_item_id > after)
    query = query.order_by(raid_items.c.raid_item_id).limit(limit)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
        currency = await currency_in(session, portfolio_id)
    return [item_view(RaidItem.model_validate(loads(r.state)), today, currency) for r in rows]


async def heatmap(db: Database, portfolio_id: str, level: str | None, level_id: str | None, top: int) -> dict[str, Any]:
    """Open risks on the 5x5 grid (probability x impact: how many and which), the top risks by score."""
    query = select(raid_items.c.state).where(
        raid_items.c.portfolio_id == portfolio_id, raid_items.c.kind == "risk", raid_items.c.status == "open"
    )
    if level:
        query = query.where(raid_items.c.level == level)
    if level_id:
        query = query.where(raid_items.c.level_id == level_id)
    async with db.sessions() as session:
        risks = [RaidItem.model_validate(loads(r.state)) for r in (await session.execute(query)).all()]
    cells = [
        {
            "probability": p,
            "impact": i,
            "count": len(ids := sorted(r.raid_item_id for r in risks if (r.probability, r.impact) == (p, i))),
            "raid_item_ids": ids,
        }
        for p in range(5, 0, -1)
        for i in range(1, 6)
    ]
    ranked = sorted(risks, key=lambda r: (-(r.score or 0), r.raid_item_id))[:top]
    return {
        "portfolio_id": portfolio_id,
        "level": level,
        "level_id": level_id,
        "cells": cells,
        "top_risks": [
            {
                "id": r.raid_item_id,
                "title": r.title,
                "score": r.score,
                "owner": r.owner,
                "level": r.level,
                "level_id": r.level_id,
                "escalated": r.escalated,
            }
            for r in ranked
        ],
    }
