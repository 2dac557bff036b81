"""HTTP API of portfolios: creation, the budget envelope per fiscal period, the board."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from pmo_events.runtime import UnitOfWork
from pmo_portfolio.funding import commands, queries
from pmo_portfolio.funding.commands import PortfolioRule
from pmo_portfolio.funding.domain import board, envelope
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio
from pmo_portfolio.funding.schemas import BoardMemberAdd, BudgetReplace, PortfolioCreate
from pmo_portfolio.shared.http import PROBLEMS, Analyst, Cursor, Limit, service
from pmo_portfolio.shared.problems import DOMAIN_ERRORS, problem_for
from pmo_servicekit.auth import CurrentPrincipal, Principal
from pmo_servicekit.http import etag, metadata_for, parse_if_match
from pmo_servicekit.idempotency import IdempotencyKeyHeader, run_command

router = APIRouter(responses=PROBLEMS)
IfMatch = Annotated[str | None, Header(alias="If-Match")]


async def _portfolio_answer(request: Request, response: Response, portfolio_id: str) -> dict[str, Any]:
    view, version = await queries.get_portfolio(service(request).db, portfolio_id)
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


async def _change(
    request: Request,
    response: Response,
    principal: Principal,
    portfolio_id: str,
    rule: PortfolioRule,
    if_match: str | None = None,
) -> dict[str, Any]:
    try:
        await commands.change_portfolio(
            service(request).commands,
            portfolio_id,
            rule,
            metadata_for(request, principal),
            if_match=parse_if_match(if_match),
        )
        return await _portfolio_answer(request, response, portfolio_id)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


@router.post("/portfolios", status_code=201, tags=["portfolios"])
async def create_portfolio(
    body: PortfolioCreate, principal: Analyst, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
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

    async def action(uow: UnitOfWork) -> Response:
        state, version = await commands.create_portfolio(uow, command)
        headers = {"Location": f"/portfolios/{portfolio_id}", "ETag": etag(version)}
        return JSONResponse({**queries.portfolio_view(state), "version": version}, status_code=201, headers=headers)

    try:
        runtime = service(request).commands
        return await run_command(runtime, metadata_for(request, principal), request, principal, action)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


@router.get("/portfolios", tags=["portfolios"])
async def list_portfolios(
    _principal: CurrentPrincipal, request: Request, limit: Limit = 100, cursor: Cursor = None
) -> dict[str, Any]:
    items, next_cursor = await queries.list_portfolios(service(request).db, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/portfolios/{portfolio_id}", tags=["portfolios"])
async def read_portfolio(
    portfolio_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    """Per fiscal period: envelope, committed (approved) and remaining."""
    try:
        return await _portfolio_answer(request, response, portfolio_id)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


@router.put("/portfolios/{portfolio_id}/budget", tags=["portfolios"])
async def replace_budget(
    portfolio_id: str,
    body: BudgetReplace,
    principal: Analyst,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Replace the envelope per fiscal period; no period may drop below what is already committed."""
    budget = tuple(body.budget)
    return await _change(
        request,
        response,
        principal,
        portfolio_id,
        lambda state: envelope.set_budget(state, budget, principal.subject),
        if_match,
    )


@router.post("/portfolios/{portfolio_id}/board", tags=["board"])
async def add_board_member(
    portfolio_id: str, body: BoardMemberAdd, principal: Analyst, request: Request, response: Response
) -> dict[str, Any]:
    return await _change(
        request,
        response,
        principal,
        portfolio_id,
        lambda state: board.add_board_member(state, body.subject, principal.subject),
    )


@router.delete("/portfolios/{portfolio_id}/board/{subject}", tags=["board"])
async def remove_board_member(
    portfolio_id: str, subject: str, principal: Analyst, request: Request, response: Response
) -> dict[str, Any]:
    return await _change(
        request,
        response,
        principal,
        portfolio_id,
        lambda state: board.remove_board_member(state, subject, principal.subject),
    )
