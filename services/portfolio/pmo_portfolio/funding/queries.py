"""Portfolio queries, answered from the service's own views."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio.adapters.db.tables import candidates, decisions, objectives, portfolios, scenarios
from pmo_portfolio.application.commands import active_objective_weights
from pmo_portfolio.domain.envelope import remaining_envelope
from pmo_portfolio.domain.errors import NotFound
from pmo_portfolio.domain.portfolio import Portfolio

Page = tuple[list[dict[str, Any]], str | None]


async def load_portfolio(db: Database, portfolio_id: str) -> tuple[Portfolio, int, dict[str, Decimal]]:
    """The portfolio's state as of its latest event, and today's active objective weights."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(portfolios.c.state, portfolios.c.version).where(portfolios.c.portfolio_id == portfolio_id)
            )
        ).first()
        weights = await active_objective_weights(session)
    if row is None:
        raise NotFound(f"portfolio {portfolio_id}")
    return Portfolio.model_validate(loads(row.state)), row.version, weights


def portfolio_view(state: Portfolio) -> dict[str, Any]:
    model = state.scoring_model
    return {
        "id": state.portfolio_id,
        "name": state.name,
        "currency": state.currency,
        "owner": state.owner,
        "board_members": list(state.board_members),
        "budget": [p.model_dump(mode="json") for p in remaining_envelope(state.budget, state.committed)],
        "scoring_model": model.model_dump(mode="json") if model else None,
        "candidates": len(state.candidates),
    }


async def get_portfolio(db: Database, portfolio_id: str) -> tuple[dict[str, Any], int]:
    state, version, _ = await load_portfolio(db, portfolio_id)
    return portfolio_view(state), version


async def list_portfolios(db: Database, limit: int, cursor: str | None) -> Page:
    query = select(portfolios.c.state).order_by(portfolios.c.portfolio_id).limit(limit + 1)
    if cursor:
        query = query.where(portfolios.c.portfolio_id > cursor)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    items = [portfolio_view(Portfolio.model_validate(loads(r.state))) for r in rows[:limit]]
    return items, items[-1]["id"] if len(rows) > limit else None


async def list_candidates(
    db: Database, portfolio_id: str, status: str | None, limit: int = 500, cursor: str | None = None
) -> Page:
    query = (
        select(candidates)
        .where(candidates.c.portfolio_id == portfolio_id)
        .order_by(candidates.c.candidate_id)
        .limit(limit + 1)
    )
    if status:
        query = query.where(candidates.c.status == status)
    if cursor:
        query = query.where(candidates.c.candidate_id > cursor)
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    items = [
        {
            "id": r["candidate_id"],
            "status": r["status"],
            "title": r["title"],
            "submission": r["submission"],
            "costs": loads(r["registration"]).get("costs", []),
            "objective_contributions": loads(r["registration"]).get("objective_contributions", []),
            "decision": loads(r["decision"]) if r["decision"] else None,
        }
        for r in rows[:limit]
    ]
    return items, items[-1]["id"] if len(rows) > limit else None


async def list_decisions(
    db: Database, portfolio_id: str, candidate_id: str | None, limit: int, cursor: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """The board's decisions in the order they were taken (the audit trail), oldest first."""
    query = (
        select(decisions.c.position, decisions.c.payload)
        .where(decisions.c.portfolio_id == portfolio_id)
        .order_by(decisions.c.position)
        .limit(limit + 1)
    )
    if candidate_id:
        query = query.where(decisions.c.candidate_id == candidate_id)
    if cursor is not None:
        query = query.where(decisions.c.position > cursor)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    items = [{"id": loads(r.payload)["decision_id"], **loads(r.payload)} for r in rows[:limit]]
    return items, rows[limit - 1].position if len(rows) > limit else None


async def get_decision(db: Database, portfolio_id: str, decision_id: str) -> dict[str, Any] | None:
    query = select(decisions.c.payload).where(
        decisions.c.portfolio_id == portfolio_id, decisions.c.decision_id == decision_id
    )
    async with db.sessions() as session:
        row = (await session.execute(query)).first()
    return {"id": decision_id, **loads(row.payload)} if row else None


async def list_scenarios(db: Database, portfolio_id: str) -> list[dict[str, Any]]:
    query = select(scenarios.c.payload).where(scenarios.c.portfolio_id == portfolio_id).order_by(scenarios.c.position)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [{"id": loads(r.payload)["scenario_id"], **loads(r.payload)} for r in rows]


def objective_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": state["objective_id"],
        "title": state["title"],
        "description": state["description"],
        "weight": state["weight"],
        "period": {"start": state["period_start"], "end": state["period_end"]},
        "status": state["status"],
        "retired_reason": state.get("retired_reason"),
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


async def list_objectives(db: Database, status: str | None, limit: int, cursor: str | None) -> Page:
    query = select(objectives.c.state).order_by(objectives.c.objective_id).limit(limit + 1)
    if status:
        query = query.where(objectives.c.status == status)
    if cursor:
        query = query.where(objectives.c.objective_id > cursor)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    items = [objective_view(loads(r.state)) for r in rows[:limit]]
    return items, items[-1]["id"] if len(rows) > limit else None
