"""HTTP API of scenario optimisation: what-ifs on the portfolio, stored only when asked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from pmo_events.runtime import UnitOfWork
from pmo_portfolio import funding
from pmo_portfolio.scenarios import commands, queries
from pmo_portfolio.scenarios.domain.question import CapacityLine, ScenarioRequest
from pmo_portfolio.scenarios.queries import ScenarioAsk
from pmo_portfolio.scenarios.responses import SavedScenarioPage, ScenarioResult
from pmo_portfolio.scenarios.schemas import ScenarioRun
from pmo_portfolio.shared.http import SAVING_SCENARIOS
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal, Principal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, slice_page
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.http import PathId, answer, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.problems import Problem, invalid_field
from pmo_servicekit.routing import FlatRoute

router = APIRouter(tags=["scenarios"], route_class=FlatRoute)


def _request(body: ScenarioRun) -> ScenarioRequest:
    return ScenarioRequest(
        value=body.value,
        budget={line.fiscal_period: line.amount for line in body.budget} if body.budget is not None else None,
        capacity=tuple(CapacityLine(c.role, c.fiscal_period, c.fte) for c in body.capacity),
        force_in=tuple(body.force_in),
        force_out=tuple(body.force_out),
        dependencies=tuple((d.candidate_id, d.needs) for d in body.dependencies),
        exclusions=tuple((e.candidate_ids[0], e.candidate_ids[1]) for e in body.exclusions),
        keep_approved=body.keep_approved,
    )


async def _check_may_save(request: Request, portfolio_id: str, principal: Principal) -> None:
    state, _ = await funding.load_portfolio(service_runtime(request).db, portfolio_id)
    if not principal.has_any("pmo_analyst") and principal.subject not in state.board_members:
        raise Problem(403, "forbidden", "only a PMO analyst or a board member of this portfolio saves scenarios")


@router.post(
    "/portfolios/{portfolio_id}/scenarios",
    summary="Optimise a scenario under the envelope",
    response_model=ScenarioResult,
    responses=answers(
        403, 404, 409, notes={409: "no selection satisfies the scenario", 403: "only a PMO analyst or board saves"}
    ),
    **allow("viewer", owner=SAVING_SCENARIOS, exempt=["pmo_analyst"]),
)
async def run_scenario(
    portfolio_id: PathId,
    body: ScenarioRun,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Any:
    """Choose the candidates with most value under every period's budget and, when given, role capacity."""
    if body.save and not body.name:
        raise invalid_field("name", "a saved scenario needs a name")
    if body.save:
        await _check_may_save(request, portfolio_id, principal)
    ask = ScenarioAsk(_request(body), with_frontier=body.frontier, save_as=body.name if body.save else None)
    runtime = service_runtime(request)
    answered, answer_found, version = await queries.run_scenario(runtime.db, runtime.commands.store, portfolio_id, ask)
    if not ask.save_as:
        return ScenarioResult.model_validate({**answered, "saved": None})

    async def save(uow: UnitOfWork) -> Response:
        saved, saved_at_version = await commands.save_scenario(uow, portfolio_id, ask, answer_found, version)
        result = ScenarioResult.model_validate({**answered, "saved": saved})
        return answer(result.model_dump(mode="json"), saved_at_version)

    return await run_command(request, principal, save)


@router.get(
    "/portfolios/{portfolio_id}/scenarios",
    summary="List the portfolio's saved scenarios",
    response_model=SavedScenarioPage,
    **allow("viewer"),
)
async def list_saved_scenarios(
    portfolio_id: PathId, _principal: CurrentPrincipal, request: Request, paging: Paging
) -> SavedScenarioPage:
    """Scenarios someone saved, oldest first."""
    saved = await queries.list_scenarios(service_runtime(request).db, portfolio_id)
    items, next_cursor = slice_page(saved, paging, key=lambda item: [item["id"]])
    return SavedScenarioPage.model_validate({"items": items, "next_cursor": next_cursor})
