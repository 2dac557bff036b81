"""Portfolio queries, answered from the service's own views."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio.adapters.db.tables import candidates, portfolios, projects
from pmo_portfolio.domain.envelope import remaining_envelope
from pmo_portfolio.domain.errors import NotFound


async def get_portfolio(db: Database, portfolio_id: str) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(portfolios.c.state, portfolios.c.version).where(portfolios.c.portfolio_id == portfolio_id)
            )
        ).first()
    if row is None:
        raise NotFound(f"portfolio {portfolio_id}")
    state = loads(row.state)
    budget = {k: Decimal(v) for k, v in state["budget"].items()}
    committed = {k: Decimal(v) for k, v in state["committed"].items()}
    view = {
        "id": state["portfolio_id"],
        "name": state["name"],
        "currency": state["currency"],
        "owner": state["owner"],
        "board_members": state["board_members"],
        "budget": [p.model_dump(mode="json") for p in remaining_envelope(budget, committed)],
    }
    return view, row.version


async def list_candidates(db: Database, portfolio_id: str, status: str | None) -> list[dict[str, Any]]:
    query = select(candidates).where(candidates.c.portfolio_id == portfolio_id).order_by(candidates.c.candidate_id)
    if status:
        query = query.where(candidates.c.status == status)
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [
        {
            "id": r["candidate_id"],
            "status": r["status"],
            "title": r["title"],
            "submission": r["submission"],
            "costs": loads(r["registration"]).get("costs", []),
            "decision": loads(r["decision"]) if r["decision"] else None,
        }
        for r in rows
    ]


async def get_project(db: Database, project_id: str) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(projects.c.state, projects.c.version).where(projects.c.project_id == project_id)
            )
        ).first()
    if row is None:
        raise NotFound(f"project {project_id}")
    state = loads(row.state)
    state["id"] = state.pop("project_id")
    return state, row.version
