"""HTTP API of interdependencies: register one, list a portfolio's, read its graph."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pmo_events.contracts.portfolio import ProgrammeMilestone, graph_id_of
from pmo_events.runtime import UnitOfWork
from pmo_portfolio.dependencies import commands, queries
from pmo_portfolio.dependencies.domain import RegisterDependency
from pmo_portfolio.dependencies.responses import DependencyGraphView, DependencyPage, DependencyView
from pmo_portfolio.dependencies.schemas import DependencyCreate, DependencyWithdrawal
from pmo_portfolio.shared.http import ANALYST
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, keyset_page
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.http import PathId, answer, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(tags=["dependencies"], route_class=FlatRoute)


@router.post(
    "/portfolios/{portfolio_id}/dependencies",
    status_code=201,
    summary="Register a dependency on a project or a programme milestone",
    response_model=DependencyView,
    responses=answers(
        404,
        409,
        status=201,
        etag=True,
        location=True,
        notes={404: "no such portfolio", 409: "the dependency would close a cycle, or it is registered already"},
    ),
    **ANALYST,
)
async def create_dependency(
    portfolio_id: PathId,
    body: DependencyCreate,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The provider is a project (`provider_project_id`) or a programme milestone, the end of one of a
    programme's tranches (`provider_milestone`): exactly one of the two (422 naming the field otherwise). The
    projects and the programme are of this portfolio and the tranche is the programme's (422 naming the field
    otherwise); a cycle is refused (409; a milestone depends on every project of its tranche), and so is a
    second registration of what the dependent already needs from the same provider (409). When the provider's
    forecast end is already after the need date (or it is paused or cancelled, or the milestone's programme
    closed), the dependency is at risk from the start; from then on every forecast move of the provider flags
    or clears it (a milestone: its tranche planned again, met by a `continue` review)."""
    dependency_id = str(uuid.uuid4())
    command = RegisterDependency(
        dependency_id=dependency_id,
        dependent_project_id=body.dependent_project_id,
        provider_project_id=body.provider_project_id,
        provider_milestone=ProgrammeMilestone(**body.provider_milestone.model_dump())
        if body.provider_milestone
        else None,
        needed=body.needed,
        need_date=body.need_date,
        provider_contact=body.provider_contact,
        registered_by=principal.subject,
        registered_at=datetime.now(UTC),
    )

    async def action(uow: UnitOfWork) -> Response:
        await commands.register_dependency(uow, portfolio_id, command)
        graph = await uow.load(commands.GRAPH, graph_id_of(portfolio_id))
        view = DependencyView.model_validate(
            queries.dependency_view(portfolio_id, graph.state.dependencies[dependency_id])
        )
        location = f"/portfolios/{portfolio_id}/dependencies?project_id={body.dependent_project_id}"
        return answer(view.model_dump(mode="json"), graph.version, status_code=201, location=location)

    return await run_command(request, principal, action)


@router.post(
    "/portfolios/{portfolio_id}/dependencies/{dependency_id}/withdraw",
    summary="Withdraw a dependency that no longer holds",
    response_model=DependencyView,
    responses=answers(404, etag=True, notes={404: "no such dependency in this portfolio (or withdrawn already)"}),
    **ANALYST,
)
async def withdraw_dependency(
    portfolio_id: PathId,
    dependency_id: PathId,
    body: DependencyWithdrawal,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """With a reason: it leaves the lists and the graph (its at-risk flag, if any, cleared first), so the
    dependent is no longer flagged by it and the same need may be registered again."""

    async def action(uow: UnitOfWork) -> Response:
        withdrawn, version = await commands.withdraw_dependency(
            uow, portfolio_id, dependency_id, body.reason, principal.subject, datetime.now(UTC)
        )
        view = DependencyView.model_validate(queries.dependency_view(portfolio_id, withdrawn))
        return answer(view.model_dump(mode="json"), version)

    return await run_command(request, principal, action)


@router.get(
    "/portfolios/{portfolio_id}/dependencies",
    summary="List a portfolio's dependencies",
    response_model=DependencyPage,
    responses=answers(404, notes={404: "no such portfolio"}),
    **allow("viewer"),
)
async def list_dependencies(
    portfolio_id: PathId,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    project_id: Annotated[str | None, Query(max_length=64, description="either end")] = None,
    at_risk: bool | None = None,
) -> DependencyPage:
    """By id; `project_id` matches the dependent or the provider; `at_risk=true` lists what is flagged."""
    items = await queries.list_dependencies(
        service_runtime(request).db,
        portfolio_id,
        project_id=project_id,
        at_risk=at_risk,
        limit=paging.limit + 1,
        after=paging.after_id(),
    )
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return DependencyPage.model_validate({"items": page, "next_cursor": next_cursor})


@router.get(
    "/portfolios/{portfolio_id}/dependency-graph",
    summary="Read a portfolio's dependency graph",
    response_model=DependencyGraphView,
    responses=answers(404, notes={404: "no such portfolio"}),
    **allow("viewer"),
)
async def read_dependency_graph(
    portfolio_id: PathId, _principal: CurrentPrincipal, request: Request
) -> DependencyGraphView:
    """Nodes and edges with at-risk flags, for a front end to draw."""
    graph = await queries.dependency_graph(service_runtime(request).db, portfolio_id)
    return DependencyGraphView.model_validate(graph)
