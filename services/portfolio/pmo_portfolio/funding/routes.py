"""HTTP API of portfolios: creation, the budget envelope per fiscal period, the board."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from pmo_events.contracts.base import Event
from pmo_events.runtime import UnitOfWork
from pmo_portfolio.funding import commands, queries
from pmo_portfolio.funding.domain import board, envelope
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio, Portfolio
from pmo_portfolio.funding.schemas import BoardMemberAdd, BudgetReplace, PortfolioCreate
from pmo_portfolio.shared.http import PROBLEMS, Analyst, Cursor, Limit, period_amounts
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.http import IfMatch, answer, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader

router = APIRouter(responses=PROBLEMS)


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
        budget=period_amounts(body.budget),
        board_members=tuple(body.board_members),
        created_by=principal.subject,
    )

    async def action(uow: UnitOfWork) -> Response:
        created = await commands.create_portfolio(uow, command)
        view = {**queries.portfolio_view(created.state), "version": created.version}
        return answer(view, created.version, status_code=201, location=f"/portfolios/{portfolio_id}")

    return await run_command(request, principal, action)


@router.get("/portfolios", tags=["portfolios"])
async def list_portfolios(
    _principal: CurrentPrincipal, request: Request, limit: Limit = 100, cursor: Cursor = None
) -> dict[str, Any]:
    items, next_cursor = await queries.list_portfolios(service_runtime(request).db, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/portfolios/{portfolio_id}", tags=["portfolios"])
async def read_portfolio(
    portfolio_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    """Per fiscal period: envelope, committed (approved) and remaining."""
    view, version = await queries.get_portfolio(service_runtime(request).db, portfolio_id)
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.put("/portfolios/{portfolio_id}/budget", tags=["portfolios"])
async def replace_budget(
    portfolio_id: str,
    body: BudgetReplace,
    principal: Analyst,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Replace the envelope per fiscal period; no period may drop below what is already committed."""
    budget = period_amounts(body.budget)

    def rule(state: Portfolio) -> list[Event]:
        return envelope.set_budget(state, budget, principal.subject)

    return await run_command(
        request, principal, lambda uow: answered(commands.change_portfolio(uow, portfolio_id, rule, if_match=if_match))
    )


@router.post("/portfolios/{portfolio_id}/board", tags=["board"])
async def add_board_member(
    portfolio_id: str, body: BoardMemberAdd, principal: Analyst, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    def rule(state: Portfolio) -> list[Event]:
        return board.add_board_member(state, body.subject, principal.subject)

    return await run_command(
        request, principal, lambda uow: answered(commands.change_portfolio(uow, portfolio_id, rule))
    )


@router.delete("/portfolios/{portfolio_id}/board/{subject}", tags=["board"])
async def remove_board_member(
    portfolio_id: str, subject: str, principal: Analyst, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    def rule(state: Portfolio) -> list[Event]:
        return board.remove_board_member(state, subject, principal.subject)

    return await run_command(
        request, principal, lambda uow: answered(commands.change_portfolio(uow, portfolio_id, rule))
    )
