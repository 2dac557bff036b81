"""HTTP API of candidates: listing, scoring, ranking and the board's decisions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from pmo_events.runtime import UnitOfWork
from pmo_portfolio.adapters.http.deps import PROBLEMS, Cursor, Limit, service
from pmo_portfolio.adapters.http.problems import DOMAIN_ERRORS, problem_for
from pmo_portfolio.adapters.http.schemas import DecisionRequest, ScoresSubmit
from pmo_portfolio.application import commands, queries
from pmo_portfolio.domain import decisions, scoring
from pmo_portfolio.domain.decisions import DecideInvestment
from pmo_portfolio.domain.errors import NotFound
from pmo_portfolio.domain.ranking import rank
from pmo_portfolio.domain.scoring import ScoreCandidate
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.http import metadata_for
from pmo_servicekit.idempotency import IdempotencyKeyHeader, run_command
from pmo_servicekit.problems import Problem

router = APIRouter(responses=PROBLEMS)
Status = Annotated[
    str | None, Query(pattern="^(awaiting_decision|approved|rejected|deferred|changes_requested|withdrawn)$")
]


@router.get("/portfolios/{portfolio_id}/candidates", tags=["candidates"])
async def list_candidates(
    portfolio_id: str,
    _principal: CurrentPrincipal,
    request: Request,
    status: Status = None,
    limit: Limit = 500,
    cursor: Cursor = None,
) -> dict[str, Any]:
    items, next_cursor = await queries.list_candidates(service(request).db, portfolio_id, status, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/portfolios/{portfolio_id}/candidates/{candidate_id}/scores", status_code=201, tags=["scoring"])
async def score_candidate(
    portfolio_id: str, candidate_id: str, body: ScoresSubmit, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    """A PMO analyst or a board member of THIS portfolio scores every criterion from 1 to 5."""
    command = ScoreCandidate(
        candidate_id=candidate_id,
        assessor=principal.subject,
        assessor_is_analyst=principal.has_any("pmo_analyst"),
        scores=body.scores,
        comment=body.comment,
        scored_at=datetime.now(UTC),
    )
    try:
        new_events, _ = await commands.change_portfolio(
            service(request).commands,
            portfolio_id,
            lambda state, _w: scoring.score(state, command),
            metadata_for(request, principal),
        )
        return {**new_events[0].model_dump(mode="json"), **await _ranked(request, portfolio_id, candidate_id)}
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


async def _ranked(request: Request, portfolio_id: str, candidate_id: str) -> dict[str, Any]:
    """The candidate's standing after the score: means per criterion, weighted score, rank."""
    state, _, weights = await queries.load_portfolio(service(request).db, portfolio_id)
    found = next((r for r in rank(state, weights) if r.candidate_id == candidate_id), None)
    if found is None:
        raise NotFound(f"candidate {candidate_id}")
    return {"standing": _ranking_item(asdict(found))}


def _ranking_item(item: dict[str, Any]) -> dict[str, Any]:
    money = ("total_cost", "financial_benefits")
    scores = ("weighted_score", "strategic_alignment", "value", "value_per_cost")
    out = {k: (format(v, "f") if v is not None and k in money + scores else v) for k, v in item.items()}
    out["id"] = out.pop("candidate_id")
    out["criterion_scores"] = {k: format(v, "f") for k, v in item["criterion_scores"].items()}
    out["costs"] = [c.model_dump(mode="json") for c in item["costs"]]
    out["dependencies"] = list(item["dependencies"])
    return out


@router.get("/portfolios/{portfolio_id}/ranking", tags=["scoring"])
async def ranking(portfolio_id: str, _principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    """Undecided candidates by weighted score, with strategic alignment, cost per period and value per cost."""
    try:
        state, version, weights = await queries.load_portfolio(service(request).db, portfolio_id)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc
    model = state.scoring_model
    return {
        "portfolio_id": portfolio_id,
        "as_of_version": version,
        "criteria": [c.model_dump(mode="json") for c in model.criteria] if model else [],
        "items": [_ranking_item(asdict(r)) for r in rank(state, weights)],
    }


@router.post("/portfolios/{portfolio_id}/decisions", status_code=201, tags=["decisions"])
async def decide(
    portfolio_id: str,
    body: DecisionRequest,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A board member of THIS portfolio decides a candidate; approvals stay within the envelope."""
    command = DecideInvestment(
        candidate_id=body.candidate_id,
        outcome=body.outcome,
        rationale=body.rationale,
        decided_by=principal.subject,
        decided_at=datetime.now(UTC),
        approved_budget=tuple(body.approved_budget),
        review_on=body.review_on.isoformat() if body.review_on else None,
    )

    async def action(uow: UnitOfWork) -> Response:
        new_events, _ = await commands.apply_to_portfolio(
            uow, portfolio_id, lambda state, weights: decisions.decide(state, command, weights)
        )
        decision = new_events[0].model_dump(mode="json")
        location = f"/portfolios/{portfolio_id}/decisions/{decision['decision_id']}"
        return JSONResponse(
            {"id": decision["decision_id"], **decision}, status_code=201, headers={"Location": location}
        )

    runtime = service(request).commands
    meta = metadata_for(request, principal)
    try:
        return await commands.retrying(lambda: run_command(runtime, meta, request, principal, action))
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


@router.get("/portfolios/{portfolio_id}/decisions", tags=["decisions"])
async def list_decisions(
    portfolio_id: str,
    _principal: CurrentPrincipal,
    request: Request,
    candidate_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    cursor: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """The decision audit trail, oldest first: who, when, why, and the evidence in front of the board."""
    items, next_cursor = await queries.list_decisions(service(request).db, portfolio_id, candidate_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/portfolios/{portfolio_id}/decisions/{decision_id}", tags=["decisions"])
async def read_decision(portfolio_id: str, decision_id: str, _principal: CurrentPrincipal, request: Request) -> Any:
    found = await queries.get_decision(service(request).db, portfolio_id, decision_id)
    if found is None:
        raise Problem(404, "not-found", f"no decision {decision_id} in portfolio {portfolio_id}")
    return found
