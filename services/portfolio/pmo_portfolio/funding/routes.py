"""HTTP API of portfolios: creation and the budget envelope per fiscal period (the board: `governance.routes`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from pmo_events.contracts.base import Event
from pmo_events.runtime import UnitOfWork
from pmo_portfolio.funding import commands, queries
from pmo_portfolio.funding.commands import PortfolioRule
from pmo_portfolio.funding.domain import envelope
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio, Portfolio
from pmo_portfolio.funding.responses import PortfolioPage, PortfolioView
from pmo_portfolio.funding.schemas import BudgetReplace, PortfolioCreate
from pmo_portfolio.shared.http import ANALYST
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal, Principal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, keyset_page
from pmo_servicekit.contract.responses import answers, typed
from pmo_servicekit.http import IfMatch, PathId, answer, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(route_class=FlatRoute)
NOT_FOUND = {404: "no such portfolio"}
RULES = {409: "a rule forbids it (`type` names it: a period below what is committed, the last board member, ...)"}


@router.post(
    "/portfolios",
    status_code=201,
    tags=["portfolios"],
    summary="Create a portfolio with its envelope",
    response_model=PortfolioView,
    responses=answers(status=201, etag=True, location=True),
    **ANALYST,
)
async def create_portfolio(
    body: PortfolioCreate, principal: CurrentPrincipal, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    portfolio_id = str(uuid.uuid4())
    command = CreatePortfolio(
        portfolio_id=portfolio_id,
        name=body.name,
        currency=body.currency,
        owner=body.owner,
        budget=tuple(p.value() for p in body.budget),
        board_members=tuple(body.board_members),
        created_by=principal.subject,
    )

    async def action(uow: UnitOfWork) -> Response:
        created = await commands.create_portfolio(uow, command)
        view = PortfolioView.model_validate({**queries.portfolio_view(created.state), "version": created.version})
        location = f"/portfolios/{portfolio_id}"
        return answer(view.model_dump(mode="json"), created.version, status_code=201, location=location)

    return await run_command(request, principal, action)


@router.get(
    "/portfolios", tags=["portfolios"], summary="List the portfolios", response_model=PortfolioPage, **allow("viewer")
)
async def list_portfolios(_principal: CurrentPrincipal, request: Request, paging: Paging) -> PortfolioPage:
    """Portfolios in id order."""
    after = paging.after(1)
    items = await queries.list_portfolios(
        service_runtime(request).db, paging.limit + 1, str(after[0]) if after else None
    )
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return PortfolioPage.model_validate({"items": page, "next_cursor": next_cursor})


@router.get(
    "/portfolios/{portfolio_id}",
    tags=["portfolios"],
    summary="Read a portfolio and its envelope",
    response_model=PortfolioView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_portfolio(
    portfolio_id: PathId, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    """Per fiscal period: envelope, committed (approved) and remaining."""
    view, version = await queries.get_portfolio(service_runtime(request).db, portfolio_id)
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.put(
    "/portfolios/{portfolio_id}/budget",
    tags=["portfolios"],
    summary="Replace the budget envelope per period",
    response_model=PortfolioView,
    responses=answers(404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES}),
    **ANALYST,
)
async def replace_budget(
    portfolio_id: PathId,
    body: BudgetReplace,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Replace the envelope per fiscal period; no period may drop below what is already committed."""
    budget = tuple(p.value() for p in body.budget)

    def rule(state: Portfolio) -> list[Event]:
        return envelope.set_budget(state, budget, principal.subject)

    return await _changed(request, principal, portfolio_id, rule, if_match)


async def _changed(
    request: Request, principal: Principal, portfolio_id: str, rule: PortfolioRule, if_match: int | None = None
) -> Response:
    """Decide `rule` on the portfolio; answer the portfolio after it, with its ETag."""
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(PortfolioView, commands.change_portfolio(uow, portfolio_id, rule, if_match=if_match))
        ),
    )
