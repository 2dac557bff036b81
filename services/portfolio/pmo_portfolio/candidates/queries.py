"""Candidate queries: the candidates of a portfolio, their ranking, and the board's decision log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import CandidateRegistered
from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio.candidates.domain.assessments import Assessment, Scorecard
from pmo_portfolio.candidates.domain.ranking import RankedCandidate, rank
from pmo_portfolio.candidates.views import assessments, candidates, decisions
from pmo_portfolio.funding import load_portfolio_in
from pmo_portfolio.objectives import active_objective_weights
from pmo_portfolio.shared.errors import NotFound
from pmo_servicekit.contract.wire import money_text


async def list_candidates(
    db: Database, portfolio_id: str, status: str | None, limit: int = 500, after: str | None = None
) -> list[dict[str, Any]]:
    """Up to `limit` candidates of the portfolio in id order, after the id `after`."""
    query = (
        select(candidates)
        .where(candidates.c.portfolio_id == portfolio_id)
        .order_by(candidates.c.candidate_id)
        .limit(limit)
    )
    if status:
        query = query.where(candidates.c.status == status)
    if after:
        query = query.where(candidates.c.candidate_id > after)
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
        for r in rows
    ]
    return items


async def list_decisions(
    db: Database, portfolio_id: str, candidate_id: str | None, limit: int, after: int | None
) -> list[tuple[int, dict[str, Any]]]:
    """Up to `limit` of the board's decisions in the order they were taken (the audit trail), oldest first,
    after the position `after`: (position, decision)."""
    query = (
        select(decisions.c.position, decisions.c.payload)
        .where(decisions.c.portfolio_id == portfolio_id)
        .order_by(decisions.c.position)
        .limit(limit)
    )
    if candidate_id:
        query = query.where(decisions.c.candidate_id == candidate_id)
    if after is not None:
        query = query.where(decisions.c.position > after)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [(r.position, {"id": loads(r.payload)["decision_id"], **loads(r.payload)}) for r in rows]


async def get_decision(db: Database, portfolio_id: str, decision_id: str) -> dict[str, Any] | None:
    query = select(decisions.c.payload).where(
        decisions.c.portfolio_id == portfolio_id, decisions.c.decision_id == decision_id
    )
    async with db.sessions() as session:
        row = (await session.execute(query)).first()
    return {"id": decision_id, **loads(row.payload)} if row else None


async def registration(session: AsyncSession, candidate_id: str) -> CandidateRegistered:
    """The candidate as the proposal registered it (its latest submission)."""
    query = select(candidates.c.registration).where(candidates.c.candidate_id == candidate_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"candidate {candidate_id}")
    return CandidateRegistered.model_validate(loads(row.registration))


def ranking_item(ranked: RankedCandidate, currency: str | None = None) -> dict[str, Any]:
    """A ranked candidate as clients see it: money at the portfolio's currency scale, scores as given."""
    item = asdict(ranked)
    money = ("total_cost", "financial_benefits")
    scores = ("weighted_score", "strategic_alignment", "value", "value_per_cost")
    out = {k: (format(v, "f") if v is not None and k in scores else v) for k, v in item.items()}
    out.update({k: money_text(item[k], currency) for k in money})
    out["id"] = out.pop("candidate_id")
    out["criterion_scores"] = {k: format(v, "f") for k, v in item["criterion_scores"].items()}
    out["costs"] = [{"fiscal_period": c.fiscal_period, "amount": money_text(c.amount, currency)} for c in item["costs"]]
    out["dependencies"] = list(item["dependencies"])
    return out


async def scorecard(session: AsyncSession, portfolio_id: str) -> Scorecard:
    """The portfolio's candidates' assessments (each assessor's latest) and today's objective weights."""
    query = select(assessments.c.candidate_id, assessments.c.assessor, assessments.c.assessment).where(
        assessments.c.portfolio_id == portfolio_id
    )
    found: dict[str, dict[str, Assessment]] = {}
    for row in await session.execute(query):
        found.setdefault(row.candidate_id, {})[row.assessor] = Assessment.model_validate(loads(row.assessment))
    return Scorecard(found, await active_objective_weights(session, portfolio_id))


async def ranking(session: AsyncSession, portfolio_id: str) -> dict[str, Any]:
    """Undecided candidates, best first, with the portfolio's criteria and the version ranked."""
    state, version = await load_portfolio_in(session, portfolio_id)
    board_scores = await scorecard(session, portfolio_id)
    model = state.scoring_model
    return {
        "portfolio_id": portfolio_id,
        "as_of_version": version,
        "criteria": [c.model_dump(mode="json") for c in model.criteria] if model else [],
        "items": [ranking_item(r, state.currency) for r in rank(state, board_scores)],
    }


async def standing(session: AsyncSession, portfolio_id: str, candidate_id: str) -> dict[str, Any]:
    """One candidate's place in the ranking: means per criterion, weighted score, rank."""
    ranked = await ranking(session, portfolio_id)
    found = next((item for item in ranked["items"] if item["id"] == candidate_id), None)
    if found is None:
        raise NotFound(f"candidate {candidate_id}")
    return found
