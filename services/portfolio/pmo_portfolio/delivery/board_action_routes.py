"""HTTP API of reviews that act: the board actions negative reviews open, their resolution up the ladder, and
the review calendar's sweep that publishes what is overdue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request, Response

from pmo_events.runtime import UnitOfWork
from pmo_portfolio import funding
from pmo_portfolio.delivery import commands
from pmo_portfolio.delivery import queries as project_queries
from pmo_portfolio.delivery.domain import board_actions
from pmo_portfolio.delivery.domain.board_actions import ResolveAction
from pmo_portfolio.delivery.responses import BoardActionPage, OverdueSweep
from pmo_portfolio.delivery.routes import act_now, recorded_command, recording_route
from pmo_portfolio.delivery.schemas import ResolutionBody
from pmo_portfolio.governance.responses import MotionView
from pmo_portfolio.shared.http import PORTFOLIO_BOARD, Ownership
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, slice_page
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.http import PathId, answer, metadata_for, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(route_class=FlatRoute)
NOT_FOUND = {404: "no such project, board action or portfolio"}
RULES = {409: "the action is already resolved, or the project's state forbids the resolution (a pause needs it active)"}
FORBIDDEN = {
    403: "`not-board-member`, `not-authorised` (no delegated authority over this project), `conflict-of-interest` "
    "(you requested or sponsor the project)"
}
PORTFOLIO_DELEGATE = Ownership(
    "portfolio-delegate",
    "the charter's portfolio manager, while the project's budget is below the delegated threshold; never on a "
    "project they requested or sponsor",
)


@router.get(
    "/portfolios/{portfolio_id}/board-actions",
    tags=["board"],
    summary="List the board's actions on the portfolio's projects",
    response_model=BoardActionPage,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def list_board_actions(
    portfolio_id: PathId,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    status: Literal["open", "resolved"] | None = None,
    overdue: bool | None = None,
) -> BoardActionPage:
    """What negative reviews asked the board to decide, soonest due first: `status=open` is the board's agenda,
    `overdue=true` what is past its date. Projects overdue for a review: `GET /projects?review_overdue=true`."""
    db = service_runtime(request).db
    await funding.load_portfolio(db, portfolio_id)
    items = await project_queries.board_actions_of(db, portfolio_id, status=status, overdue=overdue)
    page, next_cursor = slice_page(items, paging, key=lambda item: [item["id"]])
    return BoardActionPage.model_validate({"items": page, "next_cursor": next_cursor})


@router.post(
    "/projects/{project_id}/board-actions/{action_id}/motions",
    status_code=201,
    tags=["board"],
    summary="Put the resolution of a board action to the board's vote",
    response_model=MotionView,
    responses=answers(403, 404, 409, status=201, etag=True, location=True, notes={**NOT_FOUND, **RULES, **FORBIDDEN}),
    **allow("board_member", owner=PORTFOLIO_BOARD),
)
async def move_resolution(
    project_id: PathId,
    action_id: PathId,
    body: ResolutionBody,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A member of the project's board moves continue, re-scope, pause or cancel and votes for it; the others vote
    (`POST /portfolios/{id}/motions/{mid}/votes`). The vote that carries it resolves the action and, for a pause
    or a cancellation, pauses or cancels the project in the same transaction (a cancellation releases the unspent
    budget; resourcing releases the project's bookings). The requester and sponsor may not vote."""
    command = ResolveAction(action_id=action_id, resolution=body.resolution, act=act_now(principal, body.rationale))

    async def action(uow: UnitOfWork) -> Response:
        motion, version = await commands.move_resolution(uow, project_id, command)
        location = f"/portfolios/{motion['portfolio_id']}/motions/{motion['id']}"
        view = MotionView.model_validate(motion).model_dump(mode="json")
        return answer(view, version, status_code=201, location=location)

    return await run_command(request, principal, action)


@router.post(
    "/projects/{project_id}/board-actions/{action_id}/resolution",
    **recording_route("Resolve a board action under delegated authority", 403),
    **allow("pmo_analyst", "board_member", owner=PORTFOLIO_DELEGATE),
)
async def resolve_delegated(
    project_id: PathId,
    action_id: PathId,
    body: ResolutionBody,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The charter's portfolio manager resolves alone while the project's budget is below the delegated threshold
    (`authority: delegated`); anyone else gets 403 and puts it to the board (`.../motions`)."""
    command = ResolveAction(action_id=action_id, resolution=body.resolution, act=act_now(principal, body.rationale))
    action = recorded_command(
        project_id, lambda portfolio, project: board_actions.resolve_delegated(portfolio, project, command)
    )
    return await run_command(request, principal, action)


@router.post(
    "/projects/notify-overdue",
    tags=["board"],
    summary="Publish overdue reviews and board actions",
    response_model=OverdueSweep,
    **allow("pmo_analyst", "admin"),
)
async def notify_overdue(principal: CurrentPrincipal, request: Request) -> OverdueSweep:
    """The review calendar's trigger, by hand (the scheduler runs the same sweep daily: `python -m pmo_portfolio
    sweep notify-overdue`): each live project past its review date, and each open action past its due date, is
    published once (`ReviewOverdue`, `BoardActionOverdue`) for whoever notifies people; safe to run anywhere at
    once; recorded as by the caller."""
    meta = metadata_for(request, principal)
    counted = await commands.notice_overdue(service_runtime(request).commands, datetime.now(UTC), meta)
    return OverdueSweep(**counted)
