"""Dependency queries: a portfolio's dependencies (filtered by project and at-risk flag) and its graph."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import ProgrammeMilestone
from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio import delivery, funding, programmes
from pmo_portfolio.dependencies.commands import milestone_status
from pmo_portfolio.dependencies.domain import Dependency
from pmo_portfolio.dependencies.views import dependencies
from pmo_portfolio.shared.errors import NotFound


async def _existing(session: AsyncSession, portfolio_id: str) -> None:
    """A portfolio that does not exist has no graph to show: 404, as registering on it is."""
    if portfolio_id not in await funding.portfolio_states(session, {portfolio_id}):
        raise NotFound(f"portfolio {portfolio_id}")


def dependency_view(portfolio_id: str, d: Dependency) -> dict[str, Any]:
    return {"id": d.dependency_id, "portfolio_id": portfolio_id, **d.model_dump(mode="json", exclude={"dependency_id"})}


async def list_dependencies(
    db: Database,
    portfolio_id: str,
    *,
    project_id: str | None,
    at_risk: bool | None,
    limit: int,
    after: str | None,
) -> list[dict[str, Any]]:
    """Up to `limit` dependencies in id order after `after`; `project_id` matches either end."""
    query = select(dependencies.c.state).where(dependencies.c.portfolio_id == portfolio_id)
    if project_id:
        query = query.where(
            or_(dependencies.c.dependent_project_id == project_id, dependencies.c.provider_project_id == project_id)
        )
    if at_risk is not None:
        query = query.where(dependencies.c.at_risk == at_risk)
    if after:
        query = query.where(dependencies.c.dependency_id > after)
    query = query.order_by(dependencies.c.dependency_id).limit(limit)
    async with db.sessions() as session:
        await _existing(session, portfolio_id)
        rows = (await session.execute(query)).all()
    return [dependency_view(portfolio_id, Dependency.model_validate(loads(r.state))) for r in rows]


async def dependency_graph(db: Database, portfolio_id: str) -> dict[str, Any]:
    """Nodes (the projects at either end, with their status and forecast end, then the programme milestones
    depended on, with their tranche's end) and edges (dependent → provider, with the need date and the at-risk
    flag), for a front end to draw."""
    async with db.sessions() as session:
        await _existing(session, portfolio_id)
        rows = (
            await session.execute(select(dependencies.c.state).where(dependencies.c.portfolio_id == portfolio_id))
        ).all()
        edges = sorted(
            (Dependency.model_validate(loads(r.state)) for r in rows), key=lambda d: (d.need_date, d.dependency_id)
        )
        ids = {d.dependent_project_id for d in edges} | {d.provider_project_id for d in edges if d.provider_project_id}
        projects = await delivery.project_states(session, ids)
        milestones = {d.provider_milestone for d in edges if d.provider_milestone}
        programme_states = await programmes.programme_states(session, {m.programme_id for m in milestones})
    at_risk = {d.dependent_project_id for d in edges if d.at_risk}
    nodes = [
        {
            "kind": "project",
            "project_id": project_id,
            "title": projects[project_id].title if project_id in projects else None,
            "status": projects[project_id].status if project_id in projects else None,
            "forecast_end": _iso(projects[project_id].forecast()) if project_id in projects else None,
            "at_risk": project_id in at_risk,
        }
        for project_id in sorted(ids)
    ]
    nodes.extend(
        milestone_node(m, programme_states.get(m.programme_id))
        for m in sorted(milestones, key=lambda m: (m.programme_id, m.tranche_id))
    )
    return {
        "portfolio_id": portfolio_id,
        "nodes": nodes,
        "edges": [dependency_view(portfolio_id, d) for d in edges],
    }


def milestone_node(milestone: ProgrammeMilestone, programme: programmes.Programme | None) -> dict[str, Any]:
    tranche = programme.tranches.get(milestone.tranche_id) if programme else None
    return {
        "kind": "milestone",
        "milestone": milestone.model_dump(mode="json"),
        "title": f"{programme.name}: end of {tranche.name}" if programme and tranche else None,
        "status": milestone_status(programme, tranche) if programme and tranche else None,
        "forecast_end": _iso(tranche.end) if tranche else None,
        "at_risk": False,
    }


def _iso(day: Any) -> str | None:
    return day.isoformat() if day is not None else None
