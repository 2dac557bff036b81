"""Strategic objective queries, and the weights of today's strategy that candidates are aligned with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.objectives.views import objectives
from pmo_portfolio.shared.errors import NotFound


async def active_objective_weights(session: AsyncSession, portfolio_id: str) -> dict[str, Decimal]:
    """Objective id → weight, for every active objective of the portfolio's strategy: its own and the
    organisation-wide ones (retired ones, and other portfolios' own, count for nothing)."""
    rows = await session.execute(select(objectives.c.state).where(objectives.c.status == "active"))
    active = (objective_rules.Objective.model_validate(loads(row.state)) for row in rows)
    return {o.objective_id: o.weight for o in active if o.applies_to(portfolio_id)}


def objective_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": state["objective_id"],
        "title": state["title"],
        "description": state["description"],
        "weight": state["weight"],
        "period": {"start": state["period_start"], "end": state["period_end"]},
        "status": state["status"],
        "retired_reason": state.get("retired_reason"),
        "portfolio_ids": state.get("portfolio_ids", []),
    }


async def get_objective(db: Database, objective_id: str) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(objectives.c.state, objectives.c.version).where(objectives.c.objective_id == objective_id)
            )
        ).first()
    if row is None:
        raise NotFound(f"objective {objective_id}")
    return objective_view(loads(row.state)), row.version


async def list_objectives(db: Database, status: str | None, limit: int, after: str | None) -> list[dict[str, Any]]:
    """Up to `limit` objectives in id order, after the id `after`."""
    query = select(objectives.c.state).order_by(objectives.c.objective_id).limit(limit)
    if status:
        query = query.where(objectives.c.status == status)
    if after:
        query = query.where(objectives.c.objective_id > after)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [objective_view(loads(r.state)) for r in rows]
