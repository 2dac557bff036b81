"""The portfolio service's HTTP API: portfolios, candidates, board decisions, projects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from pmo_events.runtime import ConcurrencyConflict
from pmo_portfolio.adapters.http.schemas import DecisionRequest, PortfolioCreate
from pmo_portfolio.application import commands, queries
from pmo_portfolio.domain.errors import EnvelopeExceeded, NotBoardMember, NotFound, RuleViolation
from pmo_portfolio.domain.portfolio import CreatePortfolio, DecideInvestment
from pmo_servicekit.auth import CurrentPrincipal, Principal, require_roles
from pmo_servicekit.http import etag, metadata_for
from pmo_servicekit.problems import Problem
from pmo_servicekit.service import ServiceRuntime

router = APIRouter()
Analyst = Annotated[Principal, Depends(require_roles("pmo_analyst", "admin"))]
PROBLEMS: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 409: {}, 422: {}}


def _runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


@router.post("/portfolios", status_code=201, tags=["portfolios"], responses=PROBLEMS)
async def create_portfolio(
    body: PortfolioCreate, principal: Analyst, request: Request, response: Response
) -> dict[str, Any]:
    portfolio_id = str(uuid.uuid4())
    command = CreatePortfolio(
        portfolio_id=portfolio_id,
        name=body.name,
        currency=body.currency,
        owner=body.owner,
        budget=tuple(body.budget),
        board_members=tuple(body.board_members),
        created_by=principal.subject,
    )
    try:
        await commands.create_portfolio(_runtime(request).commands, command, metadata_for(request, principal))
        view, version = await queries.get_portfolio(_runtime(request).db, portfolio_id)
    except RuleViolation as exc:
        raise Problem(422, "validation-error", str(exc), errors=[{"field": "budget", "message": str(exc)}]) from exc
    response.headers["Location"] = f"/portfolios/{portfolio_id}"
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.get("/portfolios/{portfolio_id}", tags=["portfolios"], responses=PROBLEMS)
async def read_portfolio(
    portfolio_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    """Per fiscal period: envelope, committed (approved) and remaining."""
    try:
        view, version = await queries.get_portfolio(_runtime(request).db, portfolio_id)
    except NotFound as exc:
        raise _problem(exc) from exc
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.get("/portfolios/{portfolio_id}/candidates", tags=["candidates"], responses=PROBLEMS)
async def list_candidates(
    portfolio_id: str,
    _principal: CurrentPrincipal,
    request: Request,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    return {"items": await queries.list_candidates(_runtime(request).db, portfolio_id, status)}


@router.post("/portfolios/{portfolio_id}/decisions", status_code=201, tags=["decisions"], responses=PROBLEMS)
async def decide(
    portfolio_id: str, body: DecisionRequest, principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
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
    try:
        decision = await commands.decide_investment(
            _runtime(request).commands, portfolio_id, command, metadata_for(request, principal)
        )
    except (NotFound, NotBoardMember, RuleViolation, ConcurrencyConflict) as exc:
        raise _problem(exc) from exc
    response.headers["Location"] = f"/portfolios/{portfolio_id}/decisions/{decision.decision_id}"
    return {"id": decision.decision_id, **decision.model_dump(mode="json")}


@router.get("/projects/{project_id}", tags=["projects"], responses=PROBLEMS)
async def read_project(
    project_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    try:
        view, version = await queries.get_project(_runtime(request).db, project_id)
    except NotFound as exc:
        raise _problem(exc) from exc
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


def _problem(exc: Exception) -> Problem:
    if isinstance(exc, NotFound):
        return Problem(404, "not-found", f"no {exc}")
    if isinstance(exc, NotBoardMember):
        return Problem(403, "not-board-member", str(exc))
    if isinstance(exc, EnvelopeExceeded):
        return Problem(
            409,
            "envelope-exceeded",
            str(exc),
            fiscal_period=exc.fiscal_period,
            remaining=format(exc.remaining, "f"),
            asked=format(exc.asked, "f"),
        )
    if isinstance(exc, ConcurrencyConflict):
        return Problem(409, "concurrent-decision", "another decision on this portfolio landed first; try again")
    return Problem(409, "rule-violation", str(exc))
