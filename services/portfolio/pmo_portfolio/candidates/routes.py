"""HTTP API of candidates: listing, the scoring model, scores, ranking and the board's decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from pmo_events.runtime import UnitOfWork
from pmo_portfolio import funding
from pmo_portfolio.candidates import commands, queries
from pmo_portfolio.candidates.domain import scoring
from pmo_portfolio.candidates.domain.decisions import DecideInvestment
from pmo_portfolio.candidates.domain.scoring import CriterionInput, ScoreCandidate
from pmo_portfolio.candidates.schemas import DecisionRequest, ScoresSubmit, ScoringModelReplace
from pmo_portfolio.shared.http import PROBLEMS, Analyst, Cursor, Limit, period_amounts
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.http import IfMatch, answer, answered, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.problems import Problem, invalid_field

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
    items, next_cursor = await queries.list_candidates(service_runtime(request).db, portfolio_id, status, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.put("/portfolios/{portfolio_id}/scoring-model", tags=["scoring"])
async def replace_scoring_model(
    portfolio_id: str,
    body: ScoringModelReplace,
    principal: Analyst,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Weighted criteria, or an AHP pairwise matrix (weights = principal eigenvector; CR must be below 0.1)."""
    criteria = tuple(CriterionInput(c.key, c.name, c.weight) for c in body.criteria)
    matrix = body.pairwise_matrix
    if matrix is None:
        missing = next((i for i, c in enumerate(criteria) if c.weight is None), None)
        if missing is not None:
            message = "give every criterion a weight, or give a pairwise_matrix"
            raise invalid_field(f"criteria.{missing}.weight", message)
        rule: funding.PortfolioRule = lambda state: scoring.set_weighted_model(state, criteria, principal.subject)  # noqa: E731
    else:
        judgements: list[list[object]] = [list(row) for row in matrix]
        rule = lambda state: scoring.set_pairwise_model(state, criteria, judgements, principal.subject)  # noqa: E731
    return await run_command(
        request, principal, lambda uow: answered(funding.change_portfolio(uow, portfolio_id, rule, if_match=if_match))
    )


@router.post("/portfolios/{portfolio_id}/candidates/{candidate_id}/scores", status_code=201, tags=["scoring"])
async def score_candidate(
    portfolio_id: str,
    candidate_id: str,
    body: ScoresSubmit,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A PMO analyst or a board member of THIS portfolio scores every criterion from 1 to 5."""
    command = ScoreCandidate(
        candidate_id=candidate_id,
        assessor=principal.subject,
        assessor_is_analyst=principal.has_any("pmo_analyst"),
        scores=body.scores,
        comment=body.comment,
        scored_at=datetime.now(UTC),
    )
    return await run_command(
        request, principal, lambda uow: answered(commands.score_candidate(uow, portfolio_id, command), status_code=201)
    )


@router.get("/portfolios/{portfolio_id}/ranking", tags=["scoring"])
async def ranking(portfolio_id: str, _principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    """Undecided candidates by weighted score, with strategic alignment, cost per period and value per cost."""
    async with service_runtime(request).db.sessions() as session:
        return await queries.ranking(session, portfolio_id)


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
        approved_budget=period_amounts(body.approved_budget),
        review_on=body.review_on.isoformat() if body.review_on else None,
    )

    async def action(uow: UnitOfWork) -> Response:
        decision, version = await commands.decide_investment(uow, portfolio_id, command)
        location = f"/portfolios/{portfolio_id}/decisions/{decision['id']}"
        return answer(decision, version, status_code=201, location=location)

    return await run_command(request, principal, action)


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
    items, next_cursor = await queries.list_decisions(
        service_runtime(request).db, portfolio_id, candidate_id, limit, cursor
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/portfolios/{portfolio_id}/decisions/{decision_id}", tags=["decisions"])
async def read_decision(portfolio_id: str, decision_id: str, _principal: CurrentPrincipal, request: Request) -> Any:
    found = await queries.get_decision(service_runtime(request).db, portfolio_id, decision_id)
    if found is None:
        raise Problem(404, "not-found", f"no decision {decision_id} in portfolio {portfolio_id}")
    return found
