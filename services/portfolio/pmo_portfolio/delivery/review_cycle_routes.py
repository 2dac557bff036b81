"""HTTP API of the portfolio review cycle: running projects re-scored with the current model and ranked with the
pipeline, run now by an analyst or by a scheduler when due; the cycles run; the interval between two."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from pmo_events.contracts.base import Event
from pmo_events.runtime import UnitOfWork
from pmo_portfolio import funding
from pmo_portfolio.delivery import review_cycles
from pmo_portfolio.delivery.domain import reprioritisation
from pmo_portfolio.delivery.responses import DueCyclesRun, ReviewCycleInterval, ReviewCyclePage, ReviewCycleView
from pmo_portfolio.delivery.schemas import ReviewCycleIntervalBody
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.shared.errors import NotFound
from pmo_portfolio.shared.http import PORTFOLIO_OWNER
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, slice_page
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.http import IfMatch, PathId, answer, answered, metadata_for, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(route_class=FlatRoute)
NOT_FOUND = {404: "no such portfolio (or no cycle yet)"}
NO_MODEL = {422: "`scoring_model`: the portfolio has no scoring model to re-score its projects with"}


@router.post(
    "/portfolios/review-cycles/run-due",
    tags=["scoring"],
    summary="Run every portfolio's review cycle that is due",
    response_model=DueCyclesRun,
    **allow("pmo_analyst", "admin"),
)
async def run_due_cycles(principal: CurrentPrincipal, request: Request) -> DueCyclesRun:
    """The review cycle's trigger, by hand (the scheduler runs the same sweep hourly: `python -m pmo_portfolio sweep
    review-cycles`): each portfolio with a scoring model whose last cycle is `every_days` old (or that never had
    one) runs one now, run by the caller (`run_by`; `scheduler` when scheduled); safe to run anywhere at once (each
    cycle is recorded once)."""
    meta = metadata_for(request, principal)
    counted = await review_cycles.run_due(service_runtime(request).commands, datetime.now(UTC), meta)
    return DueCyclesRun(**counted)


@router.post(
    "/portfolios/{portfolio_id}/review-cycles",
    status_code=201,
    tags=["scoring"],
    summary="Run a review cycle now (re-prioritise running projects with the pipeline)",
    response_model=ReviewCycleView,
    responses=answers(404, 422, status=201, etag=True, location=True, notes={**NOT_FOUND, **NO_MODEL}),
    **allow("pmo_analyst", "admin"),
)
async def run_review_cycle(
    portfolio_id: PathId, principal: CurrentPrincipal, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    """Re-scores each running project (approved, neither closed nor cancelled) from its recorded scores with the
    portfolio's CURRENT scoring model and ranks it with the submitted, undecided candidates; `below_pipeline`
    names the running projects that now rank below an unfunded candidate. Unscored lines are listed, not ranked.
    Recorded as `PortfolioReprioritised`; changes no project."""

    async def action(uow: UnitOfWork) -> Response:
        cycle, number = await review_cycles.run_cycle(uow, portfolio_id, principal.subject, datetime.now(UTC))
        location = f"/portfolios/{portfolio_id}/review-cycles/{number}"
        return answer(cycle, number, status_code=201, location=location)

    return await run_command(request, principal, action)


async def _cycles(request: Request, portfolio_id: str) -> tuple[Portfolio, list[dict[str, Any]]]:
    runtime = service_runtime(request)
    portfolio, _ = await funding.load_portfolio(runtime.db, portfolio_id)
    return portfolio, await review_cycles.cycles_of(runtime.db, runtime.store, portfolio_id)


@router.get(
    "/portfolios/{portfolio_id}/review-cycles",
    tags=["scoring"],
    summary="List the portfolio's review cycles",
    response_model=ReviewCyclePage,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def list_review_cycles(
    portfolio_id: PathId, _principal: CurrentPrincipal, request: Request, paging: Paging
) -> ReviewCyclePage:
    """Newest first, with the interval and when the next cycle is due (`POST /portfolios/review-cycles/run-due`
    runs it)."""
    portfolio, cycles = await _cycles(request, portfolio_id)
    page, next_cursor = slice_page(cycles, paging, key=lambda item: [item["id"]])
    last = datetime.fromisoformat(str(cycles[0]["run_at"])) if cycles else None
    due_at = last + timedelta(days=portfolio.cycle_every_days) if last else None
    return ReviewCyclePage.model_validate(
        {"items": page, "next_cursor": next_cursor, "portfolio_id": portfolio_id,
         "every_days": portfolio.cycle_every_days, "due_at": due_at}
    )  # fmt: skip


@router.get(
    "/portfolios/{portfolio_id}/review-cycles/latest",
    tags=["scoring"],
    summary="Read the portfolio's latest review cycle",
    response_model=ReviewCycleView,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def latest_review_cycle(portfolio_id: PathId, _principal: CurrentPrincipal, request: Request) -> ReviewCycleView:
    _, cycles = await _cycles(request, portfolio_id)
    if not cycles:
        raise NotFound(f"review cycle of portfolio {portfolio_id}")
    return ReviewCycleView.model_validate(cycles[0])


@router.get(
    "/portfolios/{portfolio_id}/review-cycles/{cycle}",
    tags=["scoring"],
    summary="Read one review cycle",
    response_model=ReviewCycleView,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_review_cycle(
    portfolio_id: PathId, cycle: int, _principal: CurrentPrincipal, request: Request
) -> ReviewCycleView:
    _, cycles = await _cycles(request, portfolio_id)
    found = next((c for c in cycles if c["cycle"] == cycle), None)
    if found is None:
        raise NotFound(f"review cycle {cycle} of portfolio {portfolio_id}")
    return ReviewCycleView.model_validate(found)


@router.put(
    "/portfolios/{portfolio_id}/review-cycle-interval",
    tags=["scoring"],
    summary="Replace the review cycle's interval",
    response_model=ReviewCycleInterval,
    responses=answers(
        403, 404, 412, etag=True, notes={404: "no such portfolio", 403: "`not-authorised`: not the owner"}
    ),
    **allow("viewer", "pmo_analyst", "admin", owner=PORTFOLIO_OWNER, exempt=["pmo_analyst", "admin"]),
)
async def replace_review_cycle_interval(
    portfolio_id: PathId, body: ReviewCycleIntervalBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """Days between two review cycles (quarterly, 91, at first): the portfolio's owner, a PMO analyst or an admin."""
    is_analyst = principal.has_any("pmo_analyst", "admin")

    def rule(state: Portfolio) -> Sequence[Event]:
        return reprioritisation.set_interval(state, body.every_days, principal.subject, is_analyst=is_analyst)

    async def action(uow: UnitOfWork) -> tuple[dict[str, object], int]:
        changed = await funding.apply_to_portfolio(uow, portfolio_id, rule, if_match=if_match)
        return {"portfolio_id": portfolio_id, "every_days": changed.state.cycle_every_days}, changed.version

    return await run_command(request, principal, lambda uow: answered(action(uow)))
